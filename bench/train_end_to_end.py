"""Training: database to promoted model, against the bare implicit fit.

Run from the repository root:

    .venv/bin/python bench/train_end_to_end.py \
        [--readers 100000 --items 50000 --events 5000000] [--database-url URL]

Without --database-url it uses a SQLite file in /tmp named after the sizes, and
loads it once: a later run with the same sizes reuses the data (--fresh reloads).
Loading: one real ArticlePage is made through Wagtail, then the other items are
copies of its rows inserted in bulk into wagtailcore_page and cms_articlepage with
their own treebeard paths, slugs, url paths and translation keys (Wagtail's
add_child would take ~20 ms per page); readers go in with bulk_create, and the
simulated events (recommend/engine/simulate.py) with one executemany per batch.

Then it times, on the same data:
  (a) `model_version_train(algorithm="als")` end to end, with no model yet (the
      first training) and again with that model active (a scheduled retraining,
      which also scores the active model);
  (b) the bare implicit ALS fit with the same parameters and the same one-thread
      BLAS limit, on the full matrix built in-process from the same events.
Prints human lines, then one JSON line.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.25
BATCH_ROWS = 50_000
EVENT_DAYS = 30


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--topics", type=int, default=40)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--database-url",
        help="database to use (it is migrated); default: a SQLite file in /tmp",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="drop the default SQLite file first"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed rounds (median reported)"
    )
    parser.add_argument(
        "--new-events",
        type=int,
        default=50_000,
        help="events arriving between the first training and the retraining "
        "(default 50,000: 1%% of 5M), removed again after each repeat",
    )
    return parser.parse_args()


def _django_setup(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DEBUG", "false")  # DEBUG would keep every query in memory
    os.environ.setdefault(
        "MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "bench-train-media")
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)


def _sqlite_tune() -> None:
    """Loading speed only: the bench database is disposable."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB of page cache


