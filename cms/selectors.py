"""The one source of live content that every public surface reads from.

"Publicly visible now" is defined once, in `pages_live_only`: every surface that
shows pages, their titles, links or images to readers (API v2, site HTML, feeds,
similar items, digests, audiences, events, search) narrows through it, directly
or through the live ids it caches under the shared live-content stamp.
"""

import datetime
import time
import uuid

from django.core.cache import caches
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.models import Page

from cms.models import ArticlePage, Topic

LIVE_VERSION_KEY = "cms:live-content-version"
_live_ids_cache: dict[str, object] = {"version": None, "ids": frozenset()}
_body_images_cache: dict[str, object] = {"version": None, "ids": frozenset()}


def _out_of_window_q(now: datetime.datetime) -> Q:
    return Q(go_live_at__gt=now) | Q(expire_at__lte=now)


def pages_live_only(*, queryset: QuerySet) -> QuerySet:
    """Narrow any page queryset to what a reader may see now: THE definition.

    Live (published; an AI draft in review is a revision, never the live row),
    already gone live (`go_live_at`), not expired (`expire_at`), and under no
    view restriction (login, password, groups) on the page or any ancestor.
    Expiry is checked here too because the scheduled unpublish only runs every
    minute. The out-of-window pages are excluded by id (few at any time) so that
    the result can still be searched, which filters on indexed fields only.
    """
    out_of_window = list(
        Page.objects.filter(live=True)
        .filter(_out_of_window_q(timezone.now()))
        .values_list("pk", flat=True)
    )
    queryset = queryset.live().public()
    if out_of_window:
        queryset = queryset.exclude(pk__in=out_of_window)
    return queryset


def page_is_live_now(*, page: Page) -> bool:
    """Live and inside its publishing window (restrictions aside): what the HTML
    site may serve at all; Wagtail's own hook then asks for login or password."""
    now = timezone.now()
    return bool(
        page.live
        and (page.go_live_at is None or page.go_live_at <= now)
        and (page.expire_at is None or page.expire_at > now)
    )


def page_live_list() -> QuerySet:
    return pages_live_only(queryset=Page.objects.all())


def article_live_list() -> QuerySet:
    return pages_live_only(queryset=ArticlePage.objects.all())


def page_children_live_list(*, page: Page) -> QuerySet:
    """The publicly visible children of a page, in tree order (site listings)."""
    return pages_live_only(queryset=page.get_children()).specific()


def live_content_next_change() -> datetime.datetime | None:
    """The next moment a live page enters or leaves its window on its own."""
    now = timezone.now()
    upcoming = Page.objects.filter(live=True).aggregate(
        expire=Min("expire_at", filter=Q(expire_at__gt=now)),
        go_live=Min("go_live_at", filter=Q(go_live_at__gt=now)),
    )
    moments = [moment for moment in upcoming.values() if moment is not None]
    return min(moments) if moments else None


def live_content_stamp_new() -> tuple[str, float | None]:
    """A fresh stamp: a random token and when it goes stale by the clock.

    A random token rather than a counter: a stamp that was rolled back or lost
    with the cache can never come back to a value a process already holds.
    """
    next_change = live_content_next_change()
    return uuid.uuid4().hex, next_change.timestamp() if next_change else None


def live_content_version() -> str:
    """A stamp shared by every process, replaced whenever live content changes.

    Publishing, unpublishing, moves and restrictions replace it through signals;
    the clock does too: the stamp carries the next expiry or go-live moment, and
    the first process to read it after that moment replaces it, so an expired
    page leaves every cache before the per-minute scheduled unpublish runs.
    """
    shared = caches["shared"]
    stamp = shared.get(LIVE_VERSION_KEY)
    if (
        not isinstance(stamp, tuple)
        or len(stamp) != 2
        or (stamp[1] is not None and stamp[1] <= time.time())
    ):
        stamp = live_content_stamp_new()
        shared.set(LIVE_VERSION_KEY, stamp, timeout=None)
    return stamp[0]


def article_live_ids() -> frozenset[int]:
    """Ids of live articles, cached per process and refreshed when the stamp moves."""
    version = live_content_version()
    if _live_ids_cache["version"] != version:
        ids = frozenset(article_live_list().values_list("pk", flat=True))
        _live_ids_cache.update(version=version, ids=ids)
    return _live_ids_cache["ids"]  # type: ignore[return-value]


def _body_image_ids() -> frozenset[int]:
    version = live_content_version()
    if _body_images_cache["version"] != version:
        ids: set[int] = set()
        bodies = article_live_list().values_list("body", flat=True)
        for body in bodies.iterator(chunk_size=500):
            for block in body.raw_data if body is not None else ():
                if block.get("type") == "image":
                    image_id = (block.get("value") or {}).get("image")
                    if isinstance(image_id, int):
                        ids.add(image_id)
        _body_images_cache.update(version=version, ids=frozenset(ids))
    return _body_images_cache["ids"]  # type: ignore[return-value]


def image_public_list() -> QuerySet:
    """Images a reader may see: those used by at least one publicly visible page
    (its hero image or an image block of its live body).

    An image used by no public page (an AI draft's cover in review, the cover of
    a restricted, expired or unpublished article, or an upload not used yet) is
    not listed: its title and alt text may carry an unpublished headline.
    """
    heroes = article_live_list().filter(hero_image__isnull=False)
    return get_image_model().objects.filter(
        Q(pk__in=heroes.values("hero_image_id")) | Q(pk__in=_body_image_ids())
    )


def topic_list_with_counts() -> QuerySet:
    """Topics with the number of live articles tagged with each."""
    live_ids = article_live_list().values("pk")
    return Topic.objects.annotate(
        article_count=Count("articles", filter=Q(articles__in=live_ids))
    ).order_by("name")
