"""Bulk writes of interactions: rating/interaction files and simulated traffic.

Both go through ``event_rows_insert``: one prepared INSERT that skips rows whose
(reader, event_id) is already stored, run over large batches. Building millions
of ``Event`` instances for ``bulk_create`` would cost more than the insert.
"""

import datetime
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.text import slugify

from cms.limits import identifier_problem
from cms.models import ArticlePage
from cms.services import home_page_ensure, live_content_touch, section_ensure
from recommend.events.files import InteractionFile, interaction_file_read
from recommend.models import Event, Reader

# Rows per transaction: on SQLite in WAL mode every commit rewrites each page
# it touched, so fewer, larger commits load 1M events ~2x faster than 20k rows.
EVENT_BATCH_ROWS = 100_000
# Page cache for the bulk insert on SQLite (KiB, negative as PRAGMA takes it):
# random-order index inserts thrash the default 2 MB cache (1M events: 65 s
# with the default, 26 s with this).
_SQLITE_BULK_CACHE_KIB = 262_144
# Keeps every `IN (...)` under SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 900
READER_MAX_LENGTH = Reader._meta.get_field("external_id").max_length
ITEM_MAX_LENGTH = ArticlePage._meta.get_field("external_id").max_length
IMPORTED_SECTION_SLUG = "imported-items"
IMPORTED_SECTION_TITLE = "Imported items"
# On a 1-5 star scale, 4 and 5 are the ratings that mean "liked it".
LIKE_FROM_RATING = 4.0
VALUE_MEANINGS = ("rating", "weight")
# Characters no id may hold: C0/C1 controls and DEL (the file is valid UTF-8, so
# no lone surrogate gets this far).
_ID_SUSPECT = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], Progress]


class _NoProgress:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def progress_none(total: int, description: str) -> Progress:
    return _NoProgress()


def _datetime_params(seconds: np.ndarray) -> list:
    """Database parameters for DateTimeField values given as Unix seconds.

    Text in numpy for the two embedded/production backends (~20x faster than a
    datetime object per row): SQLite stores Django's aware datetimes as naive
    UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]", and PostgreSQL's COPY parses ISO
    text with an offset. Other backends get datetime objects.
    """
    seconds = np.asarray(seconds, dtype=np.float64)
    if connection.vendor not in ("sqlite", "postgresql"):
        return [
            datetime.datetime.fromtimestamp(second, tz=datetime.UTC)
            for second in seconds.tolist()
        ]
    micros = np.round(seconds * 1e6).astype("datetime64[us]")
    text = np.char.replace(np.datetime_as_string(micros, unit="us"), "T", " ")
    if connection.vendor == "sqlite":
        return np.char.replace(text, ".000000", "").tolist()
    return np.char.add(text, "+00:00").tolist()


_EVENT_COLUMNS = (
    "reader",
    "page",
    "type",
    "value",
    "occurred_at",
    "received_at",
    "event_id",
    "feed_id",
    "context",
)


def _rows_insert(rows: list[tuple]) -> int:
    """Insert one batch of rows (in _EVENT_COLUMNS order) ignoring conflicts.

    Returns the rows inserted; both backends leave ignored conflicts uncounted.
    """
    fields = [Event._meta.get_field(name) for name in _EVENT_COLUMNS]
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"{connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)} "
                f"{table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
                + connection.ops.on_conflict_suffix_sql(
                    fields, OnConflict.IGNORE, [], []
                ),
                rows,
            )
            return max(cursor.rowcount, 0)
        # COPY into a scratch table, then one INSERT ... SELECT: per-row INSERTs,
        # even pipelined, spend more time in the client than the server does.
        cursor.execute(
            f"CREATE TEMPORARY TABLE recommend_event_load ON COMMIT DROP AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(
            f"COPY recommend_event_load ({columns}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "
            "FROM recommend_event_load ON CONFLICT DO NOTHING"
        )
        inserted = cursor.rowcount
        # Dropped now, not only on commit: inside an outer transaction (a
        # caller's atomic block, a test) the next batch would still find it.
        cursor.execute("DROP TABLE recommend_event_load")
        return max(inserted, 0)


