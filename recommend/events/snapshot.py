"""Incremental event snapshot: the last training's event arrays, kept in storage.

Reading millions of events through a database driver costs about a third of
an ALS fit, so training keeps what it read (every event with id <= N, as
numpy arrays, an uncompressed .npz in the artifacts' Django storage) and the
next training reads only the rows with a larger id. The snapshot is trusted
only while ``COUNT(*) WHERE id <= N`` still equals the number of rows it
holds and the row with id N is still the same (reader and page; so that a
database that was emptied and refilled is not mistaken for the old one): any
deletion (an erasure, a deleted page or reader) or a row that committed late
with a smaller id makes the counts differ, and the next read is a full one
that rewrites the snapshot. An erasure also deletes the
snapshot file at once (the erased reader's events must not linger in
storage). Events are never updated in place by this project; a tool that
edits event rows must call ``event_snapshot_discard``.
"""

import logging
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.core.files import File

from recommend.engine.matrix import InteractionArrays
from recommend.models import ModelVersion
from recommend.selectors import (
    event_count_through,
    event_id_largest,
    event_interaction_arrays,
    event_row_fingerprint,
)

logger = logging.getLogger(__name__)

SNAPSHOT_NAME = "recommend/event-snapshot.npz"
SNAPSHOT_FORMAT = 1
_ARRAYS = ("reader_ids", "item_ids", "event_types", "values", "timestamps")


@dataclass
class EventSnapshot:
    interactions: InteractionArrays  # every event with id <= through_id
    through_id: int
    full_read: bool
    new_events: int  # rows read from the database this time
    fingerprint: list[int]  # [reader_id, page_id] of the row with id through_id


def _storage():
    # The storage of model artifacts: local files, or object storage in production.
    return ModelVersion._meta.get_field("artifact").storage


def _stored_header() -> tuple[int, list[int]] | None:
    """(through_id, fingerprint) of the stored snapshot, without its arrays."""
    storage = _storage()
    try:
        if not storage.exists(SNAPSHOT_NAME):
            return None
        with storage.open(SNAPSHOT_NAME, "rb") as stored_file:
            with np.load(stored_file, allow_pickle=False) as stored:
                if int(stored["format"]) != SNAPSHOT_FORMAT:
                    return None
                return int(stored["through_id"]), stored["fingerprint"].tolist()
    except Exception as exc:
        logger.warning("Event snapshot unreadable, reading every event: %s", exc)
        return None


def _stored_arrays() -> InteractionArrays | None:
    storage = _storage()
    try:
        with storage.open(SNAPSHOT_NAME, "rb") as stored_file:
            with np.load(stored_file, allow_pickle=False) as stored:
                return InteractionArrays(**{name: stored[name] for name in _ARRAYS})
    except Exception as exc:
        logger.warning("Event snapshot unreadable, reading every event: %s", exc)
        return None


def _concatenated(first: InteractionArrays, second: InteractionArrays):
    if len(second) == 0:
        return first
    return InteractionArrays(
        **{
            name: np.concatenate([getattr(first, name), getattr(second, name)])
            for name in _ARRAYS
        }
    )


def event_snapshot_read() -> EventSnapshot:
    """Every stored event (id <= the largest now), incrementally when possible.

    The stored arrays load in a thread (file I/O, off the GIL) while the
    database counts the rows they should cover.
    """
    largest = event_id_largest()
    header = _stored_header()
    if header is not None:
        through_id, fingerprint = header
        with ThreadPoolExecutor(max_workers=1) as loader:
            loading = loader.submit(_stored_arrays)
            count = event_count_through(through_id=through_id)
            unchanged = (
                through_id <= largest
                and event_row_fingerprint(event_id=through_id) == fingerprint
            )
            interactions = loading.result()
        if interactions is not None and unchanged and count == len(interactions):
            newer = event_interaction_arrays(after_id=through_id, through_id=largest)
            return EventSnapshot(
                interactions=_concatenated(interactions, newer),
                through_id=largest,
                full_read=False,
                new_events=len(newer),
                fingerprint=event_row_fingerprint(event_id=largest),
            )
        logger.info("Event snapshot out of date (deletions since): full read")
    interactions = event_interaction_arrays(through_id=largest)
    return EventSnapshot(
        interactions=interactions,
        through_id=largest,
        full_read=True,
        new_events=len(interactions),
        fingerprint=event_row_fingerprint(event_id=largest),
    )


def event_snapshot_write(snapshot: EventSnapshot) -> None:
    """Store the snapshot for the next read (replacing the previous one).

    No database access: training runs it in a thread beside the fit.
    """
    storage = _storage()
    arrays = {
        name: np.asarray(getattr(snapshot.interactions, name)) for name in _ARRAYS
    }
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "events.npz")
        np.savez(
            path,
            format=np.array(SNAPSHOT_FORMAT),
            through_id=np.array(snapshot.through_id, dtype=np.int64),
            fingerprint=np.array(snapshot.fingerprint, dtype=np.int64),
            **arrays,
        )
        with _write_lock:
            if storage.exists(SNAPSHOT_NAME):
                storage.delete(SNAPSHOT_NAME)
            with open(path, "rb") as written:
                saved = storage.save(SNAPSHOT_NAME, File(written))
    if saved != SNAPSHOT_NAME:
        # Another process wrote one meanwhile: keep neither, the next read is full.
        storage.delete(saved)
        event_snapshot_discard()


def event_snapshot_discard() -> None:
    """Delete the stored snapshot (after an erasure): the next read is full."""
    storage = _storage()
    with _write_lock:
        if storage.exists(SNAPSHOT_NAME):
            storage.delete(SNAPSHOT_NAME)


_write_lock = threading.Lock()
