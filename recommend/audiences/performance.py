"""How articles and audiences perform: impressions, clicks, reads, likes, CTR.

Definitions, over a window of days (events and impressions inside it):

* impression: a served feed page (FeedImpression) that listed the article;
* click: a ``view`` event on the article whose feed id is that of an impression
  listing the article (one per feed response, however often it was sent);
* read, like: ``read`` and ``like`` events on the article, from any surface;
* CTR: clicks / impressions (None without impressions).

Per audience, an impression, click, read or like counts for every active
audience its reader belongs to (a reader is in one cluster and any rules).

Windows are whole UTC days: "the last 30 days" is today and the 29 days before.
Reports read daily aggregates (`PageDailyPerformance`, `AudienceDailyPerformance`,
written by a scheduled job every few minutes, idempotently per day) for the part
of each day they cover, and the raw tables only for what came after (minutes), so
a report costs the same at 5M impressions as at 5k. A click counts on the day it
happened when its impression was served that day or the day before.
"""

import datetime
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Sum
from django.utils import timezone

from cms.models import ArticlePage, Topic
from recommend.models import (
    Audience,
    AudienceDailyPerformance,
    Event,
    FeedImpression,
    ModelVersion,
    PageDailyPerformance,
    PagePeriodPerformance,
    PerformanceDay,
    PerformancePeriod,
    ReaderAudience,
)

COUNTED_TYPES = (Event.Type.VIEW, Event.Type.READ, Event.Type.LIKE)
FIGURE_NAMES = ("impressions", "clicks", "reads", "likes")
DAY = datetime.timedelta(days=1)
# The report's windows: their per-article totals are kept ready by the job.
REPORT_PERIODS = (7, 30, 90)


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


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def performance_since(*, days: int) -> datetime.datetime:
    """Start of the window of ``days`` whole UTC days ending today."""
    today = timezone.now().astimezone(datetime.UTC).date()
    return _day_start(today - datetime.timedelta(days=days - 1))


