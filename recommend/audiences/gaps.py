"""Content gaps: topics an audience reads a lot of but that few recent articles cover.

For each active audience, every top topic whose engagement share reaches
RECOMMEND_GAP_MIN_SHARE and that had at most RECOMMEND_GAP_MAX_RECENT live
articles in the last RECOMMEND_GAP_SUPPLY_DAYS is a gap, scored

    score = engagement_share / (1 + recent_articles)

so that a topic half an audience's reading with nothing new scores 0.5, and the
same topic with one new article 0.25. A scheduled job rewrites the table (see
recommend.training.schedules); the admin page only reads it.
"""

import datetime
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cms.models import ArticlePage, SectionPage, Topic
from cms.selectors import article_live_list
from recommend.models import Audience, ContentGap

GAP_SUPPLY_DAYS_DEFAULT = 30
GAP_MIN_SHARE_DEFAULT = 0.1
GAP_MAX_RECENT_DEFAULT = 2


def _setting(name: str, default):
    return type(default)(getattr(settings, name, default))


def _recent_articles_by_topic(*, since: datetime.datetime) -> Counter:
    """Live articles per topic published since ``since``.

    The editorial date counts when set (as in the catalogue), else the first
    publication.
    """
    recent = article_live_list().filter(
        Q(published_date__gte=since.date())
        | Q(published_date__isnull=True, first_published_at__gte=since)
    )
    return Counter(
        ArticlePage.topics.through.objects.filter(
            articlepage_id__in=recent.values("pk")
        ).values_list("topic_id", flat=True)
    )


@transaction.atomic
def content_gap_refresh(*, now: datetime.datetime | None = None) -> int:
    """Recompute every audience's content gaps; the number stored.

    Idempotent: the table is replaced as a whole, so a retried or doubled run
    leaves the same rows.
    """
    now = now or timezone.now()
    days = _setting("RECOMMEND_GAP_SUPPLY_DAYS", GAP_SUPPLY_DAYS_DEFAULT)
    min_share = _setting("RECOMMEND_GAP_MIN_SHARE", GAP_MIN_SHARE_DEFAULT)
    max_recent = _setting("RECOMMEND_GAP_MAX_RECENT", GAP_MAX_RECENT_DEFAULT)
    supply = _recent_articles_by_topic(since=now - datetime.timedelta(days=days))
    gaps = []
    for audience in Audience.objects.filter(active=True):
        for topic in audience.top_topics:
            share = float(topic.get("share", 0.0))
            recent = supply.get(topic["id"], 0)
            if share < min_share - 1e-9 or recent > max_recent:
                continue
            gaps.append(
                ContentGap(
                    audience=audience,
                    topic_id=topic["id"],
                    engagement_share=round(share, 4),
                    recent_articles=recent,
                    score=round(share / (1 + recent), 4),
                    computed_at=now,
                )
            )
    ContentGap.objects.all().delete()
    # A topic deleted since the audience was described is simply skipped.
    known = set(
        Topic.objects.filter(pk__in={gap.topic_id for gap in gaps}).values_list(
            "pk", flat=True
        )
    )
    ContentGap.objects.bulk_create([gap for gap in gaps if gap.topic_id in known])
    return ContentGap.objects.count()


# Selectors


def content_gap_list() -> QuerySet:
    """Gaps of active audiences, best first."""
    return (
        ContentGap.objects.filter(audience__active=True)
        .select_related("audience", "topic")
        .order_by("-score", "audience__name", "topic__name", "pk")
    )


def topic_sections(*, topic_ids: list[int]) -> dict[int, SectionPage]:
    """The section most of each topic's live articles are in (ties: lowest pk)."""
    rows = ArticlePage.topics.through.objects.filter(
        topic_id__in=topic_ids, articlepage_id__in=article_live_list().values("pk")
    ).values_list("topic_id", "articlepage__path")
    # A page's parent path is its own path minus one step (treebeard steplen 4).
    counts: dict[int, Counter] = {}
    for topic_id, path in rows:
        counts.setdefault(topic_id, Counter())[path[:-4]] += 1
    sections = {
        section.path: section
        for section in SectionPage.objects.filter(
            path__in={path for counter in counts.values() for path in counter}
        )
    }
    chosen = {}
    for topic_id, counter in counts.items():
        ranked = sorted(
            (
                (-count, sections[path].pk, sections[path])
                for path, count in counter.items()
                if path in sections
            ),
            key=lambda item: item[:2],
        )
        if ranked:
            chosen[topic_id] = ranked[0][2]
    return chosen
