"""AI media as served to the public: the representation in API v2 and on pages."""

from django.conf import settings
from rest_framework import serializers
from wagtail.api import APIField

from cms.models import ArticlePage
from cms.timestamps import rfc3339
from generation.media.models import MediaItem
from generation.media.selectors import media_served

SPOKEN_BY = {"espeak": "a synthetic voice (espeak-ng)"}


def media_absolute_url(url: str, *, request=None) -> str:
    """An absolute URL of a stored file: the request's host, else the site's."""
    if url.startswith(("http://", "https://")):
        return url
    if request is not None:
        return request.build_absolute_uri(url)
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + url


def media_disclosure(item: MediaItem) -> dict:
    """What made it and who approved it, with one sentence for people."""
    reviewer = item.reviewed_by
    approved_by = (reviewer.get_full_name() or "Editor") if reviewer else None
    voice = SPOKEN_BY.get(item.provider, f"an AI voice ({item.model}, {item.voice})")
    what = "clip" if item.kind == MediaItem.Kind.CLIP else "narration"
    label = f"This {what} was made by AI: read by {voice} from the published text" + (
        f", approved by {approved_by}." if approved_by else "."
    )
    return {
        "generated": True,
        "kind": item.kind,
        "provider": item.provider,
        "model": item.model,
        "voice": item.voice,
        "revision": item.revision_id,
        "approved_by": approved_by,
        "approved_at": rfc3339(item.reviewed_at),
        "label": label,
    }


def media_representation(item: MediaItem, *, request=None) -> dict:
    data = {
        "url": media_absolute_url(item.file.url, request=request),
        "mime_type": item.mime_type,
        "duration": round(item.duration_seconds, 2),
        "transcript_url": (
            media_absolute_url(item.transcript.url, request=request)
            if item.transcript
            else None
        ),
        "voice": item.voice,
        "provider": item.provider,
        "ai_disclosure": media_disclosure(item),
    }
    if item.kind == MediaItem.Kind.NARRATION:
        data["chapters"] = item.chapters
    return data


def page_media(*, page: ArticlePage, kind: str, request=None) -> dict | None:
    """The page's approved, current narration or clip as served, or None."""
    item = media_served(page=page, kind=kind)
    return media_representation(item, request=request) if item else None


class ServedMediaField(serializers.Field):
    """`narration` / `clip` of an article in API v2: null until an Editor approves."""

    def __init__(self, *, kind: str, **kwargs) -> None:
        self.kind = kind
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, page):
        return page_media(
            page=page, kind=self.kind, request=self.context.get("request")
        )


def api_fields_attach() -> None:
    """Add `narration` and `clip` to ArticlePage's API v2 fields, once.

    cms imports no generation code, so the fields join from here while the app
    starts, as the provenance panel does.
    """
    names = {field.name for field in ArticlePage.api_fields}
    for kind in MediaItem.Kind.values:
        if kind not in names:
            ArticlePage.api_fields.append(
                APIField(kind, serializer=ServedMediaField(kind=kind))
            )
