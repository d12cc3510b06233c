"""The editors' performance report at scale: daily aggregates against raw scans.

Run from the repository root:

    .venv/bin/python bench/performance_report.py \
        [--items 50000 --readers 100000 --impressions 5000000 --events 1000000]
    .venv/bin/python bench/performance_report.py --small   # a quick look

Builds its own data once in a SQLite file in /tmp named after the sizes (or uses
--database-url, which it migrates): articles, readers and events through
bench/train_end_to_end.py's loader, then served feed pages (FeedImpression rows of
20 items, spread over 30 days) and eight audiences. Then it aggregates every day
(`performance_aggregate_recent`, what the scheduled job does) and times, on the
same data:
  (a) `performance_report(days=30)`: daily aggregates plus the raw tail since
      the last aggregation (what the admin and the API do now);
  (b) the same figures computed from the raw tables alone (what they did before).
Prints human lines, then one JSON line.
"""

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import train_end_to_end as loader  # noqa: E402 - after the path is set

DAYS = 30
FEED_LENGTH = 20
AUDIENCES = 8


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--impressions", type=int, default=5_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--tail-minutes",
        type=float,
        default=10,
        help="traffic since the last aggregation, in minutes of the loaded rate",
    )
    parser.add_argument("--database-url")
    parser.add_argument(
        "--small",
        action="store_true",
        help="5k items, 10k readers, 200k impressions, 100k events",
    )
    parser.add_argument(
        "--skip-raw", action="store_true", help="do not time the raw baseline"
    )
    arguments = parser.parse_args()
    if arguments.small:
        arguments.items, arguments.readers = 5_000, 10_000
        arguments.impressions, arguments.events = 200_000, 100_000
    return arguments


def _impressions_load(*, page_ids, reader_pks, count: int, seed: int = 7) -> None:
    """FeedImpression rows in one executemany per batch, over the last 30 days."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone
    from tqdm import tqdm

    from recommend.models import FeedImpression

    table = FeedImpression._meta.db_table
    rng = np.random.default_rng(seed)
    now = timezone.now().timestamp()
    # Popular items are shown more: a Zipf-like draw over the catalogue.
    weights = 1.0 / np.arange(1, len(page_ids) + 1) ** 0.8
    weights /= weights.sum()
    sql = (
        f"INSERT INTO {table} (feed_id, reader_id, reader_external_id, page_ids, "
        '"offset", filters, served_at, model_version_id) '
        "VALUES (%s, %s, %s, %s, 0, '{}', %s, NULL)"
    )
    with tqdm(total=count, unit="impression", desc="impressions") as bar:
        for start in range(0, count, loader.BATCH_ROWS):
            size = min(loader.BATCH_ROWS, count - start)
            readers = rng.integers(0, len(reader_pks), size)
            moments = now - rng.random(size) * DAYS * 86_400
            items = rng.choice(len(page_ids), size=(size, FEED_LENGTH), p=weights)
            rows = [
                (
                    f"bench-{start + row}",
                    int(reader_pks[readers[row]]),
                    f"bench-{int(readers[row])}",
                    json.dumps([int(page_ids[i]) for i in items[row]]),
                    datetime.datetime.fromtimestamp(moments[row], datetime.UTC),
                )
                for row in range(size)
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)
            bar.update(size)


def _tail_load(*, page_ids, reader_pks, count: int, since) -> None:
    """Fresh feed impressions served after `since`, with a click on each."""
    import numpy as np
    from django.utils import timezone

    from recommend.models import Event, FeedImpression

    rng = np.random.default_rng(11)
    now = timezone.now()
    span = max((now - since).total_seconds(), 0.001)
    FeedImpression.objects.filter(feed_id__startswith="tail-").delete()
    Event.objects.filter(event_id__startswith="tail-").delete()
    impressions, events = [], []
    for row in range(count):
        moment = since + datetime.timedelta(seconds=float(rng.random()) * span)
        pages = [int(page_ids[i]) for i in rng.integers(0, len(page_ids), FEED_LENGTH)]
        reader = int(reader_pks[int(rng.integers(0, len(reader_pks)))])
        impressions.append(
            FeedImpression(
                feed_id=f"tail-{row}",
                reader_id=reader,
                reader_external_id=str(reader),
                page_ids=pages,
                served_at=moment,
            )
        )
        events.append(
            Event(
                reader_id=reader,
                page_id=pages[0],
                type="view",
                feed_id=f"tail-{row}",
                occurred_at=moment,
                event_id=f"tail-{row}",
            )
        )
    FeedImpression.objects.bulk_create(impressions, batch_size=5000)
    Event.objects.bulk_create(events, batch_size=5000)


def _audiences_ensure(reader_pks) -> None:
    from recommend.models import Audience, ReaderAudience

    if Audience.objects.filter(key__startswith="bench-").exists():
        return
    audiences = Audience.objects.bulk_create(
        [
            Audience(key=f"bench-{n}", name=f"Bench audience {n}", kind="cluster")
            for n in range(AUDIENCES)
        ]
    )
    ReaderAudience.objects.bulk_create(
        [
            ReaderAudience(reader_id=int(pk), audience=audiences[index % AUDIENCES])
            for index, pk in enumerate(reader_pks)
        ],
        batch_size=10_000,
    )


def _timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _raw_report():
    """The report's figures from the raw tables only (the former computation)."""
    from recommend.audiences import performance

    since = performance.performance_since(days=DAYS)
    table, per_reader = performance._raw_counts(since=since, until=None)
    audiences = performance._Membership().figures(per_reader)
    topics = performance.performance_by_topic(since=since, table=table)
    return table, audiences, topics


