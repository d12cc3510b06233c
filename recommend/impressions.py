"""Feed impressions, buffered per process and written in one insert per batch.

A feed response is one `FeedImpression` row (its item ids in a list), never one row
per item. Rows wait in memory until RECOMMEND_IMPRESSIONS_FLUSH_SIZE responses or
RECOMMEND_IMPRESSIONS_FLUSH_SECONDS have gathered, then go in one bulk insert, so
at most a few seconds of impressions are lost if a process dies.
"""

import atexit
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError

from recommend.models import FeedImpression

logger = logging.getLogger(__name__)

_buffer: list[FeedImpression] = []
_lock = threading.Lock()
_state = {"flushed_at": time.monotonic()}


def impression_record(impression: FeedImpression) -> None:
    with _lock:
        _buffer.append(impression)
        due = (
            len(_buffer) >= settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE
            or time.monotonic() - _state["flushed_at"]
            >= settings.RECOMMEND_IMPRESSIONS_FLUSH_SECONDS
        )
    if due:
        impressions_flush()


def impressions_flush(*, log_errors: bool = True) -> int:
    with _lock:
        batch = list(_buffer)
        _buffer.clear()
        _state["flushed_at"] = time.monotonic()
    if not batch:
        return 0
    try:
        FeedImpression.objects.bulk_create(batch, ignore_conflicts=True)
    except DatabaseError as exc:
        # Analytics must never fail a feed; the loss is logged.
        if log_errors:
            logger.error("Could not store %d feed impressions: %s", len(batch), exc)
        return 0
    return len(batch)


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
