"""API-key authentication and the per-endpoint scope permission."""

import hashlib
import threading
import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from cms.models import ApiKey
from cms.reader_tokens import ReaderPrincipal

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Reads `Authorization: Api-Key <key>`; a bad or revoked key is a 401."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(
            "latin-1", errors="replace"
        )
        if not header:
            return None
        keyword, _, key = header.strip().partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("Empty API key.")
        return (AnonymousUser(), api_key_verify(key=key))

    def authenticate_header(self, request) -> str:
        return KEYWORD


class _VerifiedKeys:
    """Keys verified by this process recently: {sha256 of key: (ApiKey, when)}.

    Checking a key hashes it with a slow password hasher and queries the
    database; a feed request must not pay that every time. A key is checked again
    after API_KEY_CACHE_SECONDS, so a revocation (or a deletion, or a change of
    scopes) takes effect within that time in every process. Expiry is checked on
    every request against the cached expiry date. Failures are never cached.
    """

    max_entries = 4096

    def __init__(self) -> None:
        self.entries: dict[str, tuple[ApiKey, float]] = {}
        self.lock = threading.Lock()

    def get(self, digest: str) -> ApiKey | None:
        entry = self.entries.get(digest)
        if entry is None:
            return None
        api_key, checked_at = entry
        if time.monotonic() - checked_at >= settings.API_KEY_CACHE_SECONDS:
            return None
        return api_key

    def put(self, digest: str, api_key: ApiKey) -> None:
        with self.lock:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[digest] = (api_key, time.monotonic())

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_verified_keys = _VerifiedKeys()


def api_key_verify(*, key: str) -> ApiKey:
    """The live ApiKey for a presented key, or AuthenticationFailed saying why.

    Cached per process for API_KEY_CACHE_SECONDS (see _VerifiedKeys).
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    api_key = _verified_keys.get(digest)
    if api_key is None:
        try:
            api_key = ApiKey.objects.get_from_key(key)
        except ApiKey.DoesNotExist:
            prefix = key.partition(".")[0]
            if ApiKey.objects.filter(prefix=prefix, revoked=True).exists():
                raise exceptions.AuthenticationFailed(
                    "This API key has been revoked."
                ) from None
            raise exceptions.AuthenticationFailed("Unknown API key.") from None
        _verified_keys.put(digest, api_key)
    if api_key.has_expired:
        raise exceptions.AuthenticationFailed("This API key has expired.")
    return api_key


def api_key_from_header(request) -> ApiKey | None:
    """The request's `Api-Key` if it verifies, else None (never raises).

    For hot paths that answer the common case themselves and leave every other
    case (no key, a bad one, another scheme) to DRF's full authentication.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _, key = header.strip().partition(" ")
    key = key.strip()
    if keyword.lower() != KEYWORD.lower() or not key:
        return None
    try:
        return api_key_verify(key=key)
    except exceptions.AuthenticationFailed:
        return None


def api_key_cache_clear() -> None:
    """Forget every verified key (tests; a process that must re-check now)."""
    _verified_keys.clear()


class HasScope(permissions.BasePermission):
    """Grants access when the request's API key carries the view's `required_scope`.

    A view with `required_scope = None` is public. A view may instead define
    `get_required_scope()` when the answer depends on a setting. A reader token
    (cms.reader_tokens) passes only on views with `reader_access = True`, which
    then serve that one reader alone.
    """

    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        scope = required_scope_of(view)
        if scope is None:
            return True
        api_key = request.auth
        if isinstance(api_key, ReaderPrincipal):
            if getattr(view, "reader_access", False):
                return True
            self.message = (
                "A reader token cannot call this endpoint: it needs an API key "
                f"with scope '{scope}' (server side)."
            )
            return False
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated(
                f"An API key with scope '{scope}' is required: "
                f"send 'Authorization: {KEYWORD} <key>'."
            )
        if not api_key.has_scope(scope):
            self.message = f"This API key lacks the '{scope}' scope."
            return False
        return True


def required_scope_of(view) -> str | None:
    getter = getattr(view, "get_required_scope", None)
    if getter is not None:
        return getter()
    return getattr(view, "required_scope", None)


def content_read_scope() -> str | None:
    """Reading content needs a key only when the deployment says so."""
    return "content:read" if settings.CONTENT_API_REQUIRES_KEY else None


class ApiKeyThrottle(throttling.SimpleRateThrottle):
    """Rate limit per API key, per reader for reader tokens, else per address.

    A fixed window counted with one atomic increment: DRF's default keeps every
    request time of the window in one cache entry, read and written back whole
    on every request (thousands of floats at a few thousand requests a minute).
    """

    scope = "api_key"
    cache_format = "throttle_%(scope)s_%(ident)s"

    def get_cache_key(self, request, view):
        api_key = request.auth
        if isinstance(api_key, ApiKey):
            ident = api_key.pk
        elif isinstance(api_key, ReaderPrincipal):
            ident = "reader:" + hashlib.sha256(api_key.reader.encode()).hexdigest()
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        counter = f"{key}_{window}"
        # Increment first: every request of a window but its first is one
        # increment (an add that fails, then an increment, cost twice that).
        try:
            count = self.cache.incr(counter)
        except ValueError:  # the window's first request (or its counter expired)
            if self.cache.add(counter, 1, timeout=self.duration + 1):
                count = 1
            else:  # another process started the window meanwhile
                try:
                    count = self.cache.incr(counter)
                except ValueError:
                    self.cache.set(counter, 1, timeout=self.duration + 1)
                    count = 1
        return count <= self.num_requests

    def wait(self) -> float:
        return max(self.window_ends - self.now, 0.0)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cms.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_requirement(self, auto_schema):
        # A public endpoint (no scope needed) takes a key but does not need one.
        if required_scope_of(auto_schema.view) is None:
            return [{self.name: []}, {}]
        return super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization"}
