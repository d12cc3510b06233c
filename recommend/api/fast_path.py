"""The feed's fast path, answered ahead of the middleware stack.

A feed is the request front-ends make most. For an API-key GET, sessions,
messages, CSRF, locale, redirects and URL resolution do nothing, yet together
they cost about as much as the feed itself. This middleware comes first in
MIDDLEWARE: it answers a plain `GET /api/v1/feed` with FeedRetrieveApi's fast
path and gives the response what the skipped middleware would have given it
(the host check, the shared request limits, the security and frame headers).
Everything else, including any feed request the fast path declines (a bad key,
a bad query, an error), goes down the normal stack, which answers as documented.

Deployed (gunicorn on cms.wsgi), FeedFastPathApplication asks the same fast path
one step earlier, before Django's handler; the middleware then only serves
servers that call Django directly (the test client, runserver).
"""

import logging

from corsheaders.middleware import CorsMiddleware
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.cache import patch_vary_headers

from cms.middleware import _request_refusal

logger = logging.getLogger(__name__)

FEED_PATH = "/api/v1/feed"
DECLINED = "_feed_fast_path_declined"


def _unused(request: HttpRequest) -> HttpResponse:  # pragma: no cover
    raise AssertionError("only process_request/process_response are called")


class FeedFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.security = SecurityMiddleware(_unused)
        self.frame_options = XFrameOptionsMiddleware(_unused)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get(DECLINED):
            setattr(request, DECLINED, True)  # FeedFastPathApplication tried
        elif request.method == "GET" and request.path_info == FEED_PATH:
            response = self._fast_response(request)
            if response is not None:
                return response
            setattr(request, DECLINED, True)
        return self.get_response(request)

    def _fast_response(self, request: HttpRequest) -> HttpResponse | None:
        try:
            request.get_host()
        except DisallowedHost:
            return None
        if self.security.process_request(request) is not None:
            return None  # an HTTPS redirect: the stack answers it
        if _request_refusal(request) is not None:
            return None
        from recommend.api.feeds import FeedRetrieveApi

        try:
            response = FeedRetrieveApi()._plain_response(request)
        except Exception:  # noqa: BLE001
            # The full stack runs it again and turns the error into its JSON answer.
            logger.debug("feed fast path declined after an error", exc_info=True)
            return None
        if response is None:
            return None
        response = self.security.process_response(request, response)
        return self.frame_options.process_response(request, response)


class FeedFastPathApplication:
    """The WSGI application, answering plain feed requests before Django's handler.

    Django's handler costs a feed what it costs any request: the request signals
    (their receivers check every database connection and cache twice) and the
    middleware chain. A fast-path feed touches the database rarely (a key seen
    for the first time in a while, a reader without a list), so this skips them:
    it builds the request, asks the fast path, adds the CORS headers (the one
    middleware ahead of it) and flushes impressions when due, as the finished
    request's receiver would. A declined request goes to Django's handler,
    marked so that the fast path does not run twice; a database connection a
    fast answer left unusable is closed there, before any query.
    """

    def __init__(self, application) -> None:
        self.application = application
        self.fast_path = FeedFastPathMiddleware(_unused)
        self.cors = CorsMiddleware(_unused)

    def __call__(self, environ, start_response):
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and environ.get("PATH_INFO") == FEED_PATH
        ):
            request = WSGIRequest(environ)
            response = self.fast_path._fast_response(request)
            if response is not None:
                from recommend.serving.impressions import impressions_flush_if_due

                if request.META.get("HTTP_ORIGIN"):
                    self.cors.add_response_headers(request, response)
                elif self.cors.is_enabled(request):
                    # All add_response_headers does without an Origin header
                    # (it would first build request.headers from every header).
                    patch_vary_headers(response, ("origin",))
                start_response(
                    f"{response.status_code} {response.reason_phrase}",
                    list(response.items()),
                )
                impressions_flush_if_due()
                return [response.content]
            environ[DECLINED] = True
        return self.application(environ, start_response)
