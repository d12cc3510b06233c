"""API keys with named scopes, stored hashed by djangorestframework-api-key."""

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

SCOPE_CONTENT_READ = "content:read"
SCOPE_EVENTS_WRITE = "events:write"
SCOPE_FEED_READ = "feed:read"
SCOPE_GENERATION_WRITE = "generation:write"

SCOPES = [
    SCOPE_CONTENT_READ,
    SCOPE_EVENTS_WRITE,
    SCOPE_FEED_READ,
    SCOPE_GENERATION_WRITE,
]


class ApiKey(AbstractAPIKey):
    scopes = models.JSONField(
        default=list, blank=True, help_text=f"Any of: {', '.join(SCOPES)}"
    )

    objects = BaseAPIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
