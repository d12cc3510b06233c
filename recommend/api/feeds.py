"""REST endpoints that serve recommendations: the feed and similar items."""

import functools
import re
from types import SimpleNamespace

import orjson
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.api_errors import Gone
from cms.auth import api_key_from_header
from cms.envelopes import list_envelope, list_envelope_serializer, page_links
from cms.http_caching import PERSONAL, PublicCacheMixin
from cms.models.api_keys import SCOPE_FEED_READ
from cms.openapi import ErrorSerializer
from cms.queries import query_params
from cms.reader_tokens import reader_of_request
from recommend.api.cards import (
    CardFieldsSerializer,
    fields_clean,
    fields_parameter,
    fields_parse,
    fields_want_cards,
    item_body,
    media_base,
)
from recommend.api.fast_path import DECLINED as FAST_PATH_DECLINED
from recommend.serving.cards import CARD_FIELDS, ITEM_FIELDS, item_cards
from recommend.serving.feeds import (
    FeedFilterError,
    ReaderErased,
    feed_for_reader,
    similar_items,
)

MAX_FEED_ITEMS = 100
MAX_OFFSET = 1000
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")
FEED_FIELDS = ITEM_FIELDS + CARD_FIELDS
SIMILAR_FIELDS = tuple(name for name in FEED_FIELDS if name != "reason")


def _whole(value: str | None, *, default: int, low: int, high: int) -> int | None:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if low <= number <= high else None


def _feed_query_plain(params) -> dict | None:
    """The feed query when it is plainly valid, else None (DRF then explains).

    Accepts exactly what InputSerializer accepts in its common form; anything
    unusual (spaces to trim, "5.0", a bad value) goes to the serializer.
    """
    reader = params.get("reader")
    if not reader or len(reader) > 255 or reader != reader.strip():
        return None
    n = _whole(params.get("n"), default=20, low=1, high=MAX_FEED_ITEMS)
    offset = _whole(params.get("offset"), default=0, low=0, high=MAX_OFFSET)
    if n is None or offset is None:
        return None
    query = {"external_id": reader, "n": n, "offset": offset}
    for name in ("section", "topic"):
        value = params.get(name)
        if value is not None and not _SLUG.match(value):
            return None
        query[name] = value
    locale = params.get("locale")
    if locale is not None and (
        not locale or len(locale) > 16 or locale != locale.strip()
    ):
        return None
    query["locale"] = locale
    fields = fields_parse(params.get("fields"), allowed=FEED_FIELDS)
    if fields is None:
        return None
    query["fields"] = fields
    return query


def _item_values(item) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "topics": item.topics,
        "score": item.score,
        "reason": getattr(item, "reason", None),
    }


def _feed_body(
    feed,
    request,
    *,
    fields: tuple,
    offset: int,
    n: int,
    results: list | orjson.Fragment | None = None,
) -> dict:
    base = media_base(request)
    next_url, previous_url = page_links(
        request, offset=offset, size=n, count=feed.total, max_offset=MAX_OFFSET
    )
    if results is None:
        results = [
            item_body(_item_values(item), item.card, fields=fields, base=base)
            for item in feed.items
        ]
    return {
        "feed_id": feed.feed_id,
        "reader": feed.reader,
        "model_version": feed.model_version,
        "strategy": feed.strategy,
        **list_envelope(
            count=feed.total,
            next_url=next_url,
            previous_url=previous_url,
            results=results,
        ),
    }


# An item's JSON is its fixed fields (id, title, url, topics, then its card's),
# written once per catalogue, media base and `fields`, around the two fields a
# feed decides per request (score and reason).
_STATIC_HEAD = ("id", "title", "url", "topics")
# At most this many (fields, media base) kinds kept, each holding at most one
# entry per live item: memory bounded by a few times the catalogue's cards.
_ITEM_JSON_KINDS = 4


def _item_parts(
    catalogue, row: int, item_id: int, card: dict | None, *, fields: tuple, base: str
) -> tuple[bytes, bytes]:
    values = {
        "id": item_id,
        "title": catalogue.titles[row],
        "url": catalogue.urls[row],
        "topics": catalogue.item_topic_dicts(row),
        "score": None,
        "reason": None,
    }
    body = item_body(values, card, fields=fields, base=base)
    head = {name: body[name] for name in _STATIC_HEAD if name in body}
    tail = {name: value for name, value in body.items() if name in CARD_FIELDS}
    return (
        orjson.dumps(head)[:-1],  # '{"id":1,...' (id always comes)
        b"," + orjson.dumps(tail)[1:] if tail else b"}",
    )