def main() -> None:
    arguments = _arguments()
    database_url = arguments.database_url
    if not database_url:
        name = (
            f"bench-report-{arguments.items}x{arguments.readers}"
            f"x{arguments.impressions}x{arguments.events}"
        )
        database_url = f"sqlite:///{Path(tempfile.gettempdir()) / name}.sqlite3"
    loader._django_setup(database_url)
    loader._sqlite_tune()

    from django.db import connection

    from recommend.audiences.performance import (
        performance_aggregate_recent,
        performance_report,
    )
    from recommend.models import Event, FeedImpression

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    page_ids = loader._pages_ensure(arguments.items)
    reader_pks = loader._readers_ensure(arguments.readers)
    if Event.objects.filter(event_id__startswith="bench-").count() != arguments.events:
        Event.objects.all().delete()
        loader._events_load(
            page_ids=page_ids,
            reader_pks=reader_pks,
            events=arguments.events,
            topics=40,
            seed=42,
        )
    # Each run adds a tail of impressions after loading: more is still loaded.
    if FeedImpression.objects.count() < arguments.impressions:
        FeedImpression.objects.all().delete()
        _impressions_load(
            page_ids=page_ids, reader_pks=reader_pks, count=arguments.impressions
        )
    _audiences_ensure(reader_pks)
    print(
        f"data: {len(page_ids):,} articles, {len(reader_pks):,} readers, "
        f"{arguments.impressions:,} feed impressions, {arguments.events:,} events"
    )

    started = time.perf_counter()
    days = performance_aggregate_recent(days=DAYS)
    aggregate_seconds = time.perf_counter() - started
    print(f"aggregation: {days} days in {aggregate_seconds:.1f} s (scheduled job)")
    started = time.perf_counter()
    performance_aggregate_recent(days=DAYS)
    refresh_seconds = time.perf_counter() - started
    print(f"refresh of today and yesterday: {refresh_seconds:.1f} s")

    # Traffic since the last aggregation (what the report reads raw): as many
    # feed pages as `--tail-minutes` of the loaded rate.
    from recommend.models import PerformanceDay

    tail = int(arguments.impressions / (DAYS * 24 * 60) * arguments.tail_minutes)
    _tail_load(
        page_ids=page_ids,
        reader_pks=reader_pks,
        count=tail,
        since=PerformanceDay.objects.order_by("-day").first().aggregated_until,
    )
    print(f"tail: {tail:,} feed impressions since the last aggregation")
    report_seconds, report = _timed(
        lambda: performance_report(days=DAYS), arguments.repeats
    )
    print(f"report from aggregates: {report_seconds * 1000:.0f} ms (median)")
    result = {
        "bench": "performance_report",
        "items": len(page_ids),
        "impressions": arguments.impressions,
        "events": arguments.events,
        "report_ms": round(report_seconds * 1000, 1),
        "aggregate_all_days_s": round(aggregate_seconds, 2),
        "aggregate_refresh_s": round(refresh_seconds, 2),
        "target_ms": 1000,
    }
    if not arguments.skip_raw:
        raw_seconds, (table, _, _) = _timed(_raw_report, 1)
        figures = {page: row for page, row in report.pages}
        for page, row in list(figures.items())[:5]:
            raw = table.get(page.pk)
            assert raw is not None and raw.impressions == row.impressions, page.pk
        print(f"report from raw tables: {raw_seconds * 1000:.0f} ms")
        result["raw_report_ms"] = round(raw_seconds * 1000, 1)
        result["speedup"] = round(raw_seconds / report_seconds, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