def _impressions_listing(
    *,
    since: datetime.datetime,
    page_id: int | None,
    until: datetime.datetime | None = None,
):
    """(feed_id, reader_id, page_ids) of impressions in the window."""
    impressions = FeedImpression.objects.filter(served_at__gte=since)
    if until is not None:
        impressions = impressions.filter(served_at__lt=until)
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

    def __init__(self, readers: set[int] | None = None) -> None:
        self.audiences = list(
            Audience.objects.filter(active=True).order_by("kind", "-size", "pk")
        )
        column = {audience.pk: index for index, audience in enumerate(self.audiences)}
        members = ReaderAudience.objects.filter(audience__active=True)
        if readers is not None:  # only these readers' counts will be spread
            members = members.filter(reader_id__in=readers)
        pairs = np.array(
            list(members.values_list("reader_id", "audience_id")) or np.empty((0, 2)),
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


def _event_rows(
    *,
    since: datetime.datetime,
    page_id: int | None,
    until: datetime.datetime | None = None,
):
    events = Event.objects.filter(occurred_at__gte=since, type__in=COUNTED_TYPES)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    if page_id is not None:
        events = events.filter(page_id=page_id)
    return events


def _clicked(
    *,
    since: datetime.datetime,
    page_id: int | None,
    listed: dict[str, set[int]],
    until: datetime.datetime | None = None,
) -> list[tuple[int, int | None]]:
    """(page id, reader id) of each distinct click on a listed (feed, page) pair."""
    views = (
        _event_rows(since=since, page_id=page_id, until=until)
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


def _raw_counts(
    *,
    since: datetime.datetime,
    until: datetime.datetime | None,
    listed_since: datetime.datetime | None = None,
) -> tuple[dict[int, Figures], dict[str, Counter]]:
    """Per-article figures and per-reader counts from the raw tables, one pass.

    ``listed_since`` reaches further back for the impressions a click may match
    (they are not counted again).
    """
    table: dict[int, Figures] = defaultdict(Figures)
    per_reader = {name: Counter() for name in FIGURE_NAMES}
    listed: dict[str, set[int]] = {}
    if listed_since is not None and listed_since < since:
        for feed_id, _, page_ids in _impressions_listing(
            since=listed_since, page_id=None, until=since
        ):
            listed[feed_id] = set(page_ids)
    for feed_id, reader_id, page_ids in _impressions_listing(
        since=since, page_id=None, until=until
    ):
        listed[feed_id] = set(page_ids)
        per_reader["impressions"][reader_id] += len(page_ids)
        for page_id in page_ids:
            table[page_id].impressions += 1
    for page_id, reader_id in _clicked(
        since=since, page_id=None, listed=listed, until=until
    ):
        table[page_id].clicks += 1
        per_reader["clicks"][reader_id] += 1
    engagement = (
        _event_rows(since=since, page_id=None, until=until)
        .filter(type__in=(Event.Type.READ, Event.Type.LIKE))
        .values_list("page_id", "reader_id", "type")
        .annotate(events=Count("id"))
    )
    for page_id, reader_id, kind, events in engagement.iterator(chunk_size=5000):
        name = "reads" if kind == Event.Type.READ else "likes"
        figures = table[page_id]
        setattr(figures, name, getattr(figures, name) + events)
        per_reader[name][reader_id] += events
    return dict(table), per_reader


@transaction.atomic
def performance_day_aggregate(
    *, day: datetime.date, until: datetime.datetime | None = None
) -> PerformanceDay:
    """Write one UTC day's aggregates, replacing any earlier ones for that day.

    ``until`` (default: the day's end, or now for today) bounds a partial day.
    Idempotent: re-running a day gives the same rows.
    """
    start = _day_start(day)
    until = min(until or start + DAY, start + DAY, timezone.now())
    table, per_reader = _raw_counts(since=start, until=until, listed_since=start - DAY)
    PageDailyPerformance.objects.filter(day=day).delete()
    PageDailyPerformance.objects.bulk_create(
        [
            PageDailyPerformance(
                day=day,
                page_id=page_id,
                impressions=figures.impressions,
                clicks=figures.clicks,
                reads=figures.reads,
                likes=figures.likes,
            )
            for page_id, figures in table.items()
        ],
        batch_size=5000,
    )
    AudienceDailyPerformance.objects.filter(day=day).delete()
    AudienceDailyPerformance.objects.bulk_create(
        [
            AudienceDailyPerformance(
                day=day,
                audience=row.audience,
                impressions=row.impressions,
                clicks=row.clicks,
                reads=row.reads,
                likes=row.likes,
            )
            for row in _Membership().figures(per_reader)
        ]
    )
    marker, _ = PerformanceDay.objects.update_or_create(
        day=day,
        defaults={"aggregated_until": until, "aggregated_at": timezone.now()},
    )
    return marker


def performance_aggregate_recent(
    *,
    days: int = 30,
    rewrite: bool = False,
    progress: Callable[[Iterable], Iterable] = lambda days: days,
) -> int:
    """Aggregate today and yesterday, and any day of the window never aggregated
    (every day of it with ``rewrite``), then the report windows' totals.

    The scheduled job's body; returns the number of days written.
    """
    today = timezone.now().astimezone(datetime.UTC).date()
    window = [today - datetime.timedelta(days=offset) for offset in range(days)]
    done = set(
        PerformanceDay.objects.filter(day__in=window).values_list("day", flat=True)
    )
    todo = [day for day in window if rewrite or day not in done or day >= today - DAY]
    for day in progress(sorted(todo)):
        performance_day_aggregate(day=day)
    performance_periods_refresh(today=today)
    return len(todo)


@transaction.atomic
def performance_periods_refresh(*, today: datetime.date) -> None:
    """Sum the daily rows of each report window per article, in the database."""
    marker = PerformanceDay.objects.filter(day=today).first()
    if marker is None:
        return
    daily = PageDailyPerformance._meta.db_table
    period_table = PagePeriodPerformance._meta.db_table
    names = ", ".join(FIGURE_NAMES)
    sums = ", ".join(f"SUM({name})" for name in FIGURE_NAMES)
    for days in REPORT_PERIODS:
        since_day = today - datetime.timedelta(days=days - 1)
        PagePeriodPerformance.objects.filter(period_days=days).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {period_table} (period_days, day, page_id, {names}) "
                f"SELECT %s, %s, page_id, {sums} FROM {daily} "
                "WHERE day >= %s AND day <= %s GROUP BY page_id",
                [days, today, since_day, today],
            )
        PerformancePeriod.objects.update_or_create(
            period_days=days,
            defaults={"since_day": since_day, "until": marker.aggregated_until},
        )


def _raw_segments(
    *, since: datetime.datetime
) -> tuple[list[datetime.date], list[tuple[datetime.datetime, datetime.datetime]]]:
    """Days covered by aggregates, and the (start, end) ranges left to the raw data."""
    now = timezone.now()
    markers = dict(
        PerformanceDay.objects.filter(day__gte=since.date()).values_list(
            "day", "aggregated_until"
        )
    )
    aggregated, raw = [], []
    day = since.date()
    while _day_start(day) < now:
        start, end = _day_start(day), min(_day_start(day) + DAY, now)
        covered = markers.get(day)
        if covered is not None:
            aggregated.append(day)
            start = max(start, covered)
        if start < end:
            if raw and raw[-1][1] == start:
                raw[-1] = (raw[-1][0], end)
            else:
                raw.append((start, end))
        day += DAY
    return aggregated, raw


def _figures_sum(rows: QuerySet, *, key: str) -> Iterator[tuple[int, Figures]]:
    """Daily rows summed per ``key`` in the database."""
    totals = rows.values(key).annotate(
        **{f"total_{name}": Sum(name) for name in FIGURE_NAMES}
    )
    for row in totals.iterator(chunk_size=5000):
        yield row[key], Figures(*(int(row[f"total_{n}"] or 0) for n in FIGURE_NAMES))


def _tail_counts(
    raw: list[tuple[datetime.datetime, datetime.datetime]],
) -> tuple[dict[int, Figures], dict[str, Counter]]:
    """Raw figures of the ranges no aggregate covers (minutes, once aggregated)."""
    table: dict[int, Figures] = defaultdict(Figures)
    per_reader = {name: Counter() for name in FIGURE_NAMES}
    for start, end in raw:
        segment_table, segment_readers = _raw_counts(since=start, until=end)
        for page_id, figures in segment_table.items():
            table[page_id].add(figures)
        for name, counts in segment_readers.items():
            per_reader[name].update(counts)
    return dict(table), per_reader


def performance_by_page(*, since: datetime.datetime) -> dict[int, Figures]:
    """Every article's figures in the window: aggregates, then the raw remainder."""
    aggregated, raw = _raw_segments(since=since)
    table, _ = _tail_counts(raw)
    table = defaultdict(Figures, table)
    if aggregated:
        rows = PageDailyPerformance.objects.filter(day__in=aggregated)
        for page_id, figures in _figures_sum(rows, key="page_id"):
            table[page_id].add(figures)
    return dict(table)


def _audience_figures(
    *, aggregated: list[datetime.date], per_reader: dict[str, Counter]
) -> list[AudienceFigures]:
    if any(per_reader.values()):
        readers = set().union(*(counts.keys() for counts in per_reader.values()))
        rows = _Membership(readers=readers).figures(per_reader)
    else:  # nothing raw to spread: no need to load every membership
        rows = [
            AudienceFigures(audience=audience)
            for audience in Audience.objects.filter(active=True).order_by(
                "kind", "-size", "pk"
            )
        ]
    if aggregated:
        stored = dict(
            _figures_sum(
                AudienceDailyPerformance.objects.filter(
                    day__in=aggregated, audience__active=True
                ),
                key="audience_id",
            )
        )
        for row in rows:
            row.add(stored.get(row.audience.pk, Figures()))
    return rows


def performance_by_audience(*, since: datetime.datetime) -> list[AudienceFigures]:
    """Each active audience's figures over all articles in the window."""
    aggregated, raw = _raw_segments(since=since)
    _, per_reader = _tail_counts(raw)
    return _audience_figures(aggregated=aggregated, per_reader=per_reader)


def _top_pages(
    *, rows: QuerySet | None, tail: dict[int, Figures], top: int
) -> list[tuple[int, Figures]]:
    """The ``top`` articles by impressions then reads, ranked in the database.

    ``rows``: daily rows of the window (summed here) or the window's ready
    per-article totals (`PagePeriodPerformance`, one row per article).

    The tail (raw rows since the last aggregation) touches thousands of
    articles at scale, a few impressions each, so only the articles that can
    reach the top are read: with T the impressions of the ``top``-th article
    by its aggregate alone and M the most impressions any article has in the
    tail, an article whose aggregate is below T - M cannot pass the ``top``
    articles already known, whatever its tail.
    """
    table: dict[int, Figures] = defaultdict(Figures)
    if rows is not None:
        if rows.model is PagePeriodPerformance:
            totals = rows.annotate(
                **{f"total_{name}": F(name) for name in FIGURE_NAMES}
            ).values("page_id", *(f"total_{name}" for name in FIGURE_NAMES))
        else:
            totals = rows.values("page_id").annotate(
                **{f"total_{name}": Sum(name) for name in FIGURE_NAMES}
            )
        ranked = totals.order_by("-total_impressions", "-total_reads", "page_id")
        leaders = list(ranked[:top])
        threshold = leaders[-1]["total_impressions"] if len(leaders) == top else 0
        most_in_tail = max(
            (figures.impressions for figures in tail.values()), default=0
        )
        contenders = ranked.filter(total_impressions__gte=threshold - most_in_tail)
        for row in itertools.chain(
            contenders.iterator(chunk_size=5000),
            # articles of the tail with no aggregate that reach T on their own
            totals.filter(
                page_id__in=[
                    page_id
                    for page_id, figures in tail.items()
                    if figures.impressions >= threshold
                ]
            ),
        ):
            table[row["page_id"]] = Figures(
                *(int(row[f"total_{name}"] or 0) for name in FIGURE_NAMES)
            )
    for page_id, figures in tail.items():
        if rows is None or page_id in table or figures.impressions >= threshold:
            table[page_id].add(figures)
    ranked = sorted(
        table.items(), key=lambda item: (-item[1].impressions, -item[1].reads, item[0])
    )
    return ranked[:top]


def _live_topics_of(page_ids: list[int]) -> Iterator[tuple[int, int, bool]]:
    """(page id, topic id, AI-generated) of the live ones among ``page_ids``.

    Plain SQL in chunks: Django prepares each parameter of a large ``IN`` in
    Python, which for the tail's thousands of ids cost seconds.
    """
    through = ArticlePage.topics.through
    pages = ArticlePage._meta.db_table
    core = ArticlePage._meta.get_field("page_ptr").related_model._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(page_ids), 900):
            chunk = page_ids[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT t.articlepage_id, t.topic_id, a.ai_generated "
                f"FROM {through._meta.db_table} t "
                f"JOIN {pages} a ON a.page_ptr_id = t.articlepage_id "
                f"JOIN {core} w ON w.id = t.articlepage_id "
                f"WHERE w.live = %s AND t.articlepage_id IN ({marks})",
                [True, *chunk],
            )
            for page_id, topic, generated in cursor.fetchall():
                yield page_id, topic, bool(generated)


