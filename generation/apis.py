"""Project REST endpoints of the generation app: submit briefs, follow jobs.

They answer ids and statuses only, never draft content: a draft is read in the
admin, and reaches the content API once an editor has approved it.
"""

import re

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.limits import MAX_ID, MAX_OFFSET, IdField
from cms.models import SectionPage, Topic
from cms.models.api_keys import SCOPE_GENERATION_WRITE
from cms.openapi import ErrorSerializer, error_responses
from cms.selectors import article_live_list
from generation.formats import Format
from generation.models import ANGLE_MAX_LENGTH, GenerationJob
from generation.selectors import job_get, job_list
from generation.services import brief_create, brief_submit
from recommend.audiences.audiences import audience_get_by_key

ERROR_RESPONSES = error_responses(scope=SCOPE_GENERATION_WRITE)
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,255}\Z")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 255},
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        ]
    }
)
class SectionRefField(serializers.Field):
    """A section by slug, or by page id as before: the slug, or the id as an int."""

    default_error_messages = {"invalid": "A section slug (or a section page id)."}

    def to_internal_value(self, data) -> int | str:
        if isinstance(data, int) and not isinstance(data, bool):
            if 1 <= data <= MAX_ID:
                return data
        elif isinstance(data, str) and _SLUG.match(data):
            if data.isdigit() and len(data) < 19:
                return int(data)
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


@extend_schema_serializer(component_name="GenerationJob")
class JobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    brief = serializers.IntegerField(source="brief_id")
    kind = serializers.ChoiceField(choices=GenerationJob.Kind.choices)
    status = serializers.ChoiceField(choices=GenerationJob.Status.choices)
    attempts = serializers.IntegerField()
    error = serializers.CharField(help_text="Why the last attempt failed, if it did.")
    page = serializers.IntegerField(
        source="page_id",
        allow_null=True,
        help_text="Id of the draft page (unpublished until an editor approves it).",
    )
    revision = serializers.IntegerField(source="revision_id", allow_null=True)
    provider = serializers.CharField()
    model = serializers.CharField()
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class BriefCreateApi(APIView):
    """Ask for an AI draft: the brief is stored and its job queued."""

    required_scope = SCOPE_GENERATION_WRITE

    @extend_schema_serializer(component_name="BriefSubmission")
    class InputSerializer(serializers.Serializer):
        topic = serializers.CharField(
            max_length=255, help_text="The subject, or the question to answer."
        )
        section = SectionRefField(
            help_text=(
                "Slug of the section the draft is created under (its page id is "
                "still accepted)."
            )
        )
        angle = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=ANGLE_MAX_LENGTH,
            help_text="The take or focus wanted.",
        )
        keywords = serializers.ListField(
            child=serializers.CharField(max_length=100),
            required=False,
            default=list,
            max_length=20,
        )
        tone = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text='The style wanted, e.g. "conversational" or "formal".',
        )
        format = serializers.ChoiceField(
            choices=Format.choices,
            required=False,
            default=Format.FEATURE,
            help_text="feature, explainer, qa, list, how_to or news_brief.",
        )
        target_words = serializers.IntegerField(
            required=False, default=600, min_value=100, max_value=5000
        )
        topics = serializers.ListField(
            child=serializers.SlugField(),
            required=False,
            default=list,
            max_length=10,
            help_text="Slugs of topics to draw sources from.",
        )
        source_pages = serializers.ListField(
            child=IdField(),
            required=False,
            default=list,
            max_length=10,
            help_text="Ids of live articles to ground the draft in first.",
        )
        audience = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text="Key of the audience the draft is for, if any.",
        )

        def validate_section(self, value: int | str) -> SectionPage:
            if isinstance(value, int):
                section = SectionPage.objects.filter(pk=value).first()
                if section is None:
                    raise serializers.ValidationError(f"No section with id {value}.")
                return section
            section = SectionPage.objects.filter(slug=value).order_by("pk").first()
            if section is None:
                raise serializers.ValidationError(f"No section {value!r}.")
            return section

        def validate_audience(self, value: str) -> str:
            value = value.strip()
            if value and audience_get_by_key(key=value) is None:
                raise serializers.ValidationError(f"No active audience {value!r}.")
            return value

        def validate_topics(self, value: list[str]) -> list[Topic]:
            topics = list(Topic.objects.filter(slug__in=value))
            unknown = sorted(set(value) - {topic.slug for topic in topics})
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown topics: {', '.join(unknown)}."
                )
            return topics

        def validate_source_pages(self, value: list[int]) -> list:
            pages = list(article_live_list().filter(pk__in=value))
            unknown = sorted(set(value) - {page.pk for page in pages})
            if unknown:
                raise serializers.ValidationError(
                    "Not live articles: " + ", ".join(str(pk) for pk in unknown) + "."
                )
            return pages

    @extend_schema_serializer(component_name="BriefAccepted")
    class OutputSerializer(serializers.Serializer):
        job = serializers.IntegerField()
        brief = serializers.IntegerField()
        status = serializers.ChoiceField(choices=GenerationJob.Status.choices)

    @extend_schema(
        summary="Submit a brief for an AI draft",
        description=(
            "Stores the brief and queues a generation job. Follow it at "
            "/api/v1/jobs/{job}; the draft lands unpublished in the editors' "
            '"AI review" workflow and never appears in this API.'
        ),
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid brief."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        brief = brief_create(
            topic=data["topic"],
            section=data["section"],
            angle=data["angle"],
            keywords=data["keywords"],
            tone=data["tone"],
            format=data["format"],
            target_words=data["target_words"],
            topics=data["topics"],
            source_pages=data["source_pages"],
            audience_key=data["audience"],
            origin=f"api:{request.auth.prefix}",
        )
        job = brief_submit(brief=brief)
        body = {"job": job.pk, "brief": brief.pk, "status": job.status}
        return Response(
            self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED
        )


class JobDetailApi(APIView):
    """Where one generation job stands."""

    required_scope = SCOPE_GENERATION_WRITE

    @extend_schema(
        summary="Get a generation job",
        responses={
            200: JobOutputSerializer,
            404: OpenApiResponse(ErrorSerializer, description="Unknown job."),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, job_id: int):
        try:
            job = job_get(job_id=job_id)
        except GenerationJob.DoesNotExist:
            raise NotFound(f"No job with id {job_id}.") from None
        return Response(JobOutputSerializer(job).data)


class JobListPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200

    def get_schema_operation_parameters(self, view):
        # Bounds as minimum/maximum (a larger limit is cut to max_limit; an offset
        # past cms.limits.MAX_OFFSET is a 400).
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            "limit": {"minimum": 1, "maximum": self.max_limit, "default": 50},
            "offset": {"minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


class JobListApi(generics.ListAPIView):
    """Generation jobs, newest first, filtered by status and/or brief."""

    required_scope = SCOPE_GENERATION_WRITE
    serializer_class = JobOutputSerializer
    pagination_class = JobListPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=GenerationJob.Status.choices, required=False
        )
        brief = IdField(required=False)

    @extend_schema(
        summary="List generation jobs",
        parameters=[
            OpenApiParameter(
                "status", str, enum=GenerationJob.Status.values, required=False
            ),
            OpenApiParameter(
                "brief",
                {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                required=False,
                description="A brief id.",
            ),
        ],
        responses={
            200: JobOutputSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="Bad filter."),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return job_list(
            status=filters.validated_data.get("status"),
            brief_id=filters.validated_data.get("brief"),
        )