def event_rows_insert(
    *,
    reader_ids: np.ndarray,
    page_ids: np.ndarray,
    event_types: np.ndarray,
    values: np.ndarray,
    timestamps: np.ndarray,
    event_ids: Callable[[int, int], list[str]],
    feed_ids: np.ndarray | None = None,
    progress: ProgressFactory = progress_none,
    description: str = "Events",
    batch_rows: int = EVENT_BATCH_ROWS,
) -> int:
    """Insert events, skipping any (reader, event_id) already stored; return count.

    Parallel arrays, one entry per event (``event_types`` as names,
    ``timestamps`` in Unix seconds); ``event_ids(start, stop)`` gives the ids of
    rows start..stop, so millions of id strings never exist at once;
    ``feed_ids`` (optional) is the feed id each event answers. Each batch
    commits on its own so that other writers (the events API) are not held up
    for the whole run; a run cut short is completed by running it again.
    """
    total = len(reader_ids)
    (received_at,) = _datetime_params(np.array([timezone.now().timestamp()]))
    # "{}" is the JSON text of an empty context on every backend.
    empty_context = "{}"
    bar = progress(total, description)
    inserted = 0
    restore_cache = _sqlite_cache_enlarge()
    try:
        for start in range(0, total, batch_rows):
            stop = min(start + batch_rows, total)
            count = stop - start
            rows = zip(
                np.asarray(reader_ids[start:stop], dtype=np.int64).tolist(),
                np.asarray(page_ids[start:stop], dtype=np.int64).tolist(),
                np.asarray(event_types[start:stop], dtype=np.str_).tolist(),
                np.asarray(values[start:stop], dtype=np.float64).tolist(),
                _datetime_params(timestamps[start:stop]),
                [received_at] * count,
                event_ids(start, stop),
                [""] * count if feed_ids is None else list(feed_ids[start:stop]),
                [empty_context] * count,
                strict=True,
            )
            with transaction.atomic():
                inserted += _rows_insert(list(rows))
            bar.update(count)
    finally:
        bar.close()
        restore_cache()
    return inserted


def _sqlite_cache_enlarge() -> Callable[[], None]:
    """Give this SQLite connection a large page cache; returns the undo."""
    if connection.vendor != "sqlite":
        return lambda: None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{_SQLITE_BULK_CACHE_KIB}")

    def restore() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")

    return restore


@dataclass
class ReaderRows:
    """Reader pk and erased flag per requested external id, and how many are new."""

    pks: np.ndarray  # int64
    erased: np.ndarray  # bool
    created: int


def _readers_by_external_id(external_ids: list[str]) -> dict[str, tuple[int, bool]]:
    found: dict[str, tuple[int, bool]] = {}
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        rows = Reader.objects.filter(
            external_id__in=external_ids[start : start + _LOOKUP_CHUNK]
        ).values_list("external_id", "pk", "erased")
        found.update((external_id, (pk, erased)) for external_id, pk, erased in rows)
    return found


def reader_rows_ensure(*, external_ids: np.ndarray) -> ReaderRows:
    """Readers for the given external ids (repeats allowed), creating missing ones."""
    unique, inverse = np.unique(
        np.asarray(external_ids, dtype=np.str_), return_inverse=True
    )
    wanted = unique.tolist()
    known = _readers_by_external_id(wanted)
    missing = [external_id for external_id in wanted if external_id not in known]
    before = Reader.objects.count() if missing else 0
    for start in range(0, len(missing), 5_000):
        # Another writer may create the same reader meanwhile: ignore the
        # conflict and read back whichever row won.
        Reader.objects.bulk_create(
            [Reader(external_id=name) for name in missing[start : start + 5_000]],
            ignore_conflicts=True,
        )
    created = Reader.objects.count() - before if missing else 0
    known.update(_readers_by_external_id(missing))
    pks = np.array([known[name][0] for name in wanted], dtype=np.int64)
    erased = np.array([known[name][1] for name in wanted], dtype=bool)
    return ReaderRows(pks=pks[inverse], erased=erased[inverse], created=created)


def _pages_by_external_id(external_ids: list[str]) -> dict[str, int]:
    """Article pk per external id; a live article wins, then the oldest."""
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        rows = (
            ArticlePage.objects.filter(
                external_id__in=external_ids[start : start + _LOOKUP_CHUNK]
            )
            .order_by("-live", "pk")
            .values_list("external_id", "pk")
        )
        for external_id, pk in rows:
            found.setdefault(external_id, pk)
    return found


