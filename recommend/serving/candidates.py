"""Candidate lists: each reader's best items, computed ahead of time and cached.

Stage one of a feed. A list holds a reader's top RECOMMEND_CANDIDATES_SIZE live
items with their model scores and the read item that explains each (its reason
anchor), the items the reader has already seen, and the reader's factor vector
(to score items published later). Lists live in the "feeds" cache (Redis when
REDIS_URL is set, a disk cache shared by the machine's processes otherwise),
keyed by the model stamp: a promotion moves the stamp, so every list of the old
model is unreachable at once. Lists hold item ids, not catalogue rows, so a live
catalogue change needs no rebuild: the request drops what is no longer live and
mixes in what went live since the list was built.

Lists are (re)built after each promotion (`candidate_lists_rebuild`, in batches)
and for one reader shortly after their events (`candidate_lists_refresh`,
debounced per reader); a request that finds no list computes one and stores it.

Next to the lists, event ingestion keeps a per-reader "recent events" entry (the
last RECOMMEND_RECENT_EVENTS events) so that the request drops what the reader
has just read or dismissed before the list is rebuilt.
"""

import datetime
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import caches
from django.db import transaction

from recommend.engine.matrix import EVENT_CODES
from recommend.models import Event, Reader
from recommend.serving.reasons import reason_anchors
from recommend.serving.scoring import (
    ReaderHistory,
    history_weights,
    personal_scores,
    personal_scores_many,
    popularity_led,
    rank,
    reader_history,
)
from recommend.serving.state import ServingState, serving_state
from recommend.serving.trending import trending_counts_share

logger = logging.getLogger(__name__)

CACHE = "feeds"
REBUILD_PROGRESS_KEY = "feed:rebuild-progress"
STRATEGY_PERSONAL = "personal"
STRATEGY_TRENDING = "trending"


@dataclass
class CandidateList:
    """A reader's ranked candidates under one model (see the module docstring)."""

    strategy: str  # "personal", or "trending" (no usable history: no items kept)
    reader_pk: int | None
    built_at: float  # unix seconds, taken before the history was read
    events: int  # events in the history it was built from
    item_ids: np.ndarray  # best first
    scores: np.ndarray  # model scores (freshness and audience lift added online)
    anchor_ids: (
        np.ndarray
    )  # the read item explaining each (serving/reasons.py), 0: none
    seen_ids: np.ndarray  # every item of the history: never served again
    vector: np.ndarray | None  # the reader's factors (factor models only)
    complete: bool  # True when every scorable item is in the list

    def encode(self) -> tuple:
        # Raw bytes, not pickled arrays: a quarter of the size, decoded in µs.
        return (
            1,
            self.strategy,
            self.reader_pk,
            self.built_at,
            self.events,
            self.item_ids.astype(np.int32).tobytes(),
            self.scores.astype(np.float32).tobytes(),
            self.anchor_ids.astype(np.int32).tobytes(),
            self.seen_ids.astype(np.int32).tobytes(),
            None if self.vector is None else self.vector.astype(np.float32).tobytes(),
            self.complete,
        )

    @classmethod
    def decode(cls, value: object) -> "CandidateList | None":
        if not isinstance(value, tuple) or not value or value[0] != 1:
            return None
        (_, strategy, reader_pk, built_at, events, items, scores, anchors, seen) = (
            value[:9]
        )
        vector = value[9]
        return cls(
            strategy=strategy,
            reader_pk=reader_pk,
            built_at=built_at,
            events=events,
            item_ids=np.frombuffer(items, np.int32).astype(np.int64),
            scores=np.frombuffer(scores, np.float32),
            anchor_ids=np.frombuffer(anchors, np.int32).astype(np.int64),
            seen_ids=np.frombuffer(seen, np.int32).astype(np.int64),
            vector=None if vector is None else np.frombuffer(vector, np.float32),
            complete=value[10],
        )


@dataclass
class RecentEvents:
    """What ingestion noted for a reader: (page id, event code, received at)."""

    reader_pk: int | None
    events: list[tuple[int, int, float]]

    def page_ids_since(self, moment: float) -> list[int]:
        return [page for page, _, received in self.events if received > moment]

    def newest(self) -> float:
        return max((received for _, _, received in self.events), default=0.0)


def _digest(external_id: str) -> str:
    # Fixed-length keys whatever the reader id holds (spaces, 255 characters).
    return hashlib.blake2b(external_id.encode(), digest_size=12).hexdigest()


