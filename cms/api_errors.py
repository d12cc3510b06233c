"""One JSON error shape for every API response: {"error": {code, message, details}}."""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    410: "gone",
    413: "payload_too_large",
    503: "service_unavailable",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


class BadRequest(exceptions.APIException):
    status_code = 400
    default_detail = "Bad request."
    default_code = "bad_request"


def error_body(*, code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    *, status_code: int, message: str, code: str | None = None, details=None
) -> JsonResponse:
    code = code or STATUS_CODES.get(status_code, "error")
    return JsonResponse(
        error_body(code=code, message=message, details=details), status=status_code
    )


# A backing service is down: the database, or Redis (broker and shared cache).
UNAVAILABLE_ERRORS = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)
# Seconds a client should wait before retrying after a 503 (database down).
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


class Gone(exceptions.APIException):
    status_code = 410
    default_detail = "This resource is gone for good."
    default_code = "gone"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "payload_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = (
        "A backing service (database or cache) is unavailable; retry shortly."
    )
    default_code = "service_unavailable"


def too_large_response() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(
        status_code=413,
        message=f"Request body too large: at most {limit} bytes.",
        details={"max_bytes": limit},
    )


def database_unavailable_response() -> JsonResponse:
    response = error_response(
        status_code=503, message=ServiceUnavailable.default_detail
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def _message_and_details(exc: exceptions.APIException) -> tuple[str, object]:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(detail, dict):
            return "Invalid input.", detail
        if isinstance(detail, list):
            return "Invalid input.", {"non_field_errors": detail}
    if isinstance(detail, (dict, list)):
        return str(exc.default_detail), detail
    return str(detail), {}


def api_exception_handler(exc, context):
    """DRF exception handler: wraps every handled error in the project's shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"Request body too large: at most "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    elif isinstance(exc, UNAVAILABLE_ERRORS):
        logger.error("Backing service unavailable: %s", exc)
        exc = ServiceUnavailable()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body(code="server_error", message="Internal server error."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    message, details = _message_and_details(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
    if not isinstance(code, str) or isinstance(exc, exceptions.ValidationError):
        code = STATUS_CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.Throttled):
        # DRF sets Retry-After only when the throttle knows the wait: every 429
        # says when to come back.
        wait = math.ceil(exc.wait) if exc.wait is not None else 1
        response["Retry-After"] = str(max(wait, 1))
        details = {"retry_after_seconds": max(wait, 1)}
    if isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    response.data = error_body(code=code, message=message, details=details)
    return response