def item_placeholders_create(
    *, external_ids: list[str], progress: ProgressFactory = progress_none
) -> dict[str, int]:
    """Live placeholder articles for items known only by an external id.

    They go under the "Imported items" section, straight to live with no
    revision (as the synthetic demo articles do), so that a catalogue of
    thousands is made in a minute and can be recommended and evaluated at once.
    Editors can fill them in (title, body, topics) later.
    """
    created: dict[str, int] = {}
    if not external_ids:
        return created
    section = section_ensure(
        home=home_page_ensure(),
        slug=IMPORTED_SECTION_SLUG,
        title=IMPORTED_SECTION_TITLE,
        intro="Placeholder articles for items named in imported interactions.",
    )
    now = timezone.now()
    bar = progress(len(external_ids), "Placeholder items")
    try:
        for start in range(0, len(external_ids), 200):
            with transaction.atomic():
                for external_id in external_ids[start : start + 200]:
                    article = ArticlePage(
                        title=f"Imported item {external_id}"[:255],
                        slug=_placeholder_slug(external_id),
                        standfirst="Placeholder for an item named in imported "
                        "interactions.",
                        attribution="Imported with interactions",
                        external_id=external_id,
                        live=True,
                        first_published_at=now,
                        last_published_at=now,
                    )
                    section.add_child(instance=article)
                    created[external_id] = article.pk
            bar.update(min(200, len(external_ids) - start))
    finally:
        bar.close()
    transaction.on_commit(live_content_touch)
    return created


def _placeholder_slug(external_id: str) -> str:
    # The digest keeps ids that slugify alike ("A b", "a-b") apart.
    digest = hashlib.blake2b(external_id.encode(), digest_size=4).hexdigest()
    return f"item-{slugify(external_id)[:80] or 'x'}-{digest}"


@dataclass
class InteractionImportReport:
    rows: int = 0  # data rows in the file, good and bad
    events_created: int = 0
    duplicates: int = 0  # rows whose event was already stored or repeated
    refused: int = 0  # rows of erased readers: they are never tracked again
    readers_created: int = 0
    items_created: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    delimiter: str = ""
    header: bool = False


def interaction_event_types(
    *, values: np.ndarray, event_type: str | None, value_as: str
) -> np.ndarray:
    """The event type of each row (see README.recommend.md for the mapping)."""
    if event_type is not None:
        return np.full(len(values), event_type)
    if value_as == "rating":
        return np.where(values >= LIKE_FROM_RATING, "like", "view")
    return np.full(len(values), "view")


def interaction_event_ids(
    *, users: np.ndarray, items: np.ndarray, timestamps: np.ndarray
) -> list[str]:
    """Deterministic event id per row: a digest of (user, item, timestamp)."""
    stamps = ["" if math.isnan(stamp) else repr(stamp) for stamp in timestamps.tolist()]
    return [
        "import-"
        + hashlib.blake2b(
            f"{user}\x1f{item}\x1f{stamp}".encode(), digest_size=16
        ).hexdigest()
        for user, item, stamp in zip(
            users.tolist(), items.tolist(), stamps, strict=True
        )
    ]


def _rows_out_of_limits(data: InteractionFile) -> list[tuple[int, str]]:
    """(index, reason) of rows the events API would refuse too.

    Ids with NUL or control characters, negative values, and times before 1970
    or further ahead than RECOMMEND_EVENTS_MAX_FUTURE_SECONDS: stored, they
    would break serving and training for everyone (a year-2100 event dates
    trending; a year -1199 one stops training).
    """
    found: list[tuple[int, str]] = []
    negative = np.flatnonzero(data.values < 0)
    found.extend(
        (index, f"value {float(data.values[index]):g} is negative")
        for index in negative.tolist()
    )
    largest = settings.RECOMMEND_EVENTS_MAX_VALUE
    absurd = np.flatnonzero(~(data.values <= largest) & ~(data.values < 0))
    found.extend(
        (index, f"value {float(data.values[index]):g} is above {largest:g}")
        for index in absurd.tolist()
    )
    latest = timezone.now().timestamp() + settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS
    stamps = data.timestamps
    with np.errstate(invalid="ignore"):
        early = np.flatnonzero(stamps < 0)
        late = np.flatnonzero(stamps > latest)
    found.extend(
        (index, f"timestamp {stamps[index]:.0f} is before 1970-01-01")
        for index in early.tolist()
    )
    found.extend(
        (
            index,
            f"timestamp {stamps[index]:.0f} is in the future (more than "
            f"{settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS} s ahead)",
        )
        for index in late.tolist()
    )
    for column, what in ((data.users, "user"), (data.items, "item")):
        # One pass over all ids finds whether any needs a closer look.
        if not _ID_SUSPECT.search("".join(column.tolist())):
            continue
        for index, value in enumerate(column.tolist()):
            problem = identifier_problem(value)
            if problem:
                found.append((index, f"{what} id {problem}"))
    return found


