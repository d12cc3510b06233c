"""OpenAPI schema hooks and shared schema pieces for the project's API."""

from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers


def only_api_paths(endpoints):
    """Keep /api/v1/ endpoints; Wagtail's admin and v2 views are not DRF-typed."""
    return [
        (path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if path.startswith("/api/v1/")
    ]


@extend_schema_serializer(component_name="ErrorDetail")
class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    """The one error shape of every API response: {"error": {...}}."""

    error = ErrorDetailSerializer()


def error_responses(*, scope: str) -> dict[int, OpenApiResponse]:
    """The key and throttle errors an endpoint needing `scope` can answer."""
    return {
        401: OpenApiResponse(ErrorSerializer, description="No or bad API key."),
        403: OpenApiResponse(ErrorSerializer, description=f"Key lacks {scope}."),
        429: OpenApiResponse(ErrorSerializer, description="Too many requests."),
    }


# Answers any operation can give, whatever its own view says: bad input and limits
# (cms.limits), keys and scopes (cms.auth), unknown ids, throttling, and a
# database that is down. Documented once here so that no endpoint forgets one.
SHARED_ERROR_RESPONSES = {
    "400": "Invalid input: a bad field, query parameter or path (NUL, control "
    "characters, ids beyond 64 bits, offset past the cap), or JSON too deep.",
    "401": "No API key or reader token, or an unknown, revoked, expired or "
    "tampered one.",
    "403": "The API key lacks the scope this endpoint needs, or a reader token "
    "asked for another reader or for a server-only endpoint.",
    "404": "No such object, or no such endpoint.",
    "429": "Too many requests; the Retry-After header says when to retry.",
    "503": "The database is unavailable; the Retry-After header says when to retry.",
}
BODY_ERROR_RESPONSES = {"413": "The request body is larger than the limit."}


def shared_error_responses(result, generator, request, public):
    """Postprocessing hook: add SHARED_ERROR_RESPONSES to every operation."""
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            shared = dict(SHARED_ERROR_RESPONSES)
            if method in ("post", "put", "patch"):
                shared.update(BODY_ERROR_RESPONSES)
            responses = operation["responses"]
            for status_code, description in shared.items():
                responses.setdefault(status_code, {"description": description})
            for status_code, response in responses.items():
                # An error an operation documents without a body gets the shape.
                if status_code[0] in "45" and not response.get("content"):
                    response["content"] = {"application/json": {"schema": error_ref}}
                    if not response.get("description"):
                        response["description"] = shared.get(status_code, "Error.")
    return result


def servers_from_request(result, generator, request, public):
    """Postprocessing hook: `servers` is the host and port the schema was asked on."""
    if request is not None:
        base = request.build_absolute_uri("/").rstrip("/")
        result["servers"] = [{"url": base, "description": "This server"}]
    return result


# OpenAPI links: how one operation's answer feeds the next (clients and stateful
# testers follow them). {operationId: {status: {link name: link}}}.
LINKS = {
    "reader_tokens_create": {
        "201": {
            "ReaderFeed": {
                "operationId": "feed_retrieve",
                "parameters": {"reader": "$response.body#/reader"},
                "description": "The feed of the reader the token was minted for.",
            },
            "ReaderDigest": {
                "operationId": "readers_digest_retrieve",
                "parameters": {"external_id": "$response.body#/reader"},
            },
        }
    },
    "feed_retrieve": {
        "200": {
            "SimilarToFirstItem": {
                "operationId": "pages_similar_list",
                "parameters": {"page_id": "$response.body#/results/0/id"},
            },
            "FirstItemContent": {
                "operationId": "v2_pages_retrieve",
                "parameters": {"id": "$response.body#/results/0/id"},
                "description": "Send events for items with POST /api/v1/events, "
                "with context.feed_id set to this answer's feed_id.",
            },
        }
    },
    "briefs_create": {
        "202": {
            "Job": {
                "operationId": "jobs_retrieve",
                "parameters": {"job_id": "$response.body#/job"},
                "description": "Follow the generation job the brief started.",
            }
        }
    },
    "v2_pages_list": {
        "200": {
            "FirstPage": {
                "operationId": "v2_pages_retrieve",
                "parameters": {"id": "$response.body#/items/0/id"},
            }
        }
    },
}


def operation_links(result, generator, request, public):
    """Postprocessing hook: add LINKS to the operations' responses."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status_code, links in LINKS.get(
                operation.get("operationId"), {}
            ).items():
                response = operation["responses"].get(status_code)
                if response is not None:
                    response.setdefault("links", {}).update(links)
    return result
