"""How articles and audiences perform: impressions, clicks, reads, likes, CTR.

Definitions, over a window of days (events and impressions inside it):

* impression: a served feed page (FeedImpression) that listed the article;
* click: a ``view`` event on the article whose feed id is that of an impression
  listing the article (one per feed response, however often it was sent);
* read, like: ``read`` and ``like`` events on the article, from any surface;
* CTR: clicks / impressions (None without impressions).

Per audience, an impression, click, read or like counts for every active
audience its reader belongs to (a reader is in one cluster and any rules).
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from cms.models import ArticlePage, Topic
from recommend.models import (
    Audience,
    Event,
    FeedImpression,
    ModelVersion,
    ReaderAudience,
)

COUNTED_TYPES = (Event.Type.VIEW, Event.Type.READ, Event.Type.LIKE)


@dataclass
class Figures:
    impressions: int = 0
    clicks: int = 0
    reads: int = 0
    likes: int = 0

    @property
    def ctr(self) -> float | None:
        return round(self.clicks / self.impressions, 4) if self.impressions else None

    def add(self, other: "Figures") -> None:
        self.impressions += other.impressions
        self.clicks += other.clicks
        self.reads += other.reads
        self.likes += other.likes


@dataclass
class AudienceFigures(Figures):
    audience: Audience | None = None


@dataclass
class Comparison:
    """An AI article's figures next to human-written articles in its topics."""

    topics: list[str]
    articles: int
    figures: Figures

    @property
    def reads_per_article(self) -> float | None:
        return round(self.figures.reads / self.articles, 2) if self.articles else None


@dataclass
class PagePerformance:
    page: ArticlePage
    since: datetime.datetime
    figures: Figures
    audiences: list[AudienceFigures]
    comparison: Comparison | None


@dataclass
class TopicComparison:
    topic: str
    ai_articles: int
    human_articles: int
    ai: Figures
    human: Figures

    @staticmethod
    def _per_article(value: int, articles: int) -> float | None:
        return round(value / articles, 2) if articles else None

    @property
    def ai_reads_per_article(self) -> float | None:
        return self._per_article(self.ai.reads, self.ai_articles)

    @property
    def human_reads_per_article(self) -> float | None:
        return self._per_article(self.human.reads, self.human_articles)


@dataclass
class ModelQuality:
    version: int
    algorithm: str
    promoted_at: datetime.datetime
    ndcg: float
    popular_ndcg: float | None


@dataclass
class PerformanceReport:
    since: datetime.datetime
    pages: list[tuple[ArticlePage, Figures]]
    audiences: list[AudienceFigures]
    topics: list[TopicComparison]
    models: list[ModelQuality] = field(default_factory=list)