def _pages_ensure(count: int):
    """``count`` live articles under one section; returns their page ids."""
    import numpy as np
    from django.db import connection, transaction
    from wagtail.models import Page

    from cms.models import ArticlePage
    from cms.services import home_page_ensure, section_ensure

    section = section_ensure(home=home_page_ensure(), slug="bench", title="Bench")
    existing = list(
        ArticlePage.objects.child_of(section)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(existing) >= count:
        return np.array(existing[:count], dtype=np.int64)
    if not existing:
        template = ArticlePage(
            title="Bench article 0",
            slug="bench-article-0",
            standfirst="A placeholder article for the training benchmark.",
            live=True,
        )
        section.add_child(instance=template)
        existing = [template.pk]
    section.refresh_from_db()
    quote = connection.ops.quote_name
    translation_key = Page._meta.get_field("translation_key")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM wagtailcore_page WHERE id = %s", [existing[0]])
        page_columns = [column[0] for column in cursor.description]
        page_row = dict(zip(page_columns, cursor.fetchone(), strict=True))
        cursor.execute(
            "SELECT * FROM cms_articlepage WHERE page_ptr_id = %s", [existing[0]]
        )
        article_columns = [column[0] for column in cursor.description]
        article_row = dict(zip(article_columns, cursor.fetchone(), strict=True))
        cursor.execute("SELECT MAX(id) FROM wagtailcore_page")
        next_id = cursor.fetchone()[0] + 1
        first_step = section.numchild + 1
        new_ids = list(range(next_id, next_id + count - len(existing)))
        page_rows, article_rows = [], []
        for offset, page_id in enumerate(new_ids):
            number = len(existing) + offset
            slug = f"bench-article-{number}"
            page_rows.append(
                {
                    **page_row,
                    "id": page_id,
                    "path": Page._get_path(
                        section.path, section.depth + 1, first_step + offset
                    ),
                    "numchild": 0,
                    "title": f"Bench article {number}",
                    "draft_title": f"Bench article {number}",
                    "slug": slug,
                    "url_path": f"{section.url_path}{slug}/",
                    "translation_key": translation_key.get_db_prep_value(
                        uuid.uuid4(), connection
                    ),
                    "latest_revision_id": None,
                    "live_revision_id": None,
                }
            )
            article_rows.append({**article_row, "page_ptr_id": page_id})
        for table, columns, rows in (
            ("wagtailcore_page", page_columns, page_rows),
            ("cms_articlepage", article_columns, article_rows),
        ):
            sql = (
                f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})"
            )
            for start in range(0, len(rows), BATCH_ROWS):
                cursor.executemany(
                    sql,
                    [
                        [row[column] for column in columns]
                        for row in rows[start : start + BATCH_ROWS]
                    ],
                )
        cursor.execute(
            "UPDATE wagtailcore_page SET numchild = %s WHERE id = %s",
            [section.numchild + len(new_ids), section.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('wagtailcore_page', 'id'), "
                "(SELECT MAX(id) FROM wagtailcore_page))"
            )
    return np.array(existing + new_ids, dtype=np.int64)


def _readers_ensure(count: int):
    import numpy as np

    from recommend.models import Reader

    have = Reader.objects.filter(external_id__startswith="bench-").count()
    if have < count:
        Reader.objects.bulk_create(
            [Reader(external_id=f"bench-{index}") for index in range(have, count)],
            batch_size=5_000,
        )
    pks = Reader.objects.filter(external_id__startswith="bench-").values_list(
        "external_id", "pk"
    )
    by_index = {int(name.removeprefix("bench-")): pk for name, pk in pks}
    return np.array([by_index[index] for index in range(count)], dtype=np.int64)


def _events_load(
    *,
    page_ids,
    reader_pks,
    events: int,
    topics: int,
    seed: int,
    progress=None,
    prefix: str = "bench-",
    quiet: bool = False,
) -> float:
    """Simulated events inserted with executemany; returns the seconds taken.

    ``progress(rows)`` is called after each inserted batch (a tqdm bar's update).
    """
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from recommend.engine.matrix import EVENT_TYPES
    from recommend.engine.simulate import simulate_readers
    from recommend.models import Event

    rng = np.random.default_rng(seed)
    item_topics = [
        rng.choice(topics, size=int(rng.integers(1, 3)), replace=False).tolist()
        for _ in range(len(page_ids))
    ]
    end = timezone.now().timestamp() - 3600
    started = time.perf_counter()
    simulated = simulate_readers(
        item_topics,
        n_topics=topics,
        n_readers=len(reader_pks),
        n_events=events,
        seed=seed,
        start=end - EVENT_DAYS * 86_400,
        end=end,
        item_ids=page_ids,
    )
    interactions = simulated.interactions
    if not quiet:
        print(f"simulated {events:,} events in {time.perf_counter() - started:.1f} s")

    names = np.array(EVENT_TYPES)[interactions.event_types]
    readers = reader_pks[interactions.reader_ids]
    if connection.vendor == "sqlite":
        # Django keeps aware datetimes in SQLite as naive UTC text.
        micros = np.round(interactions.timestamps * 1e6).astype("datetime64[us]")
        occurred = np.char.replace(
            np.datetime_as_string(micros, unit="us"), "T", " "
        ).tolist()
    else:
        import datetime

        occurred = [
            datetime.datetime.fromtimestamp(moment, datetime.UTC)
            for moment in interactions.timestamps.tolist()
        ]
    received = Event._meta.get_field("received_at").get_db_prep_save(
        timezone.now(), connection
    )
    context = Event._meta.get_field("context").get_db_prep_save({}, connection)
    quote = connection.ops.quote_name
    columns = [
        "reader_id",
        "page_id",
        "type",
        "value",
        "occurred_at",
        "received_at",
        "event_id",
        "feed_id",
        "context",
    ]
    sql = (
        f"INSERT INTO {quote(Event._meta.db_table)} "
        f"({', '.join(quote(column) for column in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    started = time.perf_counter()
    for start in range(0, events, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, events)
        rows = zip(
            readers[start:stop].tolist(),
            interactions.item_ids[start:stop].tolist(),
            names[start:stop].tolist(),
            interactions.values[start:stop].astype(np.float64).tolist(),
            occurred[start:stop],
            [received] * (stop - start),
            [f"{prefix}{index}" for index in range(start, stop)],
            [""] * (stop - start),
            [context] * (stop - start),
            strict=True,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, list(rows))
        if progress is not None:
            progress(stop - start)
        elif not quiet and (stop % 1_000_000 < BATCH_ROWS or stop == events):
            print(f"  loaded {stop:,} events ({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


def _train_end_to_end() -> tuple[float, object]:
    from django.db import connection

    from recommend.training.service import model_version_train

    connection.close()  # the run opens its own, as a worker's task would
    started = time.perf_counter()
    version = model_version_train(algorithm="als")
    return time.perf_counter() - started, version


def _versions_clear() -> None:
    """Back to "no model yet", artifacts and the event snapshot included."""
    from recommend.events.snapshot import event_snapshot_discard
    from recommend.models import ModelVersion

    event_snapshot_discard()
    for version in ModelVersion.objects.all():
        if version.artifact:
            version.artifact.delete(save=False)
    ModelVersion.objects.all().delete()


def _bare_matrix():
    """The full matrix of the same events, built in-process (not timed)."""
    from django.conf import settings
    from django.utils import timezone

    from recommend.engine.matrix import build_matrix
    from recommend.selectors import event_interaction_arrays

    now = timezone.now()
    return build_matrix(
        event_interaction_arrays(until=now),
        weights=settings.RECOMMEND_EVENT_WEIGHTS,
        half_life_days=settings.RECOMMEND_HALF_LIFE_DAYS,
        now=now.timestamp(),
        read_full_seconds=settings.RECOMMEND_READ_FULL_SECONDS,
    ).matrix


def _bare_fit(matrix, params: dict) -> float:
    """Only implicit's fit, with the service's parameters and BLAS limit."""
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=int(params["factors"]),
            regularization=float(params["regularization"]),
            alpha=float(params["alpha"]),
            iterations=int(params["iterations"]),
            dtype=np.float32,
            random_state=42,
        )
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        return time.perf_counter() - started


def main() -> None:
    arguments = _arguments()
    database_url = arguments.database_url
    if not database_url:
        name = f"bench-train-{arguments.readers}x{arguments.items}x{arguments.events}"
        path = Path(tempfile.gettempdir()) / f"{name}.sqlite3"
        if arguments.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    _django_setup(database_url)

    from django.db import connection

    from recommend.engine.train import DEFAULT_PARAMS
    from recommend.models import Event

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    _sqlite_tune()
    started = time.perf_counter()
    page_ids = _pages_ensure(arguments.items)
    print(f"items: {len(page_ids):,} pages ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    reader_pks = _readers_ensure(arguments.readers)
    print(f"readers: {len(reader_pks):,} ({time.perf_counter() - started:.1f} s)")
    Event.objects.filter(event_id__startswith="new-").delete()
    stored = Event.objects.filter(event_id__startswith="bench-").count()
    if stored != arguments.events:
        Event.objects.all().delete()
        seconds = _events_load(
            page_ids=page_ids,
            reader_pks=reader_pks,
            events=arguments.events,
            topics=arguments.topics,
            seed=arguments.seed,
        )
        print(f"events: {arguments.events:,} loaded in {seconds:.0f} s")
    else:
        print(f"events: {stored:,} already loaded")

    params = DEFAULT_PARAMS["als"]
    matrix = _bare_matrix()
    print(
        f"matrix: {matrix.shape[0]:,} readers x {matrix.shape[1]:,} items, "
        f"{matrix.nnz:,} interactions; ALS {params}"
    )
    # Each repeat runs the three timings back to back, so that a machine shared
    # with other work slows them alike; the ratios are taken per repeat.
    repeats = []
    for number in range(1, arguments.repeats + 1):
        _versions_clear()
        runs = {}
        for label in ("first", "with_active"):
            if label == "with_active" and arguments.new_events:
                _events_load(
                    page_ids=page_ids,
                    reader_pks=reader_pks,
                    events=arguments.new_events,
                    topics=arguments.topics,
                    seed=arguments.seed + number,
                    prefix=f"new-{number}-",
                    quiet=True,
                )
            seconds, version = _train_end_to_end()
            runs[label] = {
                "seconds": round(seconds, 2),
                "status": version.status,
                "stages": version.metrics["seconds"],
                "event_read": version.metrics.get("event_read"),
                "ndcg": {
                    name: (version.metrics[name] or {}).get("ndcg")
                    for name in ("candidate", "active", "popular")
                },
            }
        Event.objects.filter(event_id__startswith="new-").delete()
        fit_seconds = _bare_fit(matrix, params)
        for run in runs.values():
            run["ratio"] = round(run["seconds"] / fit_seconds, 3)
        repeats.append({"bare_fit_seconds": round(fit_seconds, 2), **runs})
        print(f"repeat {number}: bare fit {fit_seconds:.1f} s")
        for label, run in runs.items():
            print(
                f"  {label.replace('_', ' ')}: {run['seconds']:.1f} s "
                f"(ratio {run['ratio']:.2f}), {run['status']}, stages {run['stages']}"
            )

    def median(values: list[float]) -> float:
        return round(float(statistics.median(values)), 3)

    labels = ("first", "with_active")
    summary = {
        label: median([repeat[label]["ratio"] for repeat in repeats])
        for label in labels
    }
    # Fastest against fastest: on a shared machine the least disturbed runs.
    fastest_fit = min(repeat["bare_fit_seconds"] for repeat in repeats)
    best = {
        label: round(
            min(repeat[label]["seconds"] for repeat in repeats) / fastest_fit, 3
        )
        for label in labels
    }
    for name, ratios in (("median", summary), ("best-of", best)):
        print(
            f"{name} ratio: first training {ratios['first']:.2f}, retraining with "
            f"an active model {ratios['with_active']:.2f} (target <= {TARGET})"
        )
    print(
        json.dumps(
            {
                "bench": "train_end_to_end",
                "database": connection.vendor,
                "readers": arguments.readers,
                "items": arguments.items,
                "events": arguments.events,
                "matrix": {
                    "readers": matrix.shape[0],
                    "items": matrix.shape[1],
                    "nnz": matrix.nnz,
                },
                "params": params,
                "bare_fit_seconds": median([r["bare_fit_seconds"] for r in repeats]),
                "ratio_first": summary["first"],
                "ratio_with_active": summary["with_active"],
                "best_of_ratio_first": best["first"],
                "best_of_ratio_with_active": best["with_active"],
                "ratio": max(summary.values()),
                "target": TARGET,
                "repeats": repeats,
            }
        )
    )


if __name__ == "__main__":
    main()
