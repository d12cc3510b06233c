"""REST endpoints closing the loop: audiences, article performance, digests."""

from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import renderers, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.envelopes import list_envelope, list_envelope_serializer
from cms.models.api_keys import SCOPE_FEED_READ
from cms.openapi import ErrorSerializer
from cms.reader_tokens import reader_of_request
from cms.selectors import article_live_list
from recommend.api.cards import CardFieldsSerializer, media_base, renditions_absolute
from recommend.api.feeds import reader_erased_error
from recommend.audiences.audiences import audience_list
from recommend.audiences.digests import reader_digest
from recommend.audiences.performance import page_performance
from recommend.serving.feeds import ReaderErased

ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorSerializer, description="No or bad API key."),
    403: OpenApiResponse(ErrorSerializer, description="Key lacks feed:read."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests."),
}


@extend_schema_serializer(component_name="AudienceTopic")
class AudienceTopicSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    share = serializers.FloatField(
        help_text="Share of the members' engagement that goes to this topic."
    )


class AudienceListApi(APIView):
    """The active audiences: computed segments and editor-defined rules."""

    required_scope = SCOPE_FEED_READ

    @extend_schema_serializer(component_name="Audience")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        key = serializers.SlugField(
            help_text="Stable across retrainings; briefs and provenance use it."
        )
        name = serializers.CharField(help_text="Editable by editors.")
        kind = serializers.ChoiceField(choices=["cluster", "rule"])
        size = serializers.IntegerField(help_text="Readers in the audience.")
        top_topics = AudienceTopicSerializer(many=True)

    @extend_schema(
        summary="Audiences",
        operation_id="audiences_list",
        responses={
            200: list_envelope_serializer(
                name="AudienceList", item=OutputSerializer(many=True)
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request):
        results = self.OutputSerializer(audience_list(), many=True).data
        return Response(list_envelope(results=results, count=len(results)))


@extend_schema_serializer(component_name="AudienceRef")
class AudienceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="AudiencePerformance")
class AudiencePerformanceSerializer(serializers.Serializer):
    audience = AudienceRefSerializer()
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    reads = serializers.IntegerField()
    likes = serializers.IntegerField()
    ctr = serializers.FloatField(allow_null=True)


@extend_schema_serializer(component_name="PerformanceComparison")
class ComparisonSerializer(serializers.Serializer):
    topics = serializers.ListField(child=serializers.CharField())
    human_articles = serializers.IntegerField(source="articles")
    impressions = serializers.IntegerField(source="figures.impressions")
    clicks = serializers.IntegerField(source="figures.clicks")
    reads = serializers.IntegerField(source="figures.reads")
    likes = serializers.IntegerField(source="figures.likes")
    ctr = serializers.FloatField(source="figures.ctr", allow_null=True)
    reads_per_article = serializers.FloatField(allow_null=True)


@extend_schema_serializer(component_name="PerformancePage")
class PerformancePageSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    ai_generated = serializers.BooleanField()
    audience = serializers.CharField(
        source="ai_provenance.audience",
        allow_null=True,
        default=None,
        help_text="Key of the audience an AI draft was written for.",
    )


class PagePerformanceRetrieveApi(APIView):
    """How a live article did: impressions, clicks, reads, likes, per audience."""

    required_scope = SCOPE_FEED_READ

    @extend_schema_serializer(component_name="PagePerformance")
    class OutputSerializer(serializers.Serializer):
        page = PerformancePageSerializer()
        since = serializers.DateTimeField()
        impressions = serializers.IntegerField(
            source="figures.impressions",
            help_text="Served feed pages that listed the article.",
        )
        clicks = serializers.IntegerField(
            source="figures.clicks",
            help_text="Views carrying the feed_id of an impression listing it.",
        )
        reads = serializers.IntegerField(source="figures.reads")
        likes = serializers.IntegerField(source="figures.likes")
        ctr = serializers.FloatField(
            source="figures.ctr", allow_null=True, help_text="clicks / impressions"
        )
        audiences = AudiencePerformanceSerializer(many=True)
        comparison = ComparisonSerializer(
            allow_null=True,
            help_text=(
                "AI articles only: human-written live articles sharing a topic, "
                "over the same window."
            ),
        )

    @extend_schema(
        summary="Article performance",
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": 365, "default": 30},
                description="Window in days.",
            )
        ],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad window."),
            404: OpenApiResponse(ErrorSerializer, description="No live article."),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, page_id: int):
        days = _bounded_int(request, "days", default=30, low=1, high=365)
        page = article_live_list().filter(pk=page_id).first()
        if page is None:
            raise NotFound(f"No live article with id {page_id}.")
        return Response(
            self.OutputSerializer(page_performance(page=page, days=days)).data
        )


