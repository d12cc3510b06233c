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
from recommend.events.interactions import (
    ProgressFactory,
    event_rows_insert,
    progress_none,
    reader_rows_ensure,
)
from recommend.models import Event

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


@dataclass
class FeedSimulationReport:
    readers: int
    readers_created: int
    sessions: int
    impressions: int  # listed items over all served feed pages
    events_created: int
    model_versions: list[int]  # trained after each round, oldest first
    seconds: float
    already_done: bool = False


def _feed_simulation_prefix(*, seed: int, readers: int, sessions: int) -> str:
    return f"feedsim-{seed}-{readers}x{sessions}-"


def reader_simulation_through_feeds(
    *,
    readers: int,
    sessions: int,
    seed: int = 42,
    days: float = 30.0,
    rounds: int = 3,
    feed_size: int = 10,
    direct_events: int = 0,
    retrain: bool = True,
    end: datetime.datetime | None = None,
    progress: ProgressFactory = progress_none,
) -> FeedSimulationReport:
    """Simulated readers who read what their feeds show them.

    Each of ``sessions`` sessions (spread over the ``days`` before ``end``,
    readers drawn by a log-normal activity) asks the serving code for a feed
    page of ``feed_size`` items, exactly as the feed API does: the impression is
    recorded with its feed id, dated at the session. The reader then reacts
    (recommend/engine/simulate.py ``feed_reactions``: clicks as ``view`` events
    carrying that feed id, reads, likes, dismissals) according to their topic
    preferences. The window is cut in ``rounds``; with ``retrain`` a model is
    trained after each (the first on popularity-served traffic, the next ones
    on growing data), so later rounds are served by the recommender.

    Feeds depend on the models trained on the way, so a rerun cannot recreate
    the same events: it adds nothing when this seed and size was simulated.

    ``direct_events`` more events come from other surfaces (search, section
    pages, links: no feed id), drawn as ``reader_simulation_create`` draws them
    for the same readers and seed; each round's share is stored as it starts.
    """
    from recommend.engine.simulate import feed_reactions, relative_affinity
    from recommend.serving.candidates import candidate_list_forget
    from recommend.serving.feeds import feed_for_reader
    from recommend.serving.impressions import impressions_flush
    from recommend.training.service import model_version_train

    if readers < 1 or sessions < 1 or rounds < 1 or feed_size < 1:
        raise ValueError("need at least one reader, session, round and feed item")
    if days <= 0:
        raise ValueError("days must be positive")
    started = time.perf_counter()
    prefix = _feed_simulation_prefix(seed=seed, readers=readers, sessions=sessions)
    external_ids = [f"{READER_PREFIX}{number}" for number in range(readers)]
    if Event.objects.filter(event_id__startswith=prefix).exists():
        return FeedSimulationReport(
            readers=readers,
            readers_created=0,
            sessions=sessions,
            impressions=0,
            events_created=0,
            model_versions=[],
            seconds=time.perf_counter() - started,
            already_done=True,
        )
    page_ids, item_topics, topic_ids = _live_article_topics()
    if len(page_ids) == 0:
        raise ValueError("no live articles to read: run seed_demo first")
    end_seconds = (end or timezone.now()).timestamp()
    start_seconds = end_seconds - days * 86_400.0
    truth = simulate_readers(
        item_topics,
        n_topics=max(len(topic_ids), 1),
        n_readers=readers,
        n_events=direct_events,
        seed=seed,
        start=start_seconds,
        end=end_seconds,
        item_ids=page_ids,
    )
    affinity = relative_affinity(truth.preferences, truth.item_topic_weights)
    column_of = {page: column for column, page in enumerate(page_ids.tolist())}
    reader_rows = reader_rows_ensure(external_ids=np.array(external_ids))

    rng = np.random.default_rng(seed)
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=readers)
    session_readers = rng.choice(readers, size=sessions, p=activity / activity.sum())
    # The last session leaves room for its reactions before ``end``.
    session_times = np.sort(
        rng.uniform(start_seconds, end_seconds - 3_600.0, size=sessions)
    )
    round_of = np.minimum(
        (
            (session_times - start_seconds) / (end_seconds - start_seconds) * rounds
        ).astype(np.int64),
        rounds - 1,
    )

    pending: dict[str, list] = {
        "readers": [], "pages": [], "types": [], "values": [], "times": [],
        "feeds": [],
    }  # fmt: skip
    pending_readers: set[int] = set()
    totals = {"events": 0, "created": 0, "impressions": 0}
    versions: list[int] = []

    def flush() -> None:
        # A reader's next feed must see their last session (read-your-writes):
        # their events are stored and their cached candidate list dropped.
        if pending["readers"]:
            index_start = totals["events"]
            count = len(pending["readers"])
            totals["created"] += event_rows_insert(
                reader_ids=np.array(pending["readers"], dtype=np.int64),
                page_ids=np.array(pending["pages"], dtype=np.int64),
                event_types=np.array(EVENT_TYPES)[np.array(pending["types"])],
                values=np.array(pending["values"], dtype=np.float32),
                timestamps=np.array(pending["times"], dtype=np.float64),
                event_ids=lambda start, stop: [
                    f"{prefix}{index_start + index}" for index in range(start, stop)
                ],
                feed_ids=pending["feeds"],
            )
            totals["events"] += count
        for reader in pending_readers:
            candidate_list_forget(external_id=external_ids[reader])
        for values in pending.values():
            values.clear()
        pending_readers.clear()
        impressions_flush()

    direct = truth.interactions
    direct_round = np.minimum(
        (
            (direct.timestamps - start_seconds) / (end_seconds - start_seconds) * rounds
        ).astype(np.int64),
        rounds - 1,
    )
    direct_types = np.array(EVENT_TYPES)[direct.event_types]

    def direct_insert(round_number: int) -> None:
        chosen = np.flatnonzero(
            (direct_round == round_number) & ~reader_rows.erased[direct.reader_ids]
        )
        totals["created"] += event_rows_insert(
            reader_ids=reader_rows.pks[direct.reader_ids[chosen]],
            page_ids=direct.item_ids[chosen],
            event_types=direct_types[chosen],
            values=direct.values[chosen],
            timestamps=direct.timestamps[chosen],
            event_ids=lambda start, stop: [
                f"{prefix}direct-{index}" for index in chosen[start:stop].tolist()
            ],
        )

    bar = progress(sessions, "Simulated feed sessions")
    try:
        direct_insert(0)
        for session, (reader, moment) in enumerate(
            zip(session_readers.tolist(), session_times.tolist(), strict=True)
        ):
            if reader in pending_readers or len(pending["readers"]) >= 2_000:
                flush()
            if reader_rows.erased[reader]:
                feed = None  # nothing is served to someone who asked to be forgotten
            else:
                feed = feed_for_reader(
                    external_id=external_ids[reader],
                    n=feed_size,
                    served_at=datetime.datetime.fromtimestamp(moment, tz=datetime.UTC),
                )
            listed = [item.id for item in feed.items] if feed else []
            totals["impressions"] += len(listed)
            # An article published since the simulation began has no ground truth.
            reactions = feed_reactions(
                rng,
                np.array(
                    [
                        affinity[reader, column_of[page]] if page in column_of else 0.0
                        for page in listed
                    ]
                ),
            )
            for position, code, value, delay in zip(  # an empty page: no reactions
                reactions.positions.tolist(),
                reactions.event_types.tolist(),
                reactions.values.tolist(),
                reactions.delays.tolist(),
                strict=True,
            ):
                pending["readers"].append(int(reader_rows.pks[reader]))
                pending["pages"].append(listed[position])
                pending["types"].append(code)
                pending["values"].append(value)
                pending["times"].append(moment + delay)
                pending["feeds"].append(feed.feed_id)
            pending_readers.add(reader)
            bar.update(1)
            last_of_round = (
                session + 1 == sessions or round_of[session + 1] != round_of[session]
            )
            if last_of_round:
                flush()
                if retrain:
                    versions.append(model_version_train().pk)
                if session + 1 < sessions:
                    direct_insert(int(round_of[session + 1]))
                    # Lists built before these events would hide nothing read.
                    for number in range(readers):
                        candidate_list_forget(external_id=external_ids[number])
        flush()
    finally:
        bar.close()
    return FeedSimulationReport(
        readers=readers,
        readers_created=reader_rows.created,
        sessions=sessions,
        impressions=totals["impressions"],
        events_created=totals["created"],
        model_versions=versions,
        seconds=time.perf_counter() - started,
    )
