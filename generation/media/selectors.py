"""Reads of AI media: what is served (approved, current), what waits for review."""

import datetime

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from cms.models import ArticlePage
from generation.media.models import MediaItem


def media_served_list(*, kind: str) -> QuerySet:
    """Approved media of `kind` made from their page's live revision.

    This is the only definition of "served": a narration of an older revision
    (the article has changed since) or of an unpublished page is never public.
    Callers still narrow the pages to what is public now (cms.selectors).
    """
    return MediaItem.objects.filter(
        kind=kind,
        status=MediaItem.Status.APPROVED,
        stale=False,
        page__live=True,
        revision_id=F("page__live_revision_id"),
    ).order_by("-reviewed_at", "-pk")


def media_served(*, page: ArticlePage, kind: str) -> MediaItem | None:
    """The page's served narration or clip, if it has one."""
    if not page.live or page.live_revision_id is None:
        return None
    return media_served_list(kind=kind).filter(page_id=page.pk).first()


def media_served_by_page(*, page_ids, kind: str) -> dict[int, MediaItem]:
    """Served media of these pages, by page id (the newest approval of each)."""
    served: dict[int, MediaItem] = {}
    for item in media_served_list(kind=kind).filter(page_id__in=list(page_ids)):
        served.setdefault(item.page_id, item)
    return served


def media_review_list(*, pending_only: bool = True) -> QuerySet:
    """AI media for the admin listing, newest first; by default what needs an Editor
    (in review) or is being made."""
    items = MediaItem.objects.select_related("page", "requested_by", "reviewed_by")
    if pending_only:
        items = items.filter(
            status__in=[*MediaItem.UNFINISHED, MediaItem.Status.IN_REVIEW]
        )
    return items.order_by("-created_at", "-pk")


def media_item_get(*, item_id: int) -> MediaItem:
    return MediaItem.objects.select_related("page", "revision").get(pk=item_id)


def audio_seconds_today() -> float:
    """Seconds of speech made by metered providers since midnight UTC."""
    midnight = datetime.datetime.combine(
        timezone.now().astimezone(datetime.UTC).date(),
        datetime.time.min,
        tzinfo=datetime.UTC,
    )
    total = (
        MediaItem.objects.filter(updated_at__gte=midnight)
        .exclude(provider__in=["espeak", ""])
        .aggregate(total=Sum("audio_seconds"))["total"]
    )
    return float(total or 0)
