"""REST endpoints that serve recommendations: the feed and similar items."""

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

from cms.models.api_keys import SCOPE_FEED_READ
from recommend.feeds import FeedFilterError, feed_for_reader, similar_items

MAX_FEED_ITEMS = 100


@extend_schema_serializer(component_name="FeedTopic")
class TopicOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="FeedItem")
class FeedItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Page id (Wagtail API v2).")
    title = serializers.CharField()
    url = serializers.CharField(help_text="Path of the article on the site.")
    topics = TopicOutputSerializer(many=True)
    score = serializers.FloatField()
    reason = serializers.CharField(help_text="Why this item is here, for readers.")


class FeedRetrieveApi(APIView):
    """A reader's personalised feed of live articles."""

    required_scope = SCOPE_FEED_READ

    @extend_schema_serializer(component_name="FeedQuery")
    class InputSerializer(serializers.Serializer):
        reader = serializers.CharField(max_length=255)
        n = serializers.IntegerField(min_value=1, max_value=MAX_FEED_ITEMS, default=20)
        offset = serializers.IntegerField(min_value=0, max_value=1000, default=0)
        section = serializers.SlugField(required=False)
        topic = serializers.SlugField(required=False)
        locale = serializers.CharField(required=False, max_length=16)

    @extend_schema_serializer(component_name="Feed")
    class OutputSerializer(serializers.Serializer):
        feed_id = serializers.CharField(
            help_text="Send it back as context.feed_id with events from this feed."
        )
        reader = serializers.CharField()
        model_version = serializers.IntegerField(allow_null=True)
        strategy = serializers.ChoiceField(choices=["personal", "trending"])
        items = FeedItemOutputSerializer(many=True)

    @extend_schema(
        summary="Personalised feed",
        parameters=[InputSerializer],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="Bad query"),
        },
    )
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            feed = feed_for_reader(
                external_id=query.validated_data["reader"],
                n=query.validated_data["n"],
                offset=query.validated_data["offset"],
                section=query.validated_data.get("section"),
                topic=query.validated_data.get("topic"),
                locale=query.validated_data.get("locale"),
            )
        except FeedFilterError as exc:
            raise ValidationError({"filter": [str(exc)]}) from exc
        # Plain dicts in the documented shape: the hot path skips DRF's
        # per-field serialisation (the OutputSerializer documents it).
        return Response(
            {
                "feed_id": feed.feed_id,
                "reader": feed.reader,
                "model_version": feed.model_version,
                "strategy": feed.strategy,
                "items": [
                    {
                        "id": item.id,
                        "title": item.title,
                        "url": item.url,
                        "topics": item.topics,
                        "score": item.score,
                        "reason": item.reason,
                    }
                    for item in feed.items
                ],
            }
        )


class PageSimilarListApi(APIView):
    """Live articles most like a given live article."""

    required_scope = SCOPE_FEED_READ

    @extend_schema_serializer(component_name="SimilarItem")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = serializers.CharField()
        url = serializers.CharField()
        topics = TopicOutputSerializer(many=True)
        score = serializers.FloatField()

    @extend_schema(
        summary="Similar articles",
        parameters=[
            OpenApiParameter("n", int, description="How many (1-50, default 10).")
        ],
        responses={200: OutputSerializer(many=True), 404: OpenApiResponse()},
    )
    def get(self, request, page_id: int):
        try:
            n = int(request.query_params.get("n", 10))
        except ValueError:
            raise ValidationError({"n": ["A whole number is required."]}) from None
        if not 1 <= n <= 50:
            raise ValidationError({"n": ["Must be between 1 and 50."]})
        items = similar_items(page_id=page_id, n=n)
        if items is None:
            raise NotFound(f"No live article with id {page_id}.")
        return Response(self.OutputSerializer(items, many=True).data)
