"""Make sure nothing under /api/ answers with an HTML error page or a traceback."""

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware import common
from django.urls import Resolver404, resolve
from wagtail.views import serve as wagtail_serve

from cms.api_errors import (
    UNAVAILABLE_ERRORS,
    database_unavailable_response,
    error_response,
    too_large_response,
)
from cms.limits import MAX_OFFSET, id_problem, max_body_bytes, text_problem
from cms.queries import LONG_DIGITS, PLAIN_QUERY, query_value

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Interactive documentation is HTML on purpose.
HTML_PATHS = ("/api/docs/", "/api/redoc/")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX) and not request.path.startswith(
        HTML_PATHS
    )


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request):
            refused = _request_refusal(request)
            if refused is not None:
                return refused
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
        if isinstance(exception, RequestDataTooBig):
            return too_large_response()
        if isinstance(exception, UNAVAILABLE_ERRORS):
            logger.error("Service unavailable on %s: %s", request.path, exception)
            return database_unavailable_response()
        if isinstance(exception, SuspiciousOperation):
            return error_response(status_code=400, message="Bad request.")
        logger.exception("Unhandled error on %s", request.path, exc_info=exception)
        return error_response(status_code=500, message="Internal server error.")


def _query_to_check(request: HttpRequest):
    query = request.META.get("QUERY_STRING", "")
    if PLAIN_QUERY.match(query) and not LONG_DIGITS.search(query):
        return ()
    return request.GET.lists()


def _request_refusal(request: HttpRequest) -> HttpResponse | None:
    """A JSON 4xx for a request past the shared limits, before any view runs."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(status_code=400, message="Bad Content-Length header.")
    if length > max_body_bytes():
        return too_large_response()
    problem = text_problem(request.path, controls=True)
    if problem:
        return error_response(
            status_code=400,
            code="invalid_path",
            message=f"The path {problem}.",
        )
    for name, values in _query_to_check(request):
        for value in (name, *values):
            problem = text_problem(value) or id_problem(value)
            if problem:
                message = f"Query parameter {name[:40]!r} {problem}."
                return error_response(
                    status_code=400,
                    code="invalid_query",
                    message=message,
                    details={name[:40]: [message]},
                )
    offset = query_value(request, "offset", "")
    if offset.isdigit() and int(offset) > MAX_OFFSET:
        message = f"'offset' is at most {MAX_OFFSET}: narrow the query instead."
        return error_response(
            status_code=400,
            code="invalid_query",
            message=message,
            details={"offset": [message]},
        )
    return None


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware, slash-appending under /api/ only to a real endpoint.

    Wagtail's page serving matches any path with a slash, so Django would redirect
    every unknown /api/... path (a 301 HTML answer, and a POST turned into a server
    error under DEBUG); only an API view reached by adding the slash is worth one.
    """

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if not request.path_info.startswith(API_PREFIX):
            return super().should_redirect_with_slash(request)
        if request.path_info.endswith("/") or request.method not in ("GET", "HEAD"):
            return False
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            return False
        return match.func is not wagtail_serve and super().should_redirect_with_slash(
            request
        )
