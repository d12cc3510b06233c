"""API keys with named scopes, stored hashed by djangorestframework-api-key."""

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

SCOPE_CONTENT_READ = "content:read"
SCOPE_EVENTS_WRITE = "events:write"
SCOPE_FEED_READ = "feed:read"
SCOPE_GENERATION_WRITE = "generation:write"
# Erasing a reader destroys data: never implied by writing events, never given to
# a browser.
SCOPE_READERS_ERASE = "readers:erase"
# Minting reader tokens (cms.reader_tokens) for browsers: a server-side key only.
SCOPE_READERS_ISSUE = "readers:issue"

SCOPES = [
    SCOPE_CONTENT_READ,
    SCOPE_EVENTS_WRITE,
    SCOPE_FEED_READ,
    SCOPE_GENERATION_WRITE,
    SCOPE_READERS_ERASE,
    SCOPE_READERS_ISSUE,
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
