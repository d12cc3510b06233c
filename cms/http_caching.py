"""HTTP caching of API answers: strong ETags on public content, no-store on personal.

Public content (Wagtail API v2 pages, images and documents, similar items) gets
a strong `ETag` and `Cache-Control: public, max-age=API_CACHE_MAX_AGE`; a
request whose `If-None-Match` names it is answered 304 with no body. The ETag
hashes the body *and* the shared live-content stamp, so any publish, unpublish,
expiry or restriction changes every ETag at once, even of answers whose bytes
stayed the same (a CDN then revalidates everything after a change of
visibility). Anything else under /api/ that sets no policy of its own (feeds,
digests, reader data, keys, jobs, errors) is `private, no-store`.
"""

import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers

from cms.selectors import live_content_version

PERSONAL = "private, no-store"


def public_cache_control() -> str:
    return f"public, max-age={settings.API_CACHE_MAX_AGE}"


def response_etag(*, body: bytes) -> str:
    """A strong ETag: the body and the live-content stamp it was served under."""
    digest = hashlib.sha256(live_content_version().encode())
    digest.update(b"\n")
    digest.update(body)
    return f'"{digest.hexdigest()[:40]}"'


def public_response_cache(
    *, request: HttpRequest, response: HttpResponse
) -> HttpResponse:
    """Mark a successful public answer cacheable; a 304 when the client has it."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    response["ETag"] = response_etag(body=response.content)
    response["Cache-Control"] = public_cache_control()
    # With keys required, a shared cache keeps one copy per credential.
    patch_vary_headers(response, ["Authorization"])
    return (
        get_conditional_response(request, etag=response["ETag"], response=response)
        or response
    )


class PublicCacheMixin:
    """For DRF views of public content: ETag, Cache-Control and 304s."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        return public_response_cache(request=request, response=response)


class ApiCacheControlMiddleware:
    """`private, no-store` on every /api/ answer that chose no caching policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and "Cache-Control" not in response:
            response["Cache-Control"] = PERSONAL
        return response
