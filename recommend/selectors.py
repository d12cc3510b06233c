"""Reads of the recommend app: events as arrays for the engine, model versions."""

import datetime

import numpy as np
from django.db import connection

from recommend.engine.matrix import EVENT_CODES, InteractionArrays
from recommend.models import Event, ModelVersion

_FETCH_ROWS = 100_000


def event_interaction_arrays(
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> InteractionArrays:
    """Every event in the window as parallel numpy arrays, read in one pass.

    Goes through a plain cursor with fetchmany: building millions of model
    instances (or even values_list tuples) would cost more than the training.
    Erased readers have no events left, so nothing filters them here.
    """
    table = Event._meta.db_table
    where, params = [], []
    if since is not None:
        where.append("occurred_at >= %s")
        params.append(since)
    if until is not None:
        where.append("occurred_at <= %s")
        params.append(until)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    # Seconds since the epoch computed by the database: no datetime objects per row.
    if connection.vendor == "postgresql":
        epoch = "EXTRACT(EPOCH FROM occurred_at)::float8"
    else:
        epoch = "(julianday(occurred_at) - 2440587.5) * 86400.0"
    sql = f"SELECT reader_id, page_id, type, value, {epoch} FROM {table}{clause}"
    readers: list[np.ndarray] = []
    items: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    values: list[np.ndarray] = []
    stamps: list[np.ndarray] = []
    code_of = EVENT_CODES
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_FETCH_ROWS):
            columns = list(zip(*rows, strict=True))
            readers.append(np.fromiter(columns[0], dtype=np.int64))
            items.append(np.fromiter(columns[1], dtype=np.int64))
            codes.append(
                np.fromiter((code_of[kind] for kind in columns[2]), dtype=np.int8)
            )
            values.append(np.fromiter(columns[3], dtype=np.float32))
            stamps.append(np.fromiter(columns[4], dtype=np.float64))

    def joined(parts: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    return InteractionArrays(
        reader_ids=joined(readers, np.int64),
        item_ids=joined(items, np.int64),
        event_types=joined(codes, np.int8),
        values=joined(values, np.float32),
        timestamps=joined(stamps, np.float64),
    )


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