def interactions_import(
    *,
    path: Path,
    event_type: str | None = None,
    value_as: str = "rating",
    create_missing_items: bool = False,
    progress: ProgressFactory = progress_none,
) -> InteractionImportReport:
    """Store a rating/interaction file as events (idempotent, see the README).

    Raises InteractionFileError when the file cannot be read; bad rows are
    reported and the good ones still imported.
    """
    if event_type is not None and event_type not in Event.Type.values:
        raise ValueError(f"unknown event type {event_type!r}")
    if value_as not in VALUE_MEANINGS:
        raise ValueError(f"unknown --value-as {value_as!r}")
    data = interaction_file_read(path=path)
    report = InteractionImportReport(
        rows=len(data) + len(data.bad_rows),
        delimiter=data.delimiter,
        header=data.header,
    )
    bad_rows = list(data.bad_rows)
    ok = np.ones(len(data), dtype=bool)

    too_long = np.char.str_len(data.users) > READER_MAX_LENGTH
    too_long_item = np.char.str_len(data.items) > ITEM_MAX_LENGTH
    for index in np.flatnonzero(too_long | too_long_item).tolist():
        what = "user" if too_long[index] else "item"
        limit = READER_MAX_LENGTH if too_long[index] else ITEM_MAX_LENGTH
        bad_rows.append(
            (int(data.lines[index]), f"{what} id longer than {limit} characters")
        )
    ok &= ~(too_long | too_long_item)
    for index, reason in _rows_out_of_limits(data):
        if ok[index]:
            ok[index] = False
            bad_rows.append((int(data.lines[index]), reason))

    items, item_inverse = np.unique(data.items, return_inverse=True)
    pages = _pages_by_external_id(items.tolist())
    missing = [
        item
        for item in items[np.unique(item_inverse[ok])].tolist()
        if item not in pages
    ]
    if missing and create_missing_items:
        pages.update(item_placeholders_create(external_ids=missing, progress=progress))
        report.items_created = len(missing)
    page_of_item = np.array(
        [pages.get(item, -1) for item in items.tolist()], dtype=np.int64
    )
    page_ids = page_of_item[item_inverse] if len(data) else np.zeros(0, np.int64)
    unknown = ok & (page_ids < 0)
    for index in np.flatnonzero(unknown).tolist():
        bad_rows.append(
            (
                int(data.lines[index]),
                f"unknown item {str(data.items[index])[:80]!r}: no article has this "
                "external_id (--create-missing-items makes placeholders)",
            )
        )
    ok &= ~unknown
    report.bad_rows = sorted(bad_rows)

    keep = np.flatnonzero(ok)
    readers = reader_rows_ensure(external_ids=data.users[keep])
    report.readers_created = readers.created
    tracked = ~readers.erased
    report.refused = int(readers.erased.sum())
    keep = keep[tracked]

    values = data.values[keep]
    timestamps = data.timestamps[keep]
    event_ids = interaction_event_ids(
        users=data.users[keep], items=data.items[keep], timestamps=timestamps
    )
    # A row without a time happened "some time before the import".
    occurred = np.where(np.isnan(timestamps), timezone.now().timestamp(), timestamps)
    report.events_created = event_rows_insert(
        reader_ids=readers.pks[tracked],
        page_ids=page_ids[keep],
        event_types=interaction_event_types(
            values=values, event_type=event_type, value_as=value_as
        ),
        values=values,
        timestamps=occurred,
        event_ids=lambda start, stop: event_ids[start:stop],
        progress=progress,
    )
    report.duplicates = len(keep) - report.events_created
    return report
