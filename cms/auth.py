"""API-key authentication and the per-endpoint scope permission."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from cms.models import ApiKey

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
        try:
            api_key = ApiKey.objects.get_from_key(key)
        except ApiKey.DoesNotExist:
            prefix = key.partition(".")[0]
            if ApiKey.objects.filter(prefix=prefix, revoked=True).exists():
                raise exceptions.AuthenticationFailed(
                    "This API key has been revoked."
                ) from None
            raise exceptions.AuthenticationFailed("Unknown API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        return (AnonymousUser(), api_key)

    def authenticate_header(self, request) -> str:
        return KEYWORD


class HasScope(permissions.BasePermission):
    """Grants access when the request's API key carries the view's `required_scope`.

    A view with `required_scope = None` is public. A view may instead define
    `get_required_scope()` when the answer depends on a setting.
    """

    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        scope = required_scope_of(view)
        if scope is None:
            return True
        api_key = request.auth
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
    """Rate limit per API key (per client address for keyless requests)."""

    scope = "api_key"
    cache_format = "throttle_%(scope)s_%(ident)s"

    def get_cache_key(self, request, view):
        api_key = request.auth
        ident = api_key.pk if isinstance(api_key, ApiKey) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cms.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization"}
