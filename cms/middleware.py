"""Make sure nothing under /api/ answers with an HTML error page or a traceback."""

import logging

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware import common

from cms.api_errors import error_response

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Interactive documentation is HTML on purpose.
HTML_PATHS = ("/api/docs/",)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX) and not request.path.startswith(
        HTML_PATHS
    )


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_api(request) or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return response
        # Django's own 404/405/400 pages, CSRF failures, request-size errors, ...
        message = {
            400: "Bad request.",
            404: "No API endpoint here.",
            405: f"Method {request.method} not allowed.",
            413: "Request body too large.",
        }.get(response.status_code, "Request failed.")
        return error_response(status_code=response.status_code, message=message)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not _is_api(request):
            return None
        if isinstance(exception, Http404):
            return error_response(status_code=404, message="No API endpoint here.")
        if isinstance(exception, PermissionDenied):
            return error_response(status_code=403, message="Permission denied.")
        if isinstance(exception, SuspiciousOperation):
            return error_response(status_code=400, message="Bad request.")
        logger.exception("Unhandled error on %s", request.path, exc_info=exception)
        return error_response(status_code=500, message="Internal server error.")


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware without slash-appending redirects under /api/v1/.

    Project endpoints have no trailing slash; redirecting an unknown one would turn
    a clear JSON 404 into a 301 (and a POST into a server error under DEBUG).
    """

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if request.path_info.startswith("/api/v1/"):
            return False
        return super().should_redirect_with_slash(request)
