"""One JSON error shape for every API response: {"error": {code, message, details}}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
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
    413: "payload_too_large",
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
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after_seconds": exc.wait}
    response.data = error_body(code=code, message=message, details=details)
    return response