def _results_json(feed, *, fields: tuple, base: str) -> orjson.Fragment:
    """The page's items as one JSON array: what _feed_body's dicts would give."""
    page = feed.page
    catalogue = page.catalogue
    # One dict per media base and fields, keyed by row (hashing a tuple of
    # fields per item cost more than the lookup).
    memo = catalogue.item_json.get((fields, base))
    if memo is None:
        if len(catalogue.item_json) >= _ITEM_JSON_KINDS:
            catalogue.item_json.clear()  # rare (fields or hosts vary): start again
        memo = catalogue.item_json[(fields, base)] = {}
    parts = [memo.get(row) for row in page.rows]
    missing = [index for index, found in enumerate(parts) if found is None]
    if missing:
        rows = [page.rows[index] for index in missing]
        # Cards are read only for items written here for the first time.
        cards = item_cards(catalogue, rows) if fields_want_cards(fields) else None
        for number, index in enumerate(missing):
            parts[index] = memo[page.rows[index]] = _item_parts(
                catalogue,
                page.rows[index],
                page.item_ids[index],
                cards[number] if cards is not None else None,
                fields=fields,
                base=base,
            )
    score_field = "score" in fields
    reason_field = "reason" in fields
    items = []
    for (head, tail), score, reason in zip(
        parts, page.scores, page.reasons, strict=True
    ):
        if score_field:
            head += b',"score":' + orjson.dumps(score)
        if reason_field:
            head += b',"reason":' + orjson.dumps(reason)
        items.append(head + tail)
    return orjson.Fragment(b"[" + b",".join(items) + b"]")


def reader_erased_error(external_id: str) -> Gone:
    return Gone(
        f"Reader {external_id[:80]!r} has been erased: nothing is served or "
        "recorded for this id. Use a new id.",
        code="reader_erased",
    )


@extend_schema_serializer(component_name="FeedTopic")
class TopicOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="FeedItem")
class FeedItemOutputSerializer(CardFieldsSerializer):
    """Every field but `id` can be left out with `fields=`."""

    id = serializers.IntegerField(help_text="Page id (Wagtail API v2).")
    title = serializers.CharField(required=False)
    url = serializers.CharField(
        required=False, help_text="Path of the article on the site."
    )
    topics = TopicOutputSerializer(many=True, required=False)
    score = serializers.FloatField(required=False)
    reason = serializers.CharField(
        required=False, help_text="Why this item is here, for readers."
    )


