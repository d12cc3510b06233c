"""Trending: time-decayed popularity of live items.

Two levels: the decayed event count of every page (one grouped query over the
last RECOMMEND_TRENDING_DAYS of events, seconds at millions of events) and its
alignment to the current catalogue (an array op).

The counts are computed by a worker, never by a serving process in the normal
course: the "recommend-trending" schedule (every RECOMMEND_TRENDING_CACHE_SECONDS)
and each post-promotion list rebuild share them through the feeds cache (Redis,
or the disk cache beside the embedded database). Each serving process keeps a
copy; a background thread looks at the shared stamp every TRENDING_CHECK_SECONDS
and takes newer counts when there are some. Only when nothing was ever shared (a
fresh machine) does the first feed that needs them run the query inline; and if
the shared counts grow three intervals old (no worker), a serving process's
background thread recomputes and shares them. A new catalogue (a publish) only
re-aligns them.
"""

import datetime
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.db.models import Count
from django.db.models.expressions import RawSQL
from django.utils import timezone

from recommend.models import Event
from recommend.serving.catalogue import Catalogue

logger = logging.getLogger(__name__)

SHARED_KEY = "feed:trending:counts"
SHARED_STAMP_KEY = "feed:trending:read-at"
SHARED_TIMEOUT = 7 * 86_400  # stale counts still beat an inline query
TRENDING_CHECK_SECONDS = 15.0  # how often a process looks at the shared stamp
# Shared counts this many intervals old mean no worker refreshes them.
WORKERLESS_INTERVALS = 3


@dataclass
class TrendingCounts:
    page_ids: np.ndarray  # int64
    weights: np.ndarray  # float64, decayed event counts
    read_at: float  # time.time() when the database was read


_state: dict[str, object] = {
    "counts": None,
    "checked": 0.0,  # time.monotonic() of the last look at the shared stamp
    "refreshing": False,
    "aligned": None,  # (catalogue, counts, scores)
}
_lock = threading.Lock()


def _shared_cache():
    from recommend.serving.candidates import CACHE  # it imports this module

    return caches[CACHE]


def _shared_read() -> TrendingCounts | None:
    entry = _shared_cache().get(SHARED_KEY)
    if entry is None:
        return None
    page_ids, weights, read_at = entry
    return TrendingCounts(page_ids, weights, read_at)


def trending_counts_share() -> TrendingCounts:
    """Read the counts and share them with every process (the feeds cache)."""
    counts = trending_counts_read()
    _shared_cache().set_many(
        {
            SHARED_KEY: (counts.page_ids, counts.weights, counts.read_at),
            SHARED_STAMP_KEY: counts.read_at,
        },
        SHARED_TIMEOUT,
    )
    return counts


def _day_number_sql() -> str:
    # The database computes the UTC day; Django's TruncDate would call a Python
    # function per row on SQLite (seconds per million events).
    if connection.vendor == "postgresql":
        return "FLOOR(EXTRACT(EPOCH FROM occurred_at) / 86400)"
    return "CAST(julianday(occurred_at) - 2440587.5 AS INTEGER)"


def trending_counts_read() -> TrendingCounts:
    """Decayed event counts per page over the trending window (one query)."""
    now = timezone.now()
    since = now - datetime.timedelta(days=settings.RECOMMEND_TRENDING_DAYS)
    half_life = settings.RECOMMEND_TRENDING_HALF_LIFE_DAYS
    # Events dated ahead of now (stored before ingestion refused them) would
    # otherwise get weights of 2**(days ahead / half-life) and overflow.
    until = now + datetime.timedelta(
        seconds=settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS
    )
    daily = (
        Event.objects.filter(occurred_at__gte=since, occurred_at__lte=until)
        .exclude(type=Event.Type.DISMISS)
        .annotate(day=RawSQL(_day_number_sql(), ()))
        .values_list("page_id", "day")
        .annotate(events=Count("id"))
        .order_by()
    )
    # Plain rows: Django's per-value converters cost seconds at 500k groups.
    sql, params = daily.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [row for row in cursor.fetchall() if row[1] is not None]
    today = int(now.timestamp() // 86_400)
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return TrendingCounts(empty, np.empty(0), now.timestamp())
    table = np.array(rows, dtype=np.float64)
    age_days = np.maximum(today - table[:, 1], 0.0)
    weights = table[:, 2] * 0.5 ** (age_days / half_life)
    page_ids, inverse = np.unique(table[:, 0].astype(np.int64), return_inverse=True)
    summed = np.zeros(len(page_ids), dtype=np.float64)
    np.add.at(summed, inverse, weights)
    return TrendingCounts(page_ids, summed, now.timestamp())


def _check_in_background(current: TrendingCounts) -> None:
    """Take newer shared counts; recompute them only when no worker does."""

    def check() -> None:
        try:
            stamp = _shared_cache().get(SHARED_STAMP_KEY)
            if stamp is not None and stamp > current.read_at:
                newer = _shared_read()
                if newer is not None:
                    _state["counts"] = newer
                    return
            workerless = (
                WORKERLESS_INTERVALS * settings.RECOMMEND_TRENDING_CACHE_SECONDS
            )
            if time.time() - max(stamp or 0.0, current.read_at) >= workerless:
                _state["counts"] = trending_counts_share()
        except Exception:  # noqa: BLE001
            logger.exception("Trending counts refresh failed; keeping the old ones")
        finally:
            _state["refreshing"] = False
            connections.close_all()  # this thread's own connection

    with _lock:
        if _state["refreshing"]:
            return
        _state["refreshing"] = True
    threading.Thread(target=check, name="trending-check", daemon=True).start()


def _counts() -> TrendingCounts:
    counts = _state["counts"]
    if counts is None:
        with _lock:
            counts = _state["counts"]
            if counts is None:
                counts = _shared_read() or trending_counts_share()
                _state["counts"] = counts
                _state["checked"] = time.monotonic()
    if time.monotonic() - float(_state["checked"]) >= TRENDING_CHECK_SECONDS:
        _state["checked"] = time.monotonic()
        _check_in_background(counts)  # type: ignore[arg-type]
    return counts  # type: ignore[return-value]


def _align(catalogue: Catalogue, counts: TrendingCounts) -> np.ndarray:
    scores = np.zeros(len(catalogue), dtype=np.float64)
    if len(counts.page_ids):
        rows = catalogue.positions(counts.page_ids)
        live = rows >= 0
        scores[rows[live]] = counts.weights[live]
    # Recency breaks ties (and orders everything when nobody has read anything).
    newest = catalogue.published.max() if len(catalogue) else 0.0
    age_days = (newest - catalogue.published) / 86_400.0
    scores += 1e-3 / (1.0 + np.maximum(age_days, 0.0))
    peak = scores.max() if len(scores) else 0.0
    return (scores / peak if peak > 0 else scores).astype(np.float32)


def trending_scores(catalogue: Catalogue) -> np.ndarray:
    """Scores in [0, 1] aligned with the catalogue (the same array object until
    the counts or the catalogue change: callers may memoise on it)."""
    counts = _counts()
    aligned = _state["aligned"]
    if aligned is not None and aligned[0] is catalogue and aligned[1] is counts:
        return aligned[2]
    scores = _align(catalogue, counts)
    _state["aligned"] = (catalogue, counts, scores)
    return scores


def trending_reset() -> None:
    """Forget the counts, here and shared (tests; the next call reads them again,
    inline)."""
    with _lock:
        _state.update(counts=None, aligned=None, checked=0.0)
        _shared_cache().delete_many([SHARED_KEY, SHARED_STAMP_KEY])