def candidate_list_key(*, stamp: object, external_id: str) -> str:
    return f"feed:list:{stamp}:{_digest(external_id)}"


def recent_events_key(*, external_id: str) -> str:
    return f"feed:recent:{_digest(external_id)}"


def refresh_pending_key(*, reader_pk: int) -> str:
    return f"feed:pending:{reader_pk}"


def candidate_list_read(
    *, stamp: object, external_id: str
) -> tuple[CandidateList | None, RecentEvents | None]:
    """The reader's list under this model stamp and their recent events: one read."""
    list_key = candidate_list_key(stamp=stamp, external_id=external_id)
    recent_key = recent_events_key(external_id=external_id)
    found = caches[CACHE].get_many([list_key, recent_key])
    candidate_list = CandidateList.decode(found.get(list_key))
    recent = found.get(recent_key)
    if recent is not None:
        recent = RecentEvents(reader_pk=recent[0], events=recent[1])
    return candidate_list, recent


def candidate_list_store(
    *, stamp: object, external_id: str, candidate_list: CandidateList
) -> None:
    caches[CACHE].set(
        candidate_list_key(stamp=stamp, external_id=external_id),
        candidate_list.encode(),
        timeout=settings.RECOMMEND_CANDIDATES_TTL_SECONDS,
    )


def _list_from_scores(
    state: ServingState,
    *,
    history: ReaderHistory,
    rows: np.ndarray,
    scores: np.ndarray | None,
    vector: np.ndarray | None,
    built_at: float,
) -> CandidateList:
    catalogue = state.catalogue
    seen_ids = np.unique(history.page_ids)
    if scores is None:
        empty = np.empty(0, np.int64)
        return CandidateList(
            strategy=STRATEGY_TRENDING,
            reader_pk=history.reader_pk,
            built_at=built_at,
            events=len(history.page_ids),
            item_ids=empty,
            scores=np.empty(0, np.float32),
            anchor_ids=empty,
            seen_ids=seen_ids,
            vector=None,
            complete=False,
        )
    # Chosen with today's freshness bonus (it moves by days), stored without it.
    chosen = scores.astype(np.float32, copy=True)
    chosen += state.freshness_scores()
    seen = rows[rows >= 0]
    chosen[seen] = -np.inf
    size = settings.RECOMMEND_CANDIDATES_SIZE
    top = rank(chosen, count=size, item_ids=catalogue.item_ids)
    # Reasons are decided here, near-line: the request only caps and words them.
    history_rows, weights = history_weights(history, rows)
    anchors = reason_anchors(
        state,
        top,
        history_rows=history_rows,
        weights=weights,
        popularity_led=popularity_led(state, top, scores[top]),
    )
    return CandidateList(
        strategy=STRATEGY_PERSONAL,
        reader_pk=history.reader_pk,
        built_at=built_at,
        events=len(history.page_ids),
        item_ids=catalogue.item_ids[top],
        scores=scores[top].astype(np.float32),
        anchor_ids=np.where(anchors >= 0, catalogue.item_ids[anchors], 0),
        seen_ids=seen_ids,
        vector=vector,
        complete=len(top) < size,
    )


def candidate_lists_compute_many(
    *, state: ServingState, histories: list[ReaderHistory], built_at: float
) -> list[CandidateList]:
    """The lists of many readers, their model scores in blocks (the rebuild)."""
    rows = [state.catalogue.positions(history.page_ids) for history in histories]
    scored = personal_scores_many(state, histories, rows)
    return [
        _list_from_scores(
            state,
            history=history,
            rows=history_rows,
            scores=scores,
            vector=vector,
            built_at=built_at,
        )
        for history, history_rows, (scores, vector) in zip(
            histories, rows, scored, strict=True
        )
    ]


def candidate_list_compute(
    *, state: ServingState, history: ReaderHistory, built_at: float
) -> tuple[CandidateList, np.ndarray | None, np.ndarray]:
    """One reader's list from their history: (list, full scores, history rows)."""
    rows = state.catalogue.positions(history.page_ids)
    scores = vector = None
    if not history.erased:
        scores, vector = personal_scores(state, history, rows)
    candidate_list = _list_from_scores(
        state,
        history=history,
        rows=rows,
        scores=scores,
        vector=vector,
        built_at=built_at,
    )
    return candidate_list, scores, rows


