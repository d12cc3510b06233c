"""Events ingestion: batches through the real API against a bare bulk insert.

Run from the repository root:

    .venv/bin/python bench/events_ingest.py [--batches 50] [--database-url URL]

Without --database-url it migrates a throwaway SQLite file under /tmp. It creates
~200 live articles, then times batches of 1,000 events POSTed in-process to
/api/v1/events with an API key (auth, throttle, JSON parsing, validation,
duplicate detection, reader creation, insert, response) and, interleaved with
them so both see the same table size, `Event.objects.bulk_create` of equivalent
rows in one transaction per batch. Prints human lines, then one JSON line.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH_SIZE = 1000
ARTICLES = 200
READERS = 20_000
READER_PREFIX = "bench-reader-"
TYPES = ("view", "view", "view", "read", "read", "like", "bookmark", "share")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50, help="batches of 1,000")
    parser.add_argument(
        "--database-url",
        help="database to use (it is migrated); default: a new SQLite file in /tmp",
    )
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _django_setup(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DEBUG", "false")  # DEBUG would keep every query in memory
    # The throttle still runs on every request; it just must not stop the run.
    os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)


def _articles_ensure() -> list[int]:
    from cms.demo import SYNTHETIC_PREFIX, demo_synthetic_add
    from cms.models import ArticlePage
    from cms.selectors import article_live_ids
    from cms.services import home_page_ensure, section_ensure, topic_ensure

    existing = ArticlePage.objects.filter(slug__startswith=SYNTHETIC_PREFIX).count()
    if existing < ARTICLES:
        home = home_page_ensure()
        for slug in ("news", "ideas"):
            section_ensure(home=home, slug=slug, title=slug.title(), intro="")
        for name in ("Science", "Cities", "Music", "Food"):
            topic_ensure(name=name)
        demo_synthetic_add(count=ARTICLES - existing)
    return sorted(article_live_ids())


def _batches(*, pages: list[int], count: int, seed: int) -> list[list[dict]]:
    """Events as a front-end would send them: ISO times, a feed context."""
    import datetime

    generator = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    now = datetime.datetime.now(datetime.UTC)
    batches = []
    for number in range(count):
        batch = []
        for position in range(BATCH_SIZE):
            kind = generator.choice(TYPES)
            seconds = generator.randrange(0, 30 * 86_400)
            batch.append(
                {
                    "event_id": f"{run}-{number}-{position}",
                    "reader": f"{READER_PREFIX}{generator.randrange(READERS)}",
                    "page": generator.choice(pages),
                    "type": kind,
                    "value": float(generator.randrange(5, 300))
                    if kind == "read"
                    else 1.0,
                    "occurred_at": (
                        now - datetime.timedelta(seconds=seconds)
                    ).isoformat(),
                    "context": {
                        "feed_id": f"feed-{generator.randrange(10_000)}",
                        "placement": generator.choice(("home", "article", "email")),
                    },
                }
            )
        batches.append(batch)
    return batches


def _bare_rows(batch: list[dict], *, readers: dict[str, int], tag: str) -> list[tuple]:
    """The same events as ready column values, with fresh event ids."""
    import datetime

    return [
        (
            readers[event["reader"]],
            event["page"],
            event["type"],
            event["value"],
            datetime.datetime.fromisoformat(event["occurred_at"]),
            f"{tag}-{event['event_id']}",
            event["context"]["feed_id"],
            event["context"],
        )
        for event in batch
    ]


def _bare_insert(rows: list[tuple]) -> None:
    from django.db import transaction

    from recommend.models import Event

    with transaction.atomic():
        Event.objects.bulk_create(
            [
                Event(
                    reader_id=reader_id,
                    page_id=page_id,
                    type=kind,
                    value=value,
                    occurred_at=occurred_at,
                    event_id=event_id,
                    feed_id=feed_id,
                    context=context,
                )
                for (
                    reader_id,
                    page_id,
                    kind,
                    value,
                    occurred_at,
                    event_id,
                    feed_id,
                    context,
                ) in rows
            ]
        )


def main() -> None:
    arguments = _arguments()
    database_url = arguments.database_url
    scratch = None
    if not database_url:
        scratch = Path(tempfile.gettempdir()) / f"events-bench-{os.getpid()}.sqlite3"
        database_url = f"sqlite:///{scratch}"
    _django_setup(database_url)

    from django.db import connection
    from rest_framework.test import APIClient

    from cms.models import ApiKey
    from recommend.models import Event, Reader

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    pages = _articles_ensure()
    print(f"live articles: {len(pages)}")
    api_key, key = ApiKey.objects.create_key(
        name="events bench", scopes=["events:write"]
    )
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    # One extra batch each way first, untimed: imports, URL resolving, statements.
    batches = _batches(pages=pages, count=arguments.batches + 1, seed=arguments.seed)
    bodies = [json.dumps({"events": batch}) for batch in batches]
    api_seconds = bare_seconds = 0.0
    accepted = 0
    for number, (batch, body) in enumerate(zip(batches, bodies, strict=True)):
        started = time.perf_counter()
        response = client.post("/api/v1/events", body, content_type="application/json")
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"API answered {response.status_code}: {response.content}")
        result = response.json()
        if result["accepted"] != BATCH_SIZE:
            raise SystemExit(f"batch {number} not fully accepted: {result}")
        readers = dict(
            Reader.objects.filter(
                external_id__in={event["reader"] for event in batch}
            ).values_list("external_id", "pk")
        )
        rows = _bare_rows(batch, readers=readers, tag="bare")
        started_bare = time.perf_counter()
        _bare_insert(rows)
        elapsed_bare = time.perf_counter() - started_bare
        if number:
            api_seconds += elapsed
            bare_seconds += elapsed_bare
            accepted += result["accepted"]

    events = arguments.batches * BATCH_SIZE
    api_rate = events / api_seconds
    bare_rate = events / bare_seconds
    ratio = api_rate / bare_rate
    print(f"events table now: {Event.objects.count():,} rows")
    print(f"API:  {events:,} events in {api_seconds:.2f} s = {api_rate:,.0f} events/s")
    print(
        f"bare: {events:,} events in {bare_seconds:.2f} s = {bare_rate:,.0f} events/s"
    )
    print(f"ratio api/bare: {ratio:.2f} (target >= 0.5)")
    if scratch is not None:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    else:
        # A database we were given: take our readers, events and key away again
        # (the articles stay, for the next run).
        Event.objects.filter(reader__external_id__startswith=READER_PREFIX).delete()
        Reader.objects.filter(external_id__startswith=READER_PREFIX).delete()
        api_key.delete()
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "batches": arguments.batches,
                "batch_size": BATCH_SIZE,
                "api_events_per_s": round(api_rate, 1),
                "bulk_events_per_s": round(bare_rate, 1),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
