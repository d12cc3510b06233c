"""Absolute URLs from the request being served: its scheme, host and port.

Wagtail's API builds `detail_url` from WAGTAILAPI_BASE_URL. Unless the deployment
fixes a public URL (the WAGTAILAPI_BASE_URL variable), that setting is a lazy
string reading the base of the request in progress, so that v2 answers with the
host and port it was asked on (behind a proxy: X-Forwarded-Host and -Proto when
USE_X_FORWARDED_HOST and SECURE_PROXY_SSL_HEADER say so), like /api/v1/ does.
Imported by the settings: nothing here may import models.
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.functional import lazy

_request_base = contextvars.ContextVar("request_base_url", default=None)


# What the scheme and host of a request are worked out from (request.scheme and
# request.get_host() read these headers and settings, nothing else).
_BASE_META = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
)
_BASES: dict[tuple, str] = {}
_BASES_MAX = 256


def request_base_url(request) -> str:
    """`scheme://host[:port]` of a request, as the client addressed it (worked
    out once per request: a feed's links and media URLs all start with it).

    Also kept across requests, per host headers and the settings that decide
    the answer: a remembered base was validated (build_absolute_uri raises
    DisallowedHost) under the same ALLOWED_HOSTS."""
    base = request.__dict__.get("_request_base_url")
    if base is None:
        from django.conf import settings

        meta = request.META
        proxy_header = settings.SECURE_PROXY_SSL_HEADER
        key = (
            *(meta.get(name) for name in _BASE_META),
            settings.USE_X_FORWARDED_HOST,
            settings.USE_X_FORWARDED_PORT,
            proxy_header,
            meta.get(proxy_header[0]) if proxy_header else None,
            tuple(settings.ALLOWED_HOSTS),
            settings.DEBUG,
        )
        base = _BASES.get(key)
        if base is None:
            base = request.build_absolute_uri("/").rstrip("/")
            if len(_BASES) >= _BASES_MAX:
                _BASES.clear()
            _BASES[key] = base
        request._request_base_url = base
    return base


@contextmanager
def request_base_url_bound(request) -> Iterator[None]:
    """Within the block, the lazy API base URL is this request's."""
    token = _request_base.set(request_base_url(request))
    try:
        yield
    finally:
        _request_base.reset(token)


def _api_base_url(fallback: str) -> str:
    return _request_base.get() or fallback


def api_base_url_lazy(fallback: str):
    """A str-like setting: the current request's base URL, else `fallback`."""
    return lazy(_api_base_url, str)(fallback)