def _bounded_int(request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if not low <= value <= high:
        raise ValidationError({name: [f"Must be between {low} and {high}."]})
    return value


class DigestHtmlRenderer(renderers.BaseRenderer):
    """The digest as a self-contained HTML newsletter (no external resources)."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        request = (renderer_context or {}).get("request")
        return render_to_string(
            "recommend/digest.html",
            {
                "digest": data,
                "base_url": request.build_absolute_uri("/").rstrip("/")
                if request is not None
                else "",
            },
        )


@extend_schema_serializer(component_name="DigestTopic")
class DigestTopicSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    slug = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="DigestItem")
class DigestItemSerializer(CardFieldsSerializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    standfirst = serializers.CharField()
    url = serializers.CharField()
    reason = serializers.CharField()


@extend_schema_serializer(component_name="DigestSection")
class DigestSectionSerializer(serializers.Serializer):
    topic = DigestTopicSerializer()
    items = DigestItemSerializer(many=True)


DIGEST_N = OpenApiParameter(
    "n",
    {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
    description="Articles.",
)
ERASED = OpenApiResponse(ErrorSerializer, description="Reader erased.")


class ReaderDigestRetrieveApi(APIView):
    """A newsletter-style digest of a reader's recommendations, JSON or HTML."""

    required_scope = SCOPE_FEED_READ
    reader_access = True
    renderer_classes = [renderers.JSONRenderer, DigestHtmlRenderer]

    @extend_schema_serializer(component_name="Digest")
    class OutputSerializer(serializers.Serializer):
        reader = serializers.CharField()
        feed_id = serializers.CharField(
            help_text="Send it back as context.feed_id with events from the digest."
        )
        strategy = serializers.ChoiceField(choices=["personal", "trending"])
        audience = AudienceRefSerializer(allow_null=True)
        intro = serializers.CharField(
            allow_null=True, help_text="The audience's editor-approved introduction."
        )
        sections = DigestSectionSerializer(many=True)

    @extend_schema(
        summary="Personalised digest",
        description=(
            "Live articles only, as JSON (the same digest as an HTML newsletter: "
            "`GET /api/v1/readers/{external_id}/digest.html`)."
        ),
        parameters=[DIGEST_N, OpenApiParameter("format", exclude=True)],
        responses={
            (200, "application/json"): OutputSerializer,
            (410, "application/json"): ERASED,
            **{
                (code, "application/json"): response
                for code, response in ERROR_RESPONSES.items()
            },
        },
    )
    def get(self, request, external_id: str):
        reader_of_request(auth=request.auth, reader=external_id)
        n = _bounded_int(request, "n", default=10, low=1, high=50)
        try:
            digest = reader_digest(external_id=external_id, n=n)
        except ReaderErased:
            raise reader_erased_error(external_id) from None
        body = self.OutputSerializer(digest).data
        base = media_base(request)
        for section in body["sections"]:
            for item in section["items"]:
                item["hero_image_renditions"] = renditions_absolute(
                    item["hero_image_renditions"], base
                )
        return Response(body)

    def handle_exception(self, exc):
        # Errors keep the project's JSON shape, whatever rendering was asked for.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response


class ReaderDigestHtmlRetrieveApi(ReaderDigestRetrieveApi):
    """The digest as a self-contained HTML newsletter, at its own path.

    Its own operation in the schema (text/html only), so that a generated client
    never parses HTML as JSON. The JSON path still answers `?format=html` and
    `Accept: text/html` for the clients that used them.
    """

    renderer_classes = [DigestHtmlRenderer]

    def perform_content_negotiation(self, request, force=False):
        return (DigestHtmlRenderer(), DigestHtmlRenderer.media_type)

    @extend_schema(
        summary="Personalised digest as HTML",
        description="The digest as an HTML newsletter. Errors are JSON.",
        parameters=[DIGEST_N],
        responses={
            (200, "text/html"): OpenApiTypes.STR,
            (410, "application/json"): ERASED,
            **{
                (code, "application/json"): response
                for code, response in ERROR_RESPONSES.items()
            },
        },
    )
    def get(self, request, external_id: str):
        return super().get(request, external_id)
