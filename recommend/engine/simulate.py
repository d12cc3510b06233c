"""Deterministic simulated reader behaviour over a catalogue of topical items.

Model (all draws come from one seeded ``numpy.random.Generator``):

* reader r has topic preferences ``pref[r]`` ~ Dirichlet with 1-3 dominant
  topics (concentration ``dominant_concentration`` vs ``background_concentration``);
* item i has Zipf-like popularity ``pop[i] = rank_i ** -zipf_exponent`` over a
  random ranking and topic weights ``T[i, t] = 1 / |topics_i|``;
* reader activity is log-normal (a few heavy readers, a long tail);
* an event of reader r lands on item i with
  ``p(i | r) ∝ pop[i] ** popularity_exponent * (pref[r] · T[i])`` (sampled
  exactly as a mixture: topic t with p ∝ pref[r, t] * W[t], then item within t
  with p ∝ pop[i] ** a * T[i, t], where W[t] normalises topic t), except a
  ``noise_share`` of events that follow popularity alone (casual clicks);
* with ``relative_affinity = pref[r] · T[i] / max(pref[r])`` in [0, 1], an event
  is a ``dismiss`` with p = ``dismiss_rate * (1 - relative_affinity) ** 3`` (so
  mostly on off-topic items), otherwise an engagement (read/like/bookmark/share
  in 65/15/12/8 proportions) with p = 0.15 + 0.45 * relative_affinity, else a
  ``view``; reads carry dwell seconds (log-normal, longer when on-topic).

Reader ids are 0..n_readers-1, so ``preferences[reader_id]`` is the truth.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommend.engine.matrix import DISMISS_CODE, EVENT_CODES, InteractionArrays

# Engagement events split in these proportions (reads dominate, shares are rare).
_ENGAGEMENT_CODES = np.array(
    [EVENT_CODES[name] for name in ("read", "like", "bookmark", "share")],
    dtype=np.int8,
)
_ENGAGEMENT_SHARES = np.array([0.65, 0.15, 0.12, 0.08])


@dataclass
class SimulatedReaders:
    interactions: InteractionArrays
    preferences: np.ndarray  # [n_readers, n_topics], rows sum to 1 (ground truth)
    item_popularity: np.ndarray  # [n_items], sums to 1
    item_topic_weights: sp.csr_matrix  # [n_items, n_topics], rows sum to 1


def _item_topic_weights(item_topics: list[list[int]], n_topics: int) -> sp.csr_matrix:
    counts = np.array([len(set(topics)) for topics in item_topics], dtype=np.int64)
    columns = np.fromiter(
        (topic for topics in item_topics for topic in sorted(set(topics))),
        dtype=np.int64,
        count=int(counts.sum()),
    )
    if len(columns) and (columns.min() < 0 or columns.max() >= n_topics):
        raise ValueError("item topic index outside 0..n_topics-1")
    weights = np.repeat(1.0 / np.maximum(counts, 1), counts)
    indptr = np.r_[0, np.cumsum(counts)]
    return sp.csr_matrix((weights, columns, indptr), shape=(len(item_topics), n_topics))


def _draw_in_segments(
    rng: np.random.Generator, segment_cdf: np.ndarray, segments: np.ndarray
) -> np.ndarray:
    """Position in ``segment_cdf`` drawn inside each requested segment.

    ``segment_cdf`` is the concatenation of per-segment CDFs, each shifted by its
    segment number (segment s spans (s, s + 1]); one searchsorted then samples
    every event from its own distribution without a per-event loop.
    """
    targets = segments + rng.random(len(segments))
    return np.searchsorted(segment_cdf, targets, side="right")


def _preferences(
    rng: np.random.Generator,
    n_readers: int,
    n_topics: int,
    dominant_concentration: float,
    background_concentration: float,
) -> np.ndarray:
    n_dominant = rng.integers(1, min(3, n_topics) + 1, size=n_readers)
    topic_rank = np.argsort(rng.random((n_readers, n_topics)), axis=1).argsort(axis=1)
    dominant = topic_rank < n_dominant[:, None]
    concentration = np.where(dominant, dominant_concentration, background_concentration)
    # Dirichlet rows via normalised gammas (rng.dirichlet takes one alpha vector).
    gammas = rng.gamma(concentration)
    gammas[gammas.sum(axis=1) == 0] = 1.0  # underflow guard for tiny concentrations
    return gammas / gammas.sum(axis=1, keepdims=True)


def simulate_readers(
    item_topics: list[list[int]],
    *,
    n_topics: int,
    n_readers: int,
    n_events: int,
    seed: int = 42,
    start: float = 1_700_000_000.0,
    end: float = 1_702_592_000.0,
    item_ids: np.ndarray | None = None,
    popularity_exponent: float = 0.8,
    zipf_exponent: float = 1.0,
    noise_share: float = 0.05,
    dismiss_rate: float = 0.2,
    dominant_concentration: float = 2.0,
    background_concentration: float = 0.02,
) -> SimulatedReaders:
    """Events of ``n_readers`` simulated readers over the given items (see module).

    ``item_ids`` labels the items (default 0..n_items-1, i.e. the positions in
    ``item_topics``); events are returned in timestamp order within [start, end).
    """
    rng = np.random.default_rng(seed)
    n_items = len(item_topics)
    if n_items == 0 or n_readers == 0:
        raise ValueError("need at least one item and one reader")
    if item_ids is None:
        item_ids = np.arange(n_items, dtype=np.int64)
    item_ids = np.asarray(item_ids, dtype=np.int64)

    topic_weights = _item_topic_weights(item_topics, n_topics)
    popularity = (rng.permutation(n_items) + 1.0) ** -zipf_exponent
    popularity /= popularity.sum()
    attraction = popularity**popularity_exponent

    preferences = _preferences(
        rng, n_readers, n_topics, dominant_concentration, background_concentration
    )
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=n_readers)

    # Within-topic item CDFs, one segment per topic (CSC = items grouped by topic).
    by_topic = topic_weights.tocsc()
    by_topic.sort_indices()
    entry_weight = attraction[by_topic.indices] * by_topic.data
    entry_topic = np.repeat(np.arange(n_topics), np.diff(by_topic.indptr))
    topic_mass = np.bincount(entry_topic, weights=entry_weight, minlength=n_topics)
    running = np.cumsum(entry_weight)
    before_topic = np.r_[0.0, running][by_topic.indptr[:-1]]
    item_cdf = (
        entry_topic
        + (running - before_topic[entry_topic])
        / np.where(topic_mass > 0, topic_mass, 1.0)[entry_topic]
    )

    # Topic choice per reader: p(t | r) ∝ pref[r, t] * W[t] makes the mixture exact.
    topic_choice = preferences * topic_mass
    empty = topic_choice.sum(axis=1) == 0
    if topic_mass.sum() > 0:
        topic_choice[empty] = topic_mass
    topic_cdf = np.cumsum(topic_choice, axis=1)
    topic_cdf /= np.where(topic_cdf[:, -1:] > 0, topic_cdf[:, -1:], 1.0)
    topic_cdf = (topic_cdf + np.arange(n_readers)[:, None]).ravel()

    # Readers come out grouped (sorted), which keeps the per-reader topic lookups
    # below cache-local; the final shuffle restores a realistic event order.
    events_per_reader = rng.multinomial(n_events, activity / activity.sum())
    readers = np.repeat(np.arange(n_readers), events_per_reader)
    casual = (rng.random(n_events) < noise_share) | (topic_mass.sum() == 0)
    items = np.empty(n_events, dtype=np.int64)
    topical = np.flatnonzero(~casual)
    topic_positions = _draw_in_segments(rng, topic_cdf, readers[topical])
    topics = topic_positions - readers[topical] * n_topics
    items[topical] = by_topic.indices[_draw_in_segments(rng, item_cdf, topics)]
    global_cdf = np.cumsum(attraction / attraction.sum())
    items[casual] = np.minimum(
        np.searchsorted(global_cdf, rng.random(int(casual.sum())), side="right"),
        n_items - 1,
    )

    # Affinity pref[r] · T[i] per event via the item's few topics (no dense R x I).
    topics_per_event = np.diff(topic_weights.indptr)[items]
    event_of_entry = np.repeat(np.arange(n_events), topics_per_event)
    entry_offset = np.arange(len(event_of_entry)) - np.repeat(
        np.cumsum(topics_per_event) - topics_per_event, topics_per_event
    )
    entry = topic_weights.indptr[items][event_of_entry] + entry_offset
    affinity = np.bincount(
        event_of_entry,
        weights=preferences[readers[event_of_entry], topic_weights.indices[entry]]
        * topic_weights.data[entry],
        minlength=n_events,
    )
    relative_affinity = np.clip(affinity / preferences.max(axis=1)[readers], 0.0, 1.0)

    event_types = np.full(n_events, EVENT_CODES["view"], dtype=np.int8)
    engaged = rng.random(n_events) < 0.15 + 0.45 * relative_affinity
    engagement_pick = np.searchsorted(
        np.cumsum(_ENGAGEMENT_SHARES), rng.random(n_events), side="right"
    )
    engagement_pick = np.minimum(engagement_pick, len(_ENGAGEMENT_CODES) - 1)
    event_types[engaged] = _ENGAGEMENT_CODES[engagement_pick[engaged]]
    dismissed = rng.random(n_events) < dismiss_rate * (1.0 - relative_affinity) ** 3
    event_types[dismissed] = EVENT_CODES["dismiss"]

    is_read = event_types == EVENT_CODES["read"]
    dwell = rng.lognormal(mean=np.log(30.0 + 90.0 * relative_affinity), sigma=0.6)
    values = np.where(is_read, np.clip(dwell, 3.0, 1800.0), 0.0).astype(np.float32)

    # Sorted uniform times straight from normalised exponential gaps (O(n), no
    # sort), handed out over a random permutation of the events.
    gaps = rng.exponential(size=n_events + 1)
    timestamps = start + (end - start) * (np.cumsum(gaps[:-1]) / gaps.sum())
    order = rng.permutation(n_events)
    interactions = InteractionArrays(
        reader_ids=readers[order].astype(np.int64),
        item_ids=item_ids[items[order]],
        event_types=event_types[order],
        values=values[order],
        timestamps=timestamps,
    )
    return SimulatedReaders(
        interactions=interactions,
        preferences=preferences,
        item_popularity=popularity,
        item_topic_weights=topic_weights,
    )


def relative_affinity(
    preferences: np.ndarray, topic_weights: sp.csr_matrix
) -> np.ndarray:
    """[n_readers, n_items] ``pref[r] · T[i] / max(pref[r])`` in [0, 1]."""
    affinity = np.asarray(topic_weights @ preferences.T).T
    return np.clip(affinity / preferences.max(axis=1, keepdims=True), 0.0, 1.0)


@dataclass
class FeedReactions:
    """What a reader did with one served feed page; parallel arrays, one per event."""

    positions: np.ndarray  # int64: the listed item's position in the page
    event_types: np.ndarray  # int8 codes (positions in EVENT_TYPES)
    values: np.ndarray  # float32: dwell seconds for reads
    delays: np.ndarray  # float64: seconds after the page was served


def feed_reactions(
    rng: np.random.Generator,
    affinity: np.ndarray,
    *,
    click_base: float = 0.03,
    click_affinity: float = 0.45,
    position_decay: float = 0.25,
) -> FeedReactions:
    """A reader's reactions to a feed page whose items have ``affinity`` (in order).

    Item at position p is clicked (a ``view``) with p =
    ``(click_base + click_affinity * a) / (1 + position_decay * p)``; a click is
    followed by a ``read`` with p = 0.25 + 0.6 a (dwell longer when on-topic),
    and a read by a ``like`` with p = 0.1 + 0.3 a. An unclicked off-topic item
    (a < 0.2) in the first five is dismissed with p = 0.02. So every read and
    like follows a click on the page, and clicks never exceed what was listed.
    """
    affinity = np.asarray(affinity, dtype=np.float64)
    positions = np.arange(len(affinity))
    clicked = rng.random(len(affinity)) < (
        (click_base + click_affinity * affinity) / (1.0 + position_decay * positions)
    )
    read = clicked & (rng.random(len(affinity)) < 0.25 + 0.6 * affinity)
    liked = read & (rng.random(len(affinity)) < 0.1 + 0.3 * affinity)
    dismissed = (
        ~clicked
        & (affinity < 0.2)
        & (positions < 5)
        & (rng.random(len(affinity)) < 0.02)
    )
    dwell = np.clip(
        rng.lognormal(mean=np.log(30.0 + 90.0 * affinity), sigma=0.6), 3.0, 1800.0
    )
    parts = [
        (positions[clicked], EVENT_CODES["view"], 0.0, 5.0 + 20.0 * positions[clicked]),
        (positions[read], EVENT_CODES["read"], dwell[read], 10.0 + dwell[read]),
        (positions[liked], EVENT_CODES["like"], 0.0, 15.0 + dwell[liked]),
        (positions[dismissed], DISMISS_CODE, 0.0, 3.0 + positions[dismissed]),
    ]
    return FeedReactions(
        positions=np.concatenate([part[0] for part in parts]).astype(np.int64),
        event_types=np.concatenate(
            [np.full(len(part[0]), part[1], dtype=np.int8) for part in parts]
        ),
        values=np.concatenate(
            [np.broadcast_to(np.float32(part[2]), len(part[0])) for part in parts]
        ).astype(np.float32),
        delays=np.concatenate(
            [np.broadcast_to(part[3], len(part[0])) for part in parts]
        ).astype(np.float64),
    )