# A batch of at most this many readers (a front-end's) notes each under a
# per-reader lock; a bulk batch (an import) in one unlocked read and write.
NOTE_LOCKED_READERS = 8
NOTE_LOCK_SECONDS = 2.0  # a lock left by a killed process lapses after this
NOTE_LOCK_WAIT_SECONDS = 1.0


@contextmanager
def _note_lock(cache, key: str):
    """Hold the reader's note lock (an atomic `add`) while it is read and written.

    Two batches of one reader at once (a front-end sending a view and a read in
    parallel) would otherwise both read the old note and one write would win,
    losing the other's events until the list refresh. Gives up waiting after
    NOTE_LOCK_WAIT_SECONDS rather than lose the write.
    """
    lock = f"{key}:lock"
    deadline = time.monotonic() + NOTE_LOCK_WAIT_SECONDS
    held = cache.add(lock, 1, timeout=NOTE_LOCK_SECONDS)
    while not held and time.monotonic() < deadline:
        time.sleep(0.002)
        held = cache.add(lock, 1, timeout=NOTE_LOCK_SECONDS)
    try:
        yield
    finally:
        if held:
            cache.delete(lock)


def _note_merged(old, reader_pk: int, new: list) -> tuple[int, list]:
    merged = (list(old[1]) if old else []) + new
    return reader_pk, merged[-settings.RECOMMEND_RECENT_EVENTS :]


def recent_events_note(*, events: Iterable[tuple[str, int, int, str]]) -> None:
    """Ingestion's note of stored events: (reader external id, reader pk, page, type).

    Read-modify-write per reader. For a front-end's batch (at most
    NOTE_LOCKED_READERS readers) each reader's note is updated under its lock, so
    that concurrent batches of one reader never lose an event. A bulk batch is
    read and written in two round trips, unlocked: a concurrent batch of one of
    its readers may lose a note, which the list refresh each batch schedules
    (it reads the database) covers within seconds.
    """
    now = time.time()
    by_reader: dict[str, tuple[int, list]] = {}
    for external_id, reader_pk, page_id, kind in events:
        entry = by_reader.setdefault(external_id, (reader_pk, []))
        entry[1].append((int(page_id), EVENT_CODES[kind], now))
    if not by_reader:
        return
    cache = caches[CACHE]
    timeout = settings.RECOMMEND_CANDIDATES_TTL_SECONDS
    keys = {recent_events_key(external_id=ext): ext for ext in by_reader}
    if len(keys) <= NOTE_LOCKED_READERS:
        for key, external_id in sorted(keys.items()):
            with _note_lock(cache, key):
                note = _note_merged(cache.get(key), *by_reader[external_id])
                cache.set(key, note, timeout=timeout)
    else:
        stored = cache.get_many(list(keys))
        updated = {
            key: _note_merged(stored.get(key), *by_reader[external_id])
            for key, external_id in keys.items()
        }
        cache.set_many(updated, timeout=timeout)
    candidate_lists_refresh_request(reader_pks=[pk for pk, _ in by_reader.values()])


def candidate_lists_refresh_request(*, reader_pks: list[int]) -> list[int]:
    """Schedule a list refresh for readers not already scheduled in the window.

    Coalesced and debounced: a reader is enqueued at most once per
    RECOMMEND_CANDIDATES_DEBOUNCE_SECONDS (a marker in the cache); events in
    between are picked up by that task (it reads the database when it runs) or
    by the next request that finds the list older than the reader's events.
    Returns the readers enqueued.
    """
    cache = caches[CACHE]
    window = settings.RECOMMEND_CANDIDATES_DEBOUNCE_SECONDS
    due = [
        pk
        for pk in sorted(set(reader_pks))
        if cache.add(refresh_pending_key(reader_pk=pk), 1, timeout=window)
    ]
    if due:
        from django_q.tasks import async_task

        transaction.on_commit(
            lambda: async_task(
                "recommend.tasks.candidate_lists_refresh_task",
                due,
                task_name="candidate-lists-refresh",
            )
        )
    return due


