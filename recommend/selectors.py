"""Reads of the recommend app: events as arrays for the engine, model versions."""

import datetime

import numpy as np
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from recommend.engine.matrix import EVENT_CODES, InteractionArrays
from recommend.models import Event, ModelVersion

_FETCH_ROWS = 100_000
# Rows of the event read; numpy converts each fetched chunk of tuples in C.
_EVENT_ROW = np.dtype(
    [
        ("reader", np.int64),
        ("item", np.int64),
        ("code", np.int8),
        ("value", np.float32),
        ("stamp", np.float64),
    ]
)
_PACKED_EVENT_ROW = np.dtype(
    [("key", np.int64), ("value", np.float32), ("stamp", np.float64)]
)
_CODE_BITS = 3  # event codes 0..5, and 7 for a type the engine does not know
_UNKNOWN_CODE = 2**_CODE_BITS - 1
# Bumped by every promotion; serving processes reload their model when it moves.
MODEL_VERSION_STAMP_KEY = "recommend:model-version"
# Set by a serving process that could not load the active model's artifact.
MODEL_ARTIFACT_PROBLEM_KEY = "recommend:model-artifact-problem"


def event_interaction_arrays(
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    after_id: int | None = None,
    through_id: int | None = None,
) -> InteractionArrays:
    """Every event in the window as parallel numpy arrays, read in one pass.

    The window is on occurred_at (``since``/``until``) and/or on the row id
    (``after_id`` < id <= ``through_id``, for incremental reads). Goes through
    a plain cursor with fetchmany: building millions of model instances (or
    even values_list tuples) would cost more than the training. Erased readers
    have no events left, so nothing filters them here.
    """
    table = Event._meta.db_table
    where, params = [], []
    if since is not None:
        where.append("occurred_at >= %s")
        params.append(since)
    if until is not None:
        where.append("occurred_at <= %s")
        params.append(until)
    if after_id is not None:
        where.append("id > %s")
        params.append(int(after_id))
    if through_id is not None:
        where.append("id <= %s")
        params.append(int(through_id))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    # Seconds since the epoch computed by the database: no datetime objects per row.
    if connection.vendor == "postgresql":
        # date_part computes in float8; EXTRACT goes through numeric (2x the scan).
        epoch = "date_part('epoch', occurred_at)"
    else:
        # A malformed stored time reads as NULL: 0 (1970), clamped below.
        epoch = "COALESCE((julianday(occurred_at) - 2440587.5) * 86400.0, 0.0)"
    # The type's engine code is computed by the database too: a Python lookup per
    # row doubled the read time. Unknown types come back as -1 (build_matrix
    # refuses them).
    code = " ".join(
        f"WHEN '{name}' THEN {number}" for name, number in EVENT_CODES.items()
    )
    code = f"CASE type {code} ELSE {_UNKNOWN_CODE} END"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(reader_id), MAX(page_id) FROM {table}")
        max_reader, max_page = (int(value or 0) for value in cursor.fetchone())
        reader_shift = _CODE_BITS + max_page.bit_length()
        if reader_shift + max_reader.bit_length() <= 62:
            # Every fetched value becomes a Python object, and this read is the
            # largest cost of training after the fit: reader, page and type travel
            # packed in one integer. Rows past the maxima (inserted since) are
            # left out, so that the packing stays exact.
            key = (
                f"CAST(reader_id AS BIGINT) * {2**reader_shift} "
                f"+ CAST(page_id AS BIGINT) * {2**_CODE_BITS} + {code}"
            )
            # Unary plus keeps SQLite from walking an index instead of the table.
            bounds = [f"+reader_id <= {max_reader}", f"+page_id <= {max_page}"]
            sql = (
                f"SELECT {key}, value, {epoch} FROM {table} "
                f"WHERE {' AND '.join([*where, *bounds])}"
            )
            cursor.execute(sql, params)
            events = _fetched(cursor, _PACKED_EVENT_ROW)
            keys = events["key"]
            reader_ids = keys >> reader_shift
            item_ids = (keys >> _CODE_BITS) & ((1 << max_page.bit_length()) - 1)
            codes = (keys & _UNKNOWN_CODE).astype(np.int8)
        else:
            columns = f"reader_id, page_id, {code}, value, {epoch}"
            cursor.execute(f"SELECT {columns} FROM {table}{clause}", params)
            events = _fetched(cursor, _EVENT_ROW)
            reader_ids, item_ids = events["reader"], events["item"]
            codes = events["code"]
    codes[codes == _UNKNOWN_CODE] = -1
    ceiling = (until or timezone.now()).timestamp()
    return InteractionArrays(
        reader_ids=np.ascontiguousarray(reader_ids),
        item_ids=np.ascontiguousarray(item_ids),
        event_types=np.ascontiguousarray(codes),
        values=np.ascontiguousarray(
            np.clip(np.nan_to_num(events["value"], nan=0.0, posinf=0.0), 0.0, None)
        ),
        timestamps=event_timestamps_clamp(events["stamp"], ceiling=ceiling),
    )


def event_timestamps_clamp(stamps: np.ndarray, *, ceiling: float) -> np.ndarray:
    """Event times (Unix seconds) forced into [1970, ceiling].

    The ingestion paths refuse times outside that window, but rows written
    before they did (or by hand) must not stop training or serving: a time the
    database cannot read (NaN) counts as 1970, one in the future as now.
    """
    stamps = np.nan_to_num(
        np.asarray(stamps, dtype=np.float64), nan=0.0, posinf=ceiling, neginf=0.0
    )
    return np.ascontiguousarray(np.clip(stamps, 0.0, ceiling))


def _fetched(cursor, row: np.dtype) -> np.ndarray:
    chunks = []
    while rows := cursor.fetchmany(_FETCH_ROWS):
        chunks.append(np.array(rows, dtype=row))
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=row)


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def model_version_stamp() -> object:
    """The shared stamp of the active model: it changes whenever one is promoted."""
    return caches["shared"].get(MODEL_VERSION_STAMP_KEY)


def model_artifact_problem() -> dict | None:
    """Why the active model's artifact cannot be loaded, if a process found it so.

    {"version": pk, "error": text}; None when serving loads it (or has not tried),
    or when the broken version is no longer the active one.
    """
    problem = caches["shared"].get(MODEL_ARTIFACT_PROBLEM_KEY)
    if not problem:
        return None
    active = model_version_active()
    if active is None or active.pk != problem["version"]:
        return None
    return problem


def event_id_largest() -> int:
    """The largest event id (0 without events): one index look-up."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {Event._meta.db_table}")
        return int(cursor.fetchone()[0] or 0)


def event_count_through(*, through_id: int) -> int:
    """How many events have an id <= through_id."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {Event._meta.db_table} WHERE id <= %s",
            [through_id],
        )
        return int(cursor.fetchone()[0])


def event_row_fingerprint(*, event_id: int) -> list[int]:
    """[reader_id, page_id] of one event row, [] when it does not exist."""
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reader_id, page_id FROM {table} WHERE id = %s", [event_id]
        )
        row = cursor.fetchone()
    return [] if row is None else [int(row[0]), int(row[1])]