def _topic_comparison(
    *, source: tuple[str, str, list] | None, tail: dict[int, Figures]
) -> list[TopicComparison]:
    """AI against human live articles per topic, summed in the database."""
    through = ArticlePage.topics.through
    live = through.objects.filter(articlepage__live=True)
    rows: dict[int, TopicComparison] = {}
    names = dict(Topic.objects.values_list("pk", "name"))

    def row_of(topic: int) -> TopicComparison:
        return rows.setdefault(
            topic,
            TopicComparison(
                topic=names[topic],
                ai_articles=0,
                human_articles=0,
                ai=Figures(),
                human=Figures(),
            ),
        )

    counts = live.values_list("topic_id", "articlepage__ai_generated").annotate(
        articles=Count("id")
    )
    for topic, generated, articles in counts:
        row = row_of(topic)
        if generated:
            row.ai_articles += articles
        else:
            row.human_articles += articles
    if source is not None:
        table, condition, params = source
        topics = through._meta.db_table
        pages = ArticlePage._meta.db_table
        core = ArticlePage._meta.get_field("page_ptr").related_model._meta.db_table
        sums = ", ".join(f"SUM(d.{name})" for name in FIGURE_NAMES)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.topic_id, a.ai_generated, {sums} FROM {table} d "
                f"JOIN {topics} t ON t.articlepage_id = d.page_id "
                f"JOIN {pages} a ON a.page_ptr_id = d.page_id "
                f"JOIN {core} w ON w.id = d.page_id "
                f"WHERE w.live = %s AND {condition} "
                "GROUP BY t.topic_id, a.ai_generated",
                [True, *params],
            )
            for topic, generated, *values in cursor.fetchall():
                figures = Figures(*(int(value or 0) for value in values))
                row = row_of(topic)
                (row.ai if generated else row.human).add(figures)
    if tail:
        for page_id, topic, generated in _live_topics_of(list(tail)):
            row = row_of(topic)
            (row.ai if generated else row.human).add(tail[page_id])
    return sorted(
        (row for row in rows.values() if row.ai_articles),
        key=lambda row: row.topic,
    )


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
    """What the admin report shows: top articles, audiences, AI vs human, models.

    Read from the aggregates (a standard window's ready per-article totals, or
    the daily rows), plus the raw rows since the last aggregation; ranking and
    per-topic sums run in the database.
    """
    since = performance_since(days=days)
    period = PerformancePeriod.objects.filter(
        period_days=days, since_day=since.date()
    ).first()
    if period is not None:
        aggregated = list(
            PerformanceDay.objects.filter(
                day__gte=since.date(), aggregated_until__lte=period.until
            ).values_list("day", flat=True)
        )
        now = timezone.now()
        raw = [(period.until, now)] if period.until < now else []
        rows = PagePeriodPerformance.objects.filter(period_days=days)
        source = (
            PagePeriodPerformance._meta.db_table,
            "d.period_days = %s",
            [days],
        )
    else:
        aggregated, raw = _raw_segments(since=since)
        rows = PageDailyPerformance.objects.filter(day__in=aggregated)
        marks = ", ".join(["%s"] * len(aggregated))
        source = (
            (PageDailyPerformance._meta.db_table, f"d.day IN ({marks})", aggregated)
            if aggregated
            else None
        )
    tail, per_reader = _tail_counts(raw)
    ranked = _top_pages(rows=rows if aggregated else None, tail=tail, top=top)
    pages = ArticlePage.objects.in_bulk([page_id for page_id, _ in ranked])
    return PerformanceReport(
        since=since,
        pages=[
            (pages[page_id], figures) for page_id, figures in ranked if page_id in pages
        ],
        audiences=_audience_figures(aggregated=aggregated, per_reader=per_reader),
        topics=_topic_comparison(source=source, tail=tail),
        models=model_quality_history(),
    )
