"""Public endpoints of AI media: podcast feeds and a reader's audio briefing."""

from django.core.files.storage import default_storage
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.openapi import ErrorSerializer
from cms.reader_tokens import reader_of_request
from generation.media.api import media_absolute_url
from generation.media.briefing import reader_briefing
from generation.media.ffmpeg import MediaToolError
from generation.media.podcasts import (
    PodcastNotFound,
    podcast_for_audience,
    podcast_for_section,
    podcast_rss,
)
from generation.providers.base import ProviderError
from generation.providers.speech import speech_provider_get
from recommend.api.audiences import ReaderDigestRetrieveApi

RSS = "application/rss+xml; charset=utf-8"


class _PodcastFeedApi(APIView):
    """Public like the pages they link to: podcast apps send no keys."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def rss(self, request, find, **lookup):
        try:
            podcast = find(**lookup)
        except PodcastNotFound as missing:
            raise NotFound(str(missing)) from None
        body = podcast_rss(
            podcast=podcast,
            feed_url=request.build_absolute_uri(request.path),
            request=request,
        )
        return HttpResponse(body, content_type=RSS)


class SectionPodcastApi(_PodcastFeedApi):
    @extend_schema(
        summary="Podcast of a section",
        description="RSS 2.0 with iTunes tags: the section's approved narrations.",
        responses={
            (200, "application/rss+xml"): OpenApiTypes.STR,
            (404, "application/json"): ErrorSerializer,
        },
    )
    def get(self, request, slug: str):
        return self.rss(request, podcast_for_section, slug=slug)


class AudiencePodcastApi(_PodcastFeedApi):
    @extend_schema(
        summary="Podcast of an audience",
        description=(
            "RSS 2.0 with iTunes tags: approved narrations of articles written for "
            "the audience or on its top topics."
        ),
        responses={
            (200, "application/rss+xml"): OpenApiTypes.STR,
            (404, "application/json"): ErrorSerializer,
        },
    )
    def get(self, request, key: str):
        return self.rss(request, podcast_for_audience, key=key)


class BriefingItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    section = serializers.CharField()
    narration = serializers.IntegerField(
        allow_null=True, help_text="The approved narration heard, if any."
    )


class ReaderBriefingRetrieveApi(APIView):
    """A reader's audio briefing: their digest as a short programme."""

    # The digest's credentials and rules, whatever they become.
    required_scope = ReaderDigestRetrieveApi.required_scope
    authentication_classes = ReaderDigestRetrieveApi.authentication_classes
    permission_classes = ReaderDigestRetrieveApi.permission_classes
    throttle_classes = ReaderDigestRetrieveApi.throttle_classes
    reader_access = ReaderDigestRetrieveApi.reader_access

    class OutputSerializer(serializers.Serializer):
        reader = serializers.CharField()
        feed_id = serializers.CharField()
        url = serializers.CharField(help_text="The audio file (absolute URL).")
        mime_type = serializers.CharField()
        duration = serializers.FloatField()
        cached = serializers.BooleanField()
        items = BriefingItemSerializer(many=True)

    @extend_schema(
        summary="Personalised audio briefing",
        description=(
            "The reader's digest read aloud: per section a template-built intro, "
            "then each article's approved narration (first chapter) or its title "
            "and standfirst. Approved content only; cached per digest."
        ),
        parameters=[
            OpenApiParameter(
                "n",
                {"type": "integer", "minimum": 1, "maximum": 10, "default": 6},
                description="Articles.",
            )
        ],
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def get(self, request, external_id: str):
        reader_of_request(auth=request.auth, reader=external_id)
        raw = request.query_params.get("n", "6")
        if not raw.isdigit() or not 1 <= int(raw) <= 10:
            raise ValidationError({"n": ["A whole number from 1 to 10 is required."]})
        try:
            briefing = reader_briefing(
                external_id=external_id,
                provider=speech_provider_get(),
                n=int(raw),
            )
        except (MediaToolError, ProviderError) as error:
            return Response(
                {
                    "error": {
                        "code": "briefing_unavailable",
                        "message": str(error),
                        "details": {},
                    }
                },
                status=503,
            )
        briefing.url = media_absolute_url(
            default_storage.url(briefing.file_name), request=request
        )
        return Response(self.OutputSerializer(briefing).data)
