"""Project REST endpoints of the CMS app under /api/v1/."""

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.auth import content_read_scope
from cms.envelopes import list_envelope, list_envelope_serializer
from cms.limits import identifier_problem
from cms.models import ApiKey
from cms.models.api_keys import SCOPE_READERS_ISSUE
from cms.reader_tokens import MAX_READER_LENGTH, reader_token_issue
from cms.selectors import topic_list_with_counts

ORIGIN_PATTERN = r"^https?://[^/\s?#]+\Z"


class TopicListApi(APIView):
    """Topics with how many live articles each has, for front-end filters."""

    reader_access = True

    def get_required_scope(self) -> str | None:
        return content_read_scope()

    @extend_schema_serializer(component_name="TopicWithCount")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        article_count = serializers.IntegerField()

    @extend_schema(
        responses=list_envelope_serializer(
            name="TopicList", item=OutputSerializer(many=True)
        ),
        summary="List topics",
        operation_id="topics_list",
    )
    def get(self, request):
        results = self.OutputSerializer(topic_list_with_counts(), many=True).data
        return Response(list_envelope(results=results, count=len(results)))


class ApiKeyCurrentApi(APIView):
    """Which key this is and what it may do: handy when wiring up a client."""

    required_scope = None

    @extend_schema_serializer(component_name="ApiKeyDescription")
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        prefix = serializers.CharField()
        scopes = serializers.ListField(child=serializers.CharField())
        created = serializers.DateTimeField()
        expiry_date = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer, summary="Describe the calling API key")
    def get(self, request):
        if not isinstance(request.auth, ApiKey):
            raise NotAuthenticated("Send 'Authorization: Api-Key <key>'.")
        return Response(self.OutputSerializer(request.auth).data)


class ReaderTokenCreateApi(APIView):
    """Mint a short-lived token a browser uses to act for one reader only."""

    required_scope = SCOPE_READERS_ISSUE

    @extend_schema_serializer(component_name="ReaderTokenRequest")
    class InputSerializer(serializers.Serializer):
        reader = serializers.CharField(
            required=False,
            max_length=MAX_READER_LENGTH,
            help_text="Your own id for the reader; omitted: a new anonymous id.",
        )
        origin = serializers.RegexField(
            ORIGIN_PATTERN,
            required=False,
            max_length=255,
            help_text="Bind the token to this browser origin (scheme://host:port).",
        )
        ttl_seconds = serializers.IntegerField(
            required=False,
            min_value=60,
            max_value=86_400,
            help_text="Shorter lifetime than the server's default (at most it).",
        )

        def validate_reader(self, value: str) -> str:
            problem = identifier_problem(value)
            if problem:
                raise serializers.ValidationError(f"The reader id {problem}.")
            return value

    @extend_schema_serializer(component_name="ReaderToken")
    class OutputSerializer(serializers.Serializer):
        reader = serializers.CharField(help_text="The reader the token acts for.")
        token = serializers.CharField(help_text="Send `Authorization: Reader <token>`.")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        summary="Mint a reader token",
        description=(
            "Server side, with an API key that has `readers:issue`. The token lets a "
            "browser or app read that reader's feed and digest and send that "
            "reader's events, nothing else; it expires after `expires_at`."
        ),
        request=InputSerializer,
        responses={201: OutputSerializer},
        examples=[
            OpenApiExample(
                "Known reader",
                request_only=True,
                value={"reader": "reader-42", "origin": "https://www.example.com"},
            ),
            OpenApiExample(
                "Minted token",
                response_only=True,
                status_codes=["201"],
                value={
                    "reader": "reader-42",
                    "token": "eyJyIjoicmVhZGVyLTQyIiwiZSI6MTc2NDc1NjAwMH0:1v...",
                    "expires_at": "2026-12-03T10:00:00Z",
                },
            ),
        ],
    )
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        body = self.InputSerializer(data=data)
        body.is_valid(raise_exception=True)
        issued = reader_token_issue(
            reader=body.validated_data.get("reader"),
            origin=body.validated_data.get("origin"),
            ttl_seconds=body.validated_data.get("ttl_seconds"),
        )
        return Response(self.OutputSerializer(issued).data, status=201)
