"""Event ingestion in batches: validation, readers ensured, duplicates stored once."""

import datetime
import math
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cms.limits import identifier_problem, moment_problem
from cms.selectors import article_live_ids
from recommend.models import Event, Reader
from recommend.serving.candidates import recent_events_note

EVENT_TYPES = frozenset(Event.Type.values)
EVENT_TYPES_LISTED = ", ".join(Event.Type.values)
EVENT_ID_MAX_LENGTH = Event._meta.get_field("event_id").max_length
READER_MAX_LENGTH = Reader._meta.get_field("external_id").max_length
FEED_ID_MAX_LENGTH = Event._meta.get_field("feed_id").max_length


@dataclass(frozen=True)
class EventRejection:
    """Why the event at `index` of the batch was not stored."""

    index: int
    code: str
    message: str
    details: dict = field(default_factory=dict)


@dataclass
class IngestResult:
    """What became of a batch: stored, already known, or refused (and why)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[EventRejection] = field(default_factory=list)


class _CleanEvent(NamedTuple):
    event_id: str
    reader: str
    page: int
    type: str
    value: float
    occurred_at: datetime.datetime
    feed_id: str
    context: dict


class _Invalid(Exception):
    def __init__(self, code: str, message: str, **details) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _text(event: dict, name: str, max_length: int) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise _Invalid(
            f"invalid_{name}", f"'{name}' must be a non-empty string.", field=name
        )
    problem = identifier_problem(value)
    if problem:
        raise _Invalid(f"invalid_{name}", f"'{name}' {problem}.", field=name)
    if len(value) > max_length:
        raise _Invalid(
            f"invalid_{name}",
            f"'{name}' is longer than {max_length} characters.",
            field=name,
            max_length=max_length,
        )
    return value


def _occurred_at(
    raw: object, *, now: datetime.datetime, latest: datetime.datetime
) -> datetime.datetime:
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise _Invalid(
            "invalid_timestamp",
            "'occurred_at' must be an ISO 8601 string.",
            field="occurred_at",
        )
    try:
        moment = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise _Invalid(
            "invalid_timestamp",
            f"'occurred_at' is not an ISO 8601 date-time: {raw[:64]!r}.",
            field="occurred_at",
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time is ambiguous across the client's and the server's zones.
        raise _Invalid(
            "naive_timestamp",
            "'occurred_at' needs a time zone, e.g. '2025-01-31T12:00:00Z'.",
            field="occurred_at",
        )
    problem = moment_problem(moment)
    if problem:
        raise _Invalid(
            "future_timestamp" if "future" in problem else "invalid_timestamp",
            f"'occurred_at' {problem}.",
            field="occurred_at",
            max_future_seconds=settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS,
        )
    return moment


def _event_clean(
    event: object,
    *,
    live_ids: frozenset[int],
    now: datetime.datetime,
    latest: datetime.datetime,
) -> _CleanEvent:
    """One event's fields, checked; raises _Invalid naming the first bad field."""
    if not isinstance(event, dict):
        raise _Invalid("invalid_event", "Each event must be a JSON object.")
    event_id = _text(event, "event_id", EVENT_ID_MAX_LENGTH)
    reader = _text(event, "reader", READER_MAX_LENGTH)
    page = event.get("page")
    if type(page) is not int:
        raise _Invalid(
            "invalid_page", "'page' must be an integer page id.", field="page"
        )
    if page not in live_ids:
        raise _Invalid(
            "unknown_page",
            f"Page {page} is not a live article.",
            field="page",
            page=page,
        )
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        raise _Invalid(
            "invalid_type",
            f"'type' must be one of: {EVENT_TYPES_LISTED}.",
            field="type",
            allowed=list(Event.Type.values),
        )
    value = event.get("value", 1.0)
    # type(), not isinstance(): JSON true/false arrive as bool, a subclass of int.
    largest = settings.RECOMMEND_EVENTS_MAX_VALUE
    if (
        type(value) not in (float, int)
        or not _finite_non_negative(value)
        or value > largest
    ):
        raise _Invalid(
            "invalid_value",
            f"'value' must be a number from 0 to {largest:g}.",
            field="value",
            max_value=largest,
        )
    occurred_at = _occurred_at(event.get("occurred_at"), now=now, latest=latest)
    context = event.get("context")
    if context is None:
        context = {}
    elif not isinstance(context, dict):
        raise _Invalid(
            "invalid_context", "'context' must be a JSON object.", field="context"
        )
    feed_id = context.get("feed_id", "")
    if feed_id is None:
        feed_id = ""
    if not isinstance(feed_id, str) or len(feed_id) > FEED_ID_MAX_LENGTH:
        raise _Invalid(
            "invalid_context",
            f"'context.feed_id' must be a string of at most {FEED_ID_MAX_LENGTH} "
            "characters.",
            field="context.feed_id",
        )
    return _CleanEvent(
        event_id, reader, page, kind, float(value), occurred_at, feed_id, context
    )


