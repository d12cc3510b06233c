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