class FeedRetrieveApi(APIView):
    """A reader's personalised feed of live articles."""

    required_scope = SCOPE_FEED_READ
    reader_access = True

    @extend_schema_serializer(component_name="FeedQuery")
    class InputSerializer(serializers.Serializer):
        reader = serializers.CharField(
            max_length=255,
            required=False,
            help_text="Required with an API key; with a reader token, omit it "
            "(or give the token's own reader).",
        )
        n = serializers.IntegerField(min_value=1, max_value=MAX_FEED_ITEMS, default=20)
        offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
        section = serializers.SlugField(required=False)
        topic = serializers.SlugField(required=False)
        locale = serializers.CharField(required=False, max_length=16)
        fields = serializers.CharField(required=False, max_length=500)

    @extend_schema_serializer(component_name="Feed")
    class OutputSerializer(serializers.Serializer):
        feed_id = serializers.CharField(
            help_text="Send it back as context.feed_id with events from this feed."
        )
        reader = serializers.CharField()
        model_version = serializers.IntegerField(allow_null=True)
        strategy = serializers.ChoiceField(choices=["personal", "trending"])
        count = serializers.IntegerField(
            help_text="Live articles this feed can still show the reader."
        )
        next = serializers.URLField(allow_null=True, help_text="The next page.")
        previous = serializers.URLField(allow_null=True, help_text="The previous page.")
        results = FeedItemOutputSerializer(many=True)

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)

        def view(request, *args, **kwargs):
            # FeedFastPathMiddleware tried already when it is installed.
            if not getattr(request, FAST_PATH_DECLINED, False):
                response = cls(**initkwargs)._plain_response(request)
                if response is not None:
                    return response
            return drf_view(request, *args, **kwargs)

        # The same attributes as DRF's view (cls for the schema, csrf_exempt).
        return functools.update_wrapper(view, drf_view)

    def _plain_response(self, request) -> HttpResponse | None:
        """The common request answered without DRF's request machinery.

        A feed is the most frequent request of all, and DRF's wrapping
        (negotiation, serializers, exception handling) cost more than the feed.
        Same checks in the same order (API key, scope, throttle, query) and the
        same body; anything else returns None and goes through DRF, which gives
        every error its documented answer.
        """
        if request.method != "GET":
            return None
        api_key = api_key_from_header(request)
        if api_key is None or not api_key.has_scope(self.required_scope):
            return None
        throttled = SimpleNamespace(auth=api_key, META=request.META)
        if not all(t.allow_request(throttled, self) for t in self.get_throttles()):
            return None
        query = _feed_query_plain(query_params(request))
        if query is None:
            return None
        fields = query.pop("fields")
        try:
            feed = feed_for_reader(**query, cards=fields_want_cards(fields))
        except (FeedFilterError, ReaderErased):
            return None  # DRF's path answers with the documented error
        body = _feed_body(
            feed,
            request,
            fields=fields,
            offset=query["offset"],
            n=query["n"],
            results=_results_json(feed, fields=fields, base=media_base(request)),
        )
        content = orjson.dumps(body)  # compact UTF-8 like DRF's renderer
        response = HttpResponse(content, content_type="application/json")
        # As CommonMiddleware would (the fast path runs before it): without a
        # length the server sends the body chunked, a copy and a write more.
        response["Content-Length"] = str(len(content))
        response["X-Feed-Source"] = feed.source
        response["Cache-Control"] = PERSONAL
        return response

    @extend_schema(
        summary="Personalised feed",
        parameters=[InputSerializer, fields_parameter(FEED_FIELDS)],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad query"),
            410: OpenApiResponse(ErrorSerializer, description="Reader erased."),
        },
    )
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reader = reader_of_request(
            auth=request.auth, reader=query.validated_data.get("reader")
        )
        if reader is None:
            raise ValidationError({"reader": ["This field is required."]})
        fields = fields_clean(query.validated_data.get("fields"), allowed=FEED_FIELDS)
        try:
            feed = feed_for_reader(
                external_id=reader,
                n=query.validated_data["n"],
                offset=query.validated_data["offset"],
                section=query.validated_data.get("section"),
                topic=query.validated_data.get("topic"),
                locale=query.validated_data.get("locale"),
                cards=fields_want_cards(fields),
            )
        except FeedFilterError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        except ReaderErased:
            raise reader_erased_error(reader) from None
        # Plain dicts in the documented shape: the hot path skips DRF's
        # per-field serialisation (the OutputSerializer documents it).
        response = Response(
            _feed_body(
                feed,
                request,
                fields=fields,
                offset=query.validated_data["offset"],
                n=query.validated_data["n"],
            )
        )
        # "list" (cached candidate list), "computed" (no list yet: computed and
        # stored) or "full" (the filters needed every live item).
        response["X-Feed-Source"] = feed.source
        return response


class PageSimilarListApi(PublicCacheMixin, APIView):
    """Live articles most like a given live article."""

    required_scope = SCOPE_FEED_READ
    reader_access = True

    @extend_schema_serializer(component_name="SimilarItem")
    class OutputSerializer(CardFieldsSerializer):
        """Every field but `id` can be left out with `fields=`."""

        id = serializers.IntegerField()
        title = serializers.CharField(required=False)
        url = serializers.CharField(required=False)
        topics = TopicOutputSerializer(many=True, required=False)
        score = serializers.FloatField(required=False)

    @extend_schema(
        summary="Similar articles",
        # The id it had as a bare list: links and generated clients name it.
        operation_id="pages_similar_list",
        parameters=[
            OpenApiParameter(
                "n",
                {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                description="How many.",
            ),
            fields_parameter(SIMILAR_FIELDS),
        ],
        responses={
            200: list_envelope_serializer(
                name="SimilarItemList", item=OutputSerializer(many=True)
            ),
            400: OpenApiResponse(ErrorSerializer, description="Bad n or fields."),
            404: OpenApiResponse(ErrorSerializer, description="No live article."),
        },
    )
    def get(self, request, page_id: int):
        try:
            n = int(request.query_params.get("n", 10))
        except ValueError:
            raise ValidationError({"n": ["A whole number is required."]}) from None
        if not 1 <= n <= 50:
            raise ValidationError({"n": ["Must be between 1 and 50."]})
        fields = fields_clean(
            request.query_params.get("fields"), allowed=SIMILAR_FIELDS
        )
        items = similar_items(page_id=page_id, n=n, cards=fields_want_cards(fields))
        if items is None:
            raise NotFound(f"No live article with id {page_id}.")
        base = media_base(request)
        # Plain dicts in the documented shape (the OutputSerializer documents it).
        results = [
            item_body(_item_values(item), item.card, fields=fields, base=base)
            for item in items
        ]
        return Response(list_envelope(results=results, count=len(results)))
