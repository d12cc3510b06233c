"""The one source of live content that every public surface reads from."""

import uuid

from django.core.cache import caches
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from wagtail.models import Page

from cms.models import ArticlePage, Topic

LIVE_VERSION_KEY = "cms:live-content-version"
_live_ids_cache: dict[str, object] = {"version": None, "ids": frozenset()}


def pages_live_only(*, queryset: QuerySet) -> QuerySet:
    """Narrow any page queryset to what a reader may see.

    Live (published), inside no view restriction, already gone live and not yet
    expired. Expiry is checked here too because the scheduled unpublish only runs
    every few minutes. The out-of-window pages are excluded by id (few at any time)
    so that the result can still be searched, which filters on indexed fields only.
    """
    now = timezone.now()
    out_of_window = list(
        Page.objects.filter(live=True)
        .filter(Q(go_live_at__gt=now) | Q(expire_at__lte=now))
        .values_list("pk", flat=True)
    )
    queryset = queryset.live().public()
    if out_of_window:
        queryset = queryset.exclude(pk__in=out_of_window)
    return queryset


def page_live_list() -> QuerySet:
    return pages_live_only(queryset=Page.objects.all())


def article_live_list() -> QuerySet:
    return pages_live_only(queryset=ArticlePage.objects.all())


def live_content_version() -> str:
    """A stamp shared by every process, replaced whenever live content changes."""
    return caches["shared"].get_or_set(
        LIVE_VERSION_KEY, lambda: uuid.uuid4().hex, timeout=None
    )


def article_live_ids() -> frozenset[int]:
    """Ids of live articles, cached per process and refreshed when the stamp moves."""
    version = live_content_version()
    if _live_ids_cache["version"] != version:
        ids = frozenset(article_live_list().values_list("pk", flat=True))
        _live_ids_cache.update(version=version, ids=ids)
    return _live_ids_cache["ids"]  # type: ignore[return-value]


def topic_list_with_counts() -> QuerySet:
    """Topics with the number of live articles tagged with each."""
    live_ids = article_live_list().values("pk")
    return Topic.objects.annotate(
        article_count=Count("articles", filter=Q(articles__in=live_ids))
    ).order_by("name")
