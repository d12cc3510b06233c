"""Project REST endpoints of the recommend app: event ingestion, reader erasure."""

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.api_errors import error_body
from cms.models.api_keys import SCOPE_EVENTS_WRITE, SCOPE_READERS_ERASE
from cms.openapi import ErrorDetailSerializer, ErrorSerializer, error_responses
from cms.reader_tokens import ReaderPrincipal, reader_of_request
from recommend.events.erasure import reader_erase
from recommend.events.ingestion import event_batch_ingest
from recommend.models import Event, Reader

ERROR_RESPONSES = error_responses(scope=SCOPE_EVENTS_WRITE)


@extend_schema_serializer(component_name="EventContext")
class EventContextSerializer(serializers.Serializer):
    feed_id = serializers.CharField(required=False, max_length=64)
    placement = serializers.CharField(required=False)


@extend_schema_serializer(component_name="EventInput")
class EventInputSerializer(serializers.Serializer):
    event_id = serializers.CharField(
        max_length=128, help_text="The client's id; a repeat is a duplicate."
    )
    reader = serializers.CharField(
        max_length=255,
        required=False,
        help_text="The front-end's own id for the reader. Required with an API "
        "key; with a reader token it may be omitted and must be the token's reader.",
    )
    page = serializers.IntegerField(help_text="Id of a live article.")
    type = serializers.ChoiceField(choices=Event.Type.choices)
    value = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=1e6,
        default=1.0,
        help_text="Dwell seconds for a read; ignored for other types.",
    )
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601 with a time zone; defaults to the time received.",
    )
    context = EventContextSerializer(
        required=False,
        help_text="Any JSON object; `feed_id` is copied to an indexed column.",
    )


@extend_schema_serializer(component_name="EventRejection")
class EventRejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the batch.")
    error = ErrorDetailSerializer()


def _events_of_token_reader(events: list, *, principal: ReaderPrincipal) -> list:
    """A reader token's batch, each event its reader's (filled in when omitted).

    One event for another reader refuses the whole batch (403): a browser that
    sends one is not the reader it claims to be.
    """
    own = []
    for event in events:
        if isinstance(event, dict):
            reader = event.get("reader")
            if reader is not None:
                reader_of_request(auth=principal, reader=str(reader))
            event = {**event, "reader": principal.reader}
        own.append(event)
    return own


class EventBatchCreateApi(APIView):
    """Take a batch of reader events; each is validated and stored on its own."""

    required_scope = SCOPE_EVENTS_WRITE
    reader_access = True

    @extend_schema_serializer(component_name="EventBatch")
    class InputSerializer(serializers.Serializer):
        events = EventInputSerializer(
            many=True,
            max_length=1000,
            help_text="At most RECOMMEND_EVENTS_MAX_BATCH (1,000) events.",
        )

    @extend_schema_serializer(component_name="EventBatchResult")
    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField(help_text="Events stored now.")
        duplicates = serializers.IntegerField(
            help_text="Events already stored (or repeated in the batch), not stored."
        )
        rejected = EventRejectionSerializer(many=True)

    @extend_schema(
        summary="Ingest a batch of reader events",
        examples=[
            OpenApiExample(
                "A read from a feed",
                request_only=True,
                value={
                    "events": [
                        {
                            "event_id": "3f0c2a9e-read-88",
                            "reader": "r-42",
                            "page": 88,
                            "type": "read",
                            "value": 95,
                            "occurred_at": "2026-12-03T09:30:00Z",
                            "context": {"feed_id": "9c1f0d2e", "placement": "home"},
                        }
                    ]
                },
            ),
            OpenApiExample(
                "One stored, one rejected",
                response_only=True,
                status_codes=["200"],
                value={
                    "accepted": 1,
                    "duplicates": 0,
                    "rejected": [
                        {
                            "index": 1,
                            "error": {
                                "code": "unknown_page",
                                "message": "Page 999 is not a live article.",
                                "details": {"field": "page", "page": 999},
                            },
                        }
                    ],
                },
            ),
        ],
        description=(
            "Stores each valid, new event; a bad event never fails the batch. The "
            "response is 200 whenever the batch itself was readable, and says how "
            "many events were accepted, how many were duplicates (safe to retry a "
            "batch), and which were rejected and why. Readers are created on their "
            "first event; an erased reader's events are rejected."
        ),
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Unreadable JSON, no `events` list, or too many events.",
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        body = request.data
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return Response(
                error_body(
                    code="invalid_body",
                    message='Send a JSON object: {"events": [...]}.',
                ),
                status=status.HTTP_400_BAD_REQUEST,
            )
        limit = settings.RECOMMEND_EVENTS_MAX_BATCH
        if len(events) > limit:
            return Response(
                error_body(
                    code="batch_too_large",
                    message=f"A batch holds at most {limit} events.",
                    details={"max_events": limit, "received": len(events)},
                ),
                status=status.HTTP_400_BAD_REQUEST,
            )
        if isinstance(request.auth, ReaderPrincipal):
            events = _events_of_token_reader(events, principal=request.auth)
        result = event_batch_ingest(events=events)
        return Response(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": [
                    {
                        "index": rejection.index,
                        "error": {
                            "code": rejection.code,
                            "message": rejection.message,
                            "details": rejection.details,
                        },
                    }
                    for rejection in result.rejected
                ],
            }
        )


class ReaderEraseApi(APIView):
    """Forget a reader: delete all their events and refuse any that come later."""

    required_scope = SCOPE_READERS_ERASE

    @extend_schema_serializer(component_name="ReaderErasure")
    class OutputSerializer(serializers.Serializer):
        reader = serializers.CharField()
        erased = serializers.BooleanField()
        events_deleted = serializers.IntegerField()

    @extend_schema(
        summary="Erase a reader and all their events",
        responses={
            200: OutputSerializer,
            404: OpenApiResponse(ErrorSerializer, description="Unknown reader."),
            **error_responses(scope=SCOPE_READERS_ERASE),
        },
    )
    def delete(self, request, external_id: str):
        try:
            deleted = reader_erase(external_id=external_id)
        except Reader.DoesNotExist:
            raise NotFound(f"No reader with id {external_id!r}.") from None
        return Response(
            {"reader": external_id, "erased": True, "events_deleted": deleted}
        )