def _finite_non_negative(value: float) -> bool:
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:  # an integer too large for a float
        return False


def _readers_locked(external_ids: list[str]) -> dict[str, tuple[int, bool]]:
    """(pk, erased) by external id, row-locked in pk order.

    The lock serialises concurrent batches (and erasures) touching the same
    readers, so the duplicate count read below stays true until the insert.
    """
    rows = (
        Reader.objects.filter(external_id__in=external_ids)
        .order_by("pk")
        .select_for_update()
        .values_list("external_id", "pk", "erased")
    )
    return {external_id: (pk, erased) for external_id, pk, erased in rows}


def _readers_ensure(external_ids: set[str]) -> dict[str, tuple[int, bool]]:
    readers = _readers_locked(list(external_ids))
    # Sorted, so that two batches inserting the same new readers wait for each
    # other in the same order instead of deadlocking.
    missing = sorted(external_ids.difference(readers))
    if missing:
        # Another batch may create the same reader meanwhile: ignore the conflict
        # and read back whichever row won.
        Reader.objects.bulk_create(
            [Reader(external_id=external_id) for external_id in missing],
            ignore_conflicts=True,
        )
        readers.update(_readers_locked(missing))
    return readers


def _pairs_stored(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (reader pk, event id) pairs are stored already: one index probe each.

    The batch is joined as a list of pairs because `reader_id IN (...) AND
    event_id IN (...)` makes SQLite probe every combination, a million for a full
    batch. PostgreSQL gets the pairs as two arrays: quoting thousands of separate
    parameters costs more than the query.
    """
    if not pairs:
        return set()
    join = (
        f"JOIN {Event._meta.db_table} stored ON stored.reader_id = batch.reader_id "
        "AND stored.event_id = batch.event_id"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            readers, event_ids = zip(*pairs, strict=True)
            cursor.execute(
                "SELECT stored.reader_id, stored.event_id FROM "
                "unnest(%s::bigint[], %s::text[]) AS batch (reader_id, event_id) "
                + join,
                [list(readers), list(event_ids)],
            )
            return set(cursor.fetchall())
        stored: set[tuple[int, str]] = set()
        chunk = max(1, (connection.features.max_query_params or 999) // 2)
        for start in range(0, len(pairs), chunk):
            part = pairs[start : start + chunk]
            values = ", ".join(["(%s, %s)"] * len(part))
            cursor.execute(
                f"WITH batch (reader_id, event_id) AS (VALUES {values}) "
                f"SELECT stored.reader_id, stored.event_id FROM batch {join}",
                [value for pair in part for value in pair],
            )
            stored.update(cursor.fetchall())
        return stored


@transaction.atomic
def event_batch_ingest(*, events: list) -> IngestResult:
    """Validate each event on its own and store the valid, new ones in one insert.

    An event whose (reader, event_id) is already stored, or repeats an earlier one
    in the batch, is counted as a duplicate and not stored again; an event for an
    erased reader is rejected. Readers are created on their first event.
    """
    result = IngestResult()
    live_ids = article_live_ids()
    now = timezone.now()
    latest = now + datetime.timedelta(
        seconds=settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS
    )
    cleaned: list[tuple[int, _CleanEvent]] = []
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        try:
            row = _event_clean(event, live_ids=live_ids, now=now, latest=latest)
        except _Invalid as invalid:
            result.rejected.append(
                EventRejection(index, invalid.code, invalid.message, invalid.details)
            )
            continue
        key = (row.reader, row.event_id)
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        cleaned.append((index, row))
    if not cleaned:
        return result

    readers = _readers_ensure({row.reader for _, row in cleaned})
    stored = _pairs_stored(
        [
            (readers[row.reader][0], row.event_id)
            for _, row in cleaned
            if not readers[row.reader][1]
        ]
    )
    new_events: list[Event] = []
    for index, row in cleaned:
        reader_pk, erased = readers[row.reader]
        if erased:
            result.rejected.append(
                EventRejection(
                    index,
                    "reader_erased",
                    "This reader has been erased; their events are not kept.",
                    {"field": "reader"},
                )
            )
            continue
        if (reader_pk, row.event_id) in stored:
            result.duplicates += 1
            continue
        new_events.append(
            Event(
                reader_id=reader_pk,
                page_id=row.page,
                type=row.type,
                value=row.value,
                occurred_at=row.occurred_at,
                event_id=row.event_id,
                feed_id=row.feed_id,
                context=row.context,
            )
        )
    Event.objects.bulk_create(new_events, ignore_conflicts=True)
    if new_events:
        # After commit: the feed's read-your-writes note and a debounced refresh
        # of these readers' candidate lists.
        noted = [
            (row.reader, readers[row.reader][0], row.page, row.type)
            for _, row in cleaned
            if not readers[row.reader][1]
        ]
        transaction.on_commit(lambda: recent_events_note(events=noted))
    result.accepted = len(new_events)
    result.rejected.sort(key=lambda rejection: rejection.index)
    return result