def candidate_lists_refresh(*, reader_pks: list[int]) -> int:
    """Rebuild the lists of these readers from the database; returns how many.

    Idempotent: a reader whose list is newer than their newest stored event is
    left alone, so a repeated or coalesced task costs one query.
    """
    from django.db.models import Max

    state = serving_state()
    readers = dict(
        Reader.objects.filter(pk__in=reader_pks, erased=False).values_list(
            "pk", "external_id"
        )
    )
    newest = dict(
        Event.objects.filter(reader_id__in=list(readers))
        .values("reader_id")
        .annotate(newest=Max("received_at"))
        .values_list("reader_id", "newest")
    )
    cache = caches[CACHE]
    built = 0
    for reader_pk, external_id in readers.items():
        current, _ = candidate_list_read(
            stamp=state.model_stamp, external_id=external_id
        )
        latest = newest.get(reader_pk)
        if (
            current is not None
            and latest is not None
            and current.built_at > latest.timestamp()
        ):
            continue
        started = time.time()
        history = reader_history(external_id=external_id)
        candidate_list, _, _ = candidate_list_compute(
            state=state, history=history, built_at=started
        )
        candidate_list_store(
            stamp=state.model_stamp,
            external_id=external_id,
            candidate_list=candidate_list,
        )
        cache.delete(refresh_pending_key(reader_pk=reader_pk))
        built += 1
    return built


def _histories(
    reader_pks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every event of these readers, sorted by reader then newest first."""
    from recommend.selectors import event_interaction_arrays

    arrays = event_interaction_arrays()
    keep = np.isin(arrays.reader_ids, reader_pks)
    readers = arrays.reader_ids[keep]
    stamps = arrays.timestamps[keep]
    order = np.lexsort((-stamps, readers))
    return (
        readers[order],
        arrays.item_ids[keep][order],
        np.asarray(arrays.event_types)[keep][order].astype(np.int8),
        arrays.values[keep][order],
        stamps[order],
    )


def candidate_lists_rebuild(
    *,
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Lists for every reader active in RECOMMEND_CANDIDATES_ACTIVE_DAYS under
    the active model, in batches (after a promotion); returns how many."""
    state = serving_state()
    if state.model is None:
        return 0
    # Near-line work after a promotion: fresh trending for every process too, so
    # that no cold reader's feed runs its query inline.
    trending_counts_share()
    since = time.time() - settings.RECOMMEND_CANDIDATES_ACTIVE_DAYS * 86_400
    active = np.array(
        sorted(
            set(
                Event.objects.filter(
                    occurred_at__gte=datetime.datetime.fromtimestamp(
                        since, tz=datetime.UTC
                    ),
                    reader__erased=False,
                ).values_list("reader_id", flat=True)
            )
        ),
        dtype=np.int64,
    )
    external = dict(
        Reader.objects.filter(erased=False).values_list("pk", "external_id")
    )
    readers, items, codes, values, stamps = _histories(active)
    starts = np.searchsorted(readers, active, side="left")
    stops = np.searchsorted(readers, active, side="right")
    limit = settings.RECOMMEND_HISTORY_LIMIT
    cache = caches[CACHE]
    total = len(active)
    done = 0
    for first in range(0, total, batch_size):
        built_at = time.time()
        histories = []
        for index in range(first, min(first + batch_size, total)):
            start, stop = int(starts[index]), int(stops[index])
            stop = min(stop, start + limit)
            histories.append(
                ReaderHistory(
                    reader_pk=int(active[index]),
                    erased=False,
                    page_ids=items[start:stop],
                    codes=codes[start:stop],
                    values=values[start:stop],
                    timestamps=stamps[start:stop],
                )
            )
        batch = {}
        lists = candidate_lists_compute_many(
            state=state, histories=histories, built_at=built_at
        )
        for history, candidate_list in zip(histories, lists, strict=True):
            external_id = external.get(history.reader_pk)
            if external_id is not None:
                key = candidate_list_key(
                    stamp=state.model_stamp, external_id=external_id
                )
                batch[key] = candidate_list.encode()
        cache.set_many(batch, timeout=settings.RECOMMEND_CANDIDATES_TTL_SECONDS)
        done = min(first + batch_size, total)
        caches["shared"].set(
            REBUILD_PROGRESS_KEY,
            {"model_version": state.model_version_id, "done": done, "total": total},
            timeout=None,
        )
        if progress is not None:
            progress(done, total)
        logger.info("candidate lists: %d/%d readers", done, total)
    return done


def candidate_list_forget(*, external_id: str) -> None:
    """Drop a reader's list and recent events (erasure); old-model lists expire."""
    from recommend.serving.state import model_stamp

    caches[CACHE].delete_many(
        [
            candidate_list_key(stamp=model_stamp(), external_id=external_id),
            recent_events_key(external_id=external_id),
        ]
    )