def performance_since(*, days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def _impressions_listing(*, since: datetime.datetime, page_id: int | None):
    """(feed_id, reader_id, page_ids) of impressions in the window."""
    impressions = FeedImpression.objects.filter(served_at__gte=since)
    if page_id is not None:
        # Narrowed in the database: the table holds every served feed page.
        if connection.vendor == "postgresql":
            impressions = impressions.filter(page_ids__contains=[page_id])
        elif connection.vendor == "sqlite":
            table = FeedImpression._meta.db_table
            impressions = impressions.extra(
                where=[
                    f"EXISTS (SELECT 1 FROM json_each({table}.page_ids) "
                    "WHERE json_each.value = %s)"
                ],
                params=[page_id],
            )
    rows = impressions.values_list("feed_id", "reader_id", "page_ids").iterator(
        chunk_size=5000
    )
    for feed_id, reader_id, page_ids in rows:
        if page_id is None or page_id in page_ids:
            yield feed_id, reader_id, page_ids


class _Membership:
    """Active audiences and who is in them, to spread per-reader counts."""

    def __init__(self) -> None:
        self.audiences = list(
            Audience.objects.filter(active=True).order_by("kind", "-size", "pk")
        )
        column = {audience.pk: index for index, audience in enumerate(self.audiences)}
        pairs = np.array(
            list(
                ReaderAudience.objects.filter(audience__active=True).values_list(
                    "reader_id", "audience_id"
                )
            )
            or np.empty((0, 2)),
            dtype=np.int64,
        ).reshape(-1, 2)
        self.readers = pairs[:, 0]
        self.columns = np.array(
            [column[audience] for audience in pairs[:, 1].tolist()], dtype=np.int64
        )

    def spread(self, per_reader: Counter) -> np.ndarray:
        """Sum of each audience's members' counts."""
        totals = np.zeros(len(self.audiences), dtype=np.int64)
        if not per_reader or len(self.readers) == 0:
            return totals
        counts = np.array(
            [per_reader.get(int(reader), 0) for reader in self.readers.tolist()],
            dtype=np.int64,
        )
        np.add.at(totals, self.columns, counts)
        return totals

    def figures(self, per_reader: dict[str, Counter]) -> list[AudienceFigures]:
        spread = {name: self.spread(counts) for name, counts in per_reader.items()}
        return [
            AudienceFigures(
                audience=audience,
                impressions=int(spread["impressions"][index]),
                clicks=int(spread["clicks"][index]),
                reads=int(spread["reads"][index]),
                likes=int(spread["likes"][index]),
            )
            for index, audience in enumerate(self.audiences)
        ]


def _event_rows(*, since: datetime.datetime, page_id: int | None):
    events = Event.objects.filter(occurred_at__gte=since, type__in=COUNTED_TYPES)
    if page_id is not None:
        events = events.filter(page_id=page_id)
    return events


def _clicked(
    *, since: datetime.datetime, page_id: int | None, listed: dict[str, set[int]]
) -> list[tuple[int, int | None]]:
    """(page id, reader id) of each distinct click on a listed (feed, page) pair."""
    views = (
        _event_rows(since=since, page_id=page_id)
        .filter(type=Event.Type.VIEW)
        .exclude(feed_id="")
        .values_list("feed_id", "page_id", "reader_id")
        .distinct()
    )
    clicks, counted = [], set()
    for feed_id, page, reader in views.iterator(chunk_size=5000):
        if page in listed.get(feed_id, ()) and (feed_id, page) not in counted:
            counted.add((feed_id, page))
            clicks.append((page, reader))
    return clicks


def page_performance(*, page: ArticlePage, days: int = 30) -> PagePerformance:
    """One article's figures over the last ``days``, in total and per audience."""
    since = performance_since(days=days)
    per_reader = {name: Counter() for name in ("impressions", "clicks", "reads")}
    per_reader["likes"] = Counter()
    listed: dict[str, set[int]] = {}
    figures = Figures()
    for feed_id, reader_id, _ in _impressions_listing(since=since, page_id=page.pk):
        listed[feed_id] = {page.pk}
        figures.impressions += 1
        per_reader["impressions"][reader_id] += 1
    for _, reader_id in _clicked(since=since, page_id=page.pk, listed=listed):
        figures.clicks += 1
        per_reader["clicks"][reader_id] += 1
    engagement = (
        _event_rows(since=since, page_id=page.pk)
        .filter(type__in=(Event.Type.READ, Event.Type.LIKE))
        .values_list("reader_id", "type")
        .annotate(events=Count("id"))
    )
    for reader_id, kind, events in engagement:
        name = "reads" if kind == Event.Type.READ else "likes"
        setattr(figures, name, getattr(figures, name) + events)
        per_reader[name][reader_id] += events
    audiences = [
        figures_of
        for figures_of in _Membership().figures(per_reader)
        if figures_of.impressions
        or figures_of.clicks
        or figures_of.reads
        or figures_of.likes
    ]
    return PagePerformance(
        page=page,
        since=since,
        figures=figures,
        audiences=audiences,
        comparison=_page_comparison(page=page, since=since)
        if page.ai_generated
        else None,
    )


def performance_by_page(*, since: datetime.datetime) -> dict[int, Figures]:
    """Every article's figures in the window, in one pass over the impressions."""
    table: dict[int, Figures] = defaultdict(Figures)
    listed: dict[str, set[int]] = {}
    for feed_id, _, page_ids in _impressions_listing(since=since, page_id=None):
        listed[feed_id] = set(page_ids)
        for page_id in page_ids:
            table[page_id].impressions += 1
    for page_id, _ in _clicked(since=since, page_id=None, listed=listed):
        table[page_id].clicks += 1
    engagement = (
        _event_rows(since=since, page_id=None)
        .filter(type__in=(Event.Type.READ, Event.Type.LIKE))
        .values_list("page_id", "type")
        .annotate(events=Count("id"))
    )
    for page_id, kind, events in engagement:
        figures = table[page_id]
        if kind == Event.Type.READ:
            figures.reads += events
        else:
            figures.likes += events
    return dict(table)


def performance_by_audience(*, since: datetime.datetime) -> list[AudienceFigures]:
    """Each active audience's figures over all articles in the window."""
    per_reader = {
        name: Counter() for name in ("impressions", "clicks", "reads", "likes")
    }
    listed: dict[str, set[int]] = {}
    for feed_id, reader_id, page_ids in _impressions_listing(since=since, page_id=None):
        listed[feed_id] = set(page_ids)
        per_reader["impressions"][reader_id] += len(page_ids)
    for _, reader_id in _clicked(since=since, page_id=None, listed=listed):
        per_reader["clicks"][reader_id] += 1
    engagement = (
        _event_rows(since=since, page_id=None)
        .filter(type__in=(Event.Type.READ, Event.Type.LIKE))
        .values_list("reader_id", "type")
        .annotate(events=Count("id"))
    )
    for reader_id, kind, events in engagement:
        per_reader["reads" if kind == Event.Type.READ else "likes"][reader_id] += events
    return _Membership().figures(per_reader)


def _article_topics() -> tuple[dict[int, set[int]], dict[int, str]]:
    topics_of: dict[int, set[int]] = defaultdict(set)
    for page_id, topic_id in ArticlePage.topics.through.objects.values_list(
        "articlepage_id", "topic_id"
    ):
        topics_of[page_id].add(topic_id)
    return topics_of, dict(Topic.objects.values_list("pk", "name"))


def _page_comparison(*, page: ArticlePage, since: datetime.datetime) -> Comparison:
    topics = set(page.topics.values_list("pk", flat=True))
    table = performance_by_page(since=since)
    topics_of, names = _article_topics()
    human = ArticlePage.objects.filter(live=True, ai_generated=False).values_list(
        "pk", flat=True
    )
    figures, articles = Figures(), 0
    for page_id in human.iterator(chunk_size=5000):
        if topics_of.get(page_id, set()) & topics:
            articles += 1
            figures.add(table.get(page_id, Figures()))
    return Comparison(
        topics=sorted(names[topic] for topic in topics),
        articles=articles,
        figures=figures,
    )


def performance_by_topic(
    *, since: datetime.datetime, table: dict[int, Figures] | None = None
) -> list[TopicComparison]:
    """AI-generated against human-written live articles, topic by topic.

    Only topics with at least one live AI article are compared.
    """
    table = performance_by_page(since=since) if table is None else table
    topics_of, names = _article_topics()
    live = ArticlePage.objects.filter(live=True).values_list("pk", "ai_generated")
    rows: dict[int, TopicComparison] = {}
    for page_id, generated in live.iterator(chunk_size=5000):
        for topic in topics_of.get(page_id, ()):
            row = rows.setdefault(
                topic,
                TopicComparison(
                    topic=names[topic],
                    ai_articles=0,
                    human_articles=0,
                    ai=Figures(),
                    human=Figures(),
                ),
            )
            figures = table.get(page_id, Figures())
            if generated:
                row.ai_articles += 1
                row.ai.add(figures)
            else:
                row.human_articles += 1
                row.human.add(figures)
    return sorted(
        (row for row in rows.values() if row.ai_articles),
        key=lambda row: row.topic,
    )


def model_quality_history() -> list[ModelQuality]:
    """nDCG@10 of every promoted model version, oldest first."""
    versions = ModelVersion.objects.filter(promoted_at__isnull=False).order_by(
        "promoted_at", "pk"
    )
    history = []
    for version in versions:
        candidate = (version.metrics or {}).get("candidate") or {}
        popular = (version.metrics or {}).get("popular") or {}
        if "ndcg" not in candidate:
            continue
        history.append(
            ModelQuality(
                version=version.pk,
                algorithm=version.algorithm,
                promoted_at=version.promoted_at,
                ndcg=float(candidate["ndcg"]),
                popular_ndcg=(float(popular["ndcg"]) if "ndcg" in popular else None),
            )
        )
    return history


def performance_report(*, days: int = 30, top: int = 30) -> PerformanceReport:
    """What the admin report shows: top articles, audiences, AI vs human, models."""
    since = performance_since(days=days)
    table = performance_by_page(since=since)
    ranked = sorted(
        table.items(), key=lambda item: (-item[1].impressions, -item[1].reads, item[0])
    )[:top]
    pages = ArticlePage.objects.in_bulk([page_id for page_id, _ in ranked])
    return PerformanceReport(
        since=since,
        pages=[
            (pages[page_id], figures) for page_id, figures in ranked if page_id in pages
        ],
        audiences=performance_by_audience(since=since),
        topics=performance_by_topic(since=since, table=table),
        models=model_quality_history(),
    )
