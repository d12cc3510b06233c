"""Feed impressions, buffered per process and written in one insert per batch.

A feed response is one `FeedImpression` row (its item ids in a list), never one row
per item. Rows wait in memory until RECOMMEND_IMPRESSIONS_FLUSH_SIZE responses or
RECOMMEND_IMPRESSIONS_FLUSH_SECONDS have gathered, then go in one bulk insert, so
at most a few seconds of impressions are lost if a process dies. The insert runs
when a request has finished (its response already sent), never inside the feed
request that made it due: that request would pay for fifty.
"""

import atexit
import logging
import os
import threading
import time

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from recommend.models import FeedImpression

logger = logging.getLogger(__name__)

# Field dicts, not model instances: building a model costs more than a feed page,
# so instances are made at flush time, off the request's critical work.
_buffer: list[dict] = []
_lock = threading.Lock()
_state = {"flushed_at": time.monotonic()}


# Outside requests (a command serving feeds in a loop) nothing else would flush:
# past this many buffered sizes the recording call flushes itself.
_BACKSTOP_FACTOR = 10


def _due() -> bool:
    return (
        len(_buffer) >= settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE
        or time.monotonic() - _state["flushed_at"]
        >= settings.RECOMMEND_IMPRESSIONS_FLUSH_SECONDS
    )


def impression_record(**fields) -> None:
    """Buffer one FeedImpression's fields (written once a request finishes)."""
    with _lock:
        _buffer.append(fields)
        overdue = (
            len(_buffer) >= _BACKSTOP_FACTOR * settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE
        )
    if overdue:
        impressions_flush()


def impressions_flush_if_due(**kwargs) -> int:
    """The request_finished receiver: flush when enough has gathered.

    With RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND (the default; off in tests)
    the insert runs in a thread of its own: on SQLite it may wait for another
    writer (a publish holds the database's one write lock), and the worker must
    meanwhile take its next request. Returns the rows written here (0 when
    handed to the thread).
    """
    if not _buffer or not _due():
        return 0
    if not settings.RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND:
        return impressions_flush()
    _flusher_ensure()
    _wake.set()
    return 0


# One flusher thread per process, woken when a flush is due. It keeps its own
# database connection between flushes (CONN_MAX_AGE and the health checks apply,
# as between requests): a thread and a connection per flush cost a worker about
# as much as the insert itself.
_wake = threading.Event()
_flusher = {"pid": None}


def _flusher_ensure() -> None:
    with _lock:
        if _flusher["pid"] == os.getpid():
            return
        _flusher["pid"] = os.getpid()  # a forked child starts its own
    threading.Thread(target=_flusher_run, name="impressions-flush", daemon=True).start()


def _flusher_run() -> None:
    from django.db import close_old_connections

    while True:
        _wake.wait()
        _wake.clear()
        try:
            # Before and after, as around a request: the connection is kept
            # for CONN_MAX_AGE and replaced when broken.
            close_old_connections()
            impressions_flush()
            close_old_connections()
        except Exception:  # noqa: BLE001 - the thread must outlive any one flush
            logger.exception("Flushing feed impressions failed")


def impressions_flush(*, log_errors: bool = True) -> int:
    with _lock:
        batch = list(_buffer)
        _buffer.clear()
        _state["flushed_at"] = time.monotonic()
    if not batch:
        return 0
    try:
        _insert(batch)
    except DatabaseError as exc:
        # Analytics must never fail a feed; the loss is logged.
        if log_errors:
            logger.error("Could not store %d feed impressions: %s", len(batch), exc)
        return 0
    return len(batch)


def _insert(batch: list[dict]) -> None:
    """One multi-row INSERT (duplicates of feed_id ignored).

    Plain SQL: bulk_create prepared every field of every row through the model
    layer, which cost more than the fifty feed requests it recorded.
    """
    meta = FeedImpression._meta
    columns = [
        meta.get_field(name).column
        for name in (
            "feed_id",
            "reader",
            "reader_external_id",
            "model_version",
            "page_ids",
            "offset",
            "filters",
            "served_at",
        )
    ]
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (
            fields["feed_id"],
            fields["reader_id"],
            fields["reader_external_id"],
            fields["model_version_id"],
            orjson.dumps(fields["page_ids"]).decode(),
            fields["offset"],
            orjson.dumps(fields["filters"]).decode(),
            adapt(fields["served_at"]),
        )
        for fields in batch
    ]
    if connection.vendor == "postgresql":
        insert, suffix, json_value = (
            "INSERT INTO",
            " ON CONFLICT DO NOTHING",
            "%s::jsonb",
        )
    else:
        insert, suffix, json_value = "INSERT OR IGNORE INTO", "", "%s"
    values = ["%s", "%s", "%s", "%s", json_value, "%s", json_value, "%s"]
    placeholders = "(" + ", ".join(values) + ")"
    sql = (
        f"{insert} {quote(meta.db_table)} "
        f"({', '.join(quote(column) for column in columns)}) VALUES "
    )
    # Chunks well under SQLite's 999 bound parameters.
    for start in range(0, len(rows), 100):
        chunk = rows[start : start + 100]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                sql + ", ".join([placeholders] * len(chunk)) + suffix,
                [value for row in chunk for value in row],
            )


def _flush_at_exit() -> None:
    # At interpreter exit the database or the log stream may already be gone.
    try:
        impressions_flush(log_errors=False)
    except Exception:  # noqa: BLE001
        pass


atexit.register(_flush_at_exit)


def impressions_discard() -> None:
    """Drop what is buffered (tests: a buffer must not outlive its database)."""
    with _lock:
        _buffer.clear()
