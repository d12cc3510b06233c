"""Simulated readers written to the database: demo traffic and benchmark data."""

import datetime
import time
from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from cms.models import ArticlePage
from cms.selectors import article_live_list
from recommend.engine.matrix import EVENT_TYPES
from recommend.engine.simulate import simulate_readers
from recommend.services.interactions import (
    ProgressFactory,
    event_rows_insert,
    progress_none,
    reader_rows_ensure,
)

READER_PREFIX = "sim-"


@dataclass
class SimulationReport:
    readers: int
    readers_created: int
    events: int
    events_created: int
    seconds: float
    # Ground truth: preferences[r, t] is how much reader ``reader_external_ids[r]``
    # likes topic ``topic_ids[t]`` (a Topic pk); rows sum to 1.
    reader_external_ids: list[str]
    topic_ids: list[int]
    preferences: np.ndarray
    page_ids: np.ndarray  # the live articles the readers chose from


def _live_article_topics() -> tuple[np.ndarray, list[list[int]], list[int]]:
    """Live article pks, each one's topic positions, and the Topic pk per position."""
    page_ids = np.array(
        sorted(article_live_list().values_list("pk", flat=True)), dtype=np.int64
    )
    live = set(page_ids.tolist())
    through = ArticlePage.topics.through.objects.values_list(
        "articlepage_id", "topic_id"
    )
    # Filtered here, not with `IN (...)`: a 50k-article catalogue would exceed
    # SQLite's bound-parameter limit.
    pairs = [(page, topic) for page, topic in through if page in live]
    topic_ids = sorted({topic for _, topic in pairs})
    topic_position = {topic: position for position, topic in enumerate(topic_ids)}
    page_position = {page: position for position, page in enumerate(page_ids.tolist())}
    item_topics: list[list[int]] = [[] for _ in range(len(page_ids))]
    for page, topic in pairs:
        item_topics[page_position[page]].append(topic_position[topic])
    return page_ids, item_topics, topic_ids


def reader_simulation_create(
    *,
    readers: int,
    events: int,
    seed: int = 42,
    days: float = 30.0,
    end: datetime.datetime | None = None,
    progress: ProgressFactory = progress_none,
) -> SimulationReport:
    """Store ``events`` events of ``readers`` simulated readers over live articles.

    Readers are ``sim-0`` .. ``sim-<readers - 1>``, each with preferences over
    the articles' topics (recommend/engine/simulate.py); events fall in the
    ``days`` before ``end`` (default now). The event ids are
    ``sim-<seed>-<readers>x<events>-<index>``, so running the same simulation
    again adds nothing, and a different seed or size adds new traffic rather
    than silently colliding with the old one. Batches commit one by one (see
    event_rows_insert); an interrupted run is completed by running it again.
    """
    if readers < 1 or events < 0:
        raise ValueError("need at least one reader and zero or more events")
    if days <= 0:
        raise ValueError("days must be positive")
    started = time.perf_counter()
    page_ids, item_topics, topic_ids = _live_article_topics()
    if len(page_ids) == 0:
        raise ValueError("no live articles to read: run seed_demo first")
    end_seconds = (end or timezone.now()).timestamp()
    simulated = simulate_readers(
        item_topics,
        n_topics=max(len(topic_ids), 1),
        n_readers=readers,
        n_events=events,
        seed=seed,
        start=end_seconds - days * 86_400.0,
        end=end_seconds,
        item_ids=page_ids,
    )
    external_ids = [f"{READER_PREFIX}{number}" for number in range(readers)]
    reader_rows = reader_rows_ensure(external_ids=np.array(external_ids))
    # reader_rows_ensure returns rows in the order asked: position = reader number.
    interactions = simulated.interactions
    per_event = interactions.reader_ids
    tracked = np.flatnonzero(~reader_rows.erased[per_event])
    prefix = f"sim-{seed}-{readers}x{events}-"
    event_types = np.array(EVENT_TYPES)[interactions.event_types]
    created = event_rows_insert(
        reader_ids=reader_rows.pks[per_event[tracked]],
        page_ids=interactions.item_ids[tracked],
        event_types=event_types[tracked],
        values=interactions.values[tracked],
        timestamps=interactions.timestamps[tracked],
        event_ids=lambda start, stop: [
            f"{prefix}{index}" for index in tracked[start:stop].tolist()
        ],
        progress=progress,
        description="Simulated events",
    )
    return SimulationReport(
        readers=readers,
        readers_created=reader_rows.created,
        events=events,
        events_created=created,
        seconds=time.perf_counter() - started,
        reader_external_ids=external_ids,
        topic_ids=topic_ids,
        preferences=simulated.preferences,
        page_ids=page_ids,
    )
