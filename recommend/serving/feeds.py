"""Personalised feeds (stage two: from a cached candidate list) and similar items.

A request reads the reader's candidate list and recent events from the feeds
cache in one round trip (recommend/serving/candidates.py), drops what is no
longer live, seen or dismissed, mixes in what went live since the list was built
(scored on the fly), applies the filters, freshness, audience lift and diversity,
and pages. Work is proportional to the list (a few hundred items), not to the
catalogue. Without a usable list it scores every live item (the full path) and
stores the list for the next request.
"""

import datetime
import functools
import os
import secrets
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils import timezone

from recommend.engine.rerank import diversified_positions, diversify
from recommend.serving.candidates import (
    STRATEGY_PERSONAL,
    CandidateList,
    RecentEvents,
    candidate_list_compute,
    candidate_list_read,
    candidate_list_store,
    candidate_lists_refresh_request,
)
from recommend.serving.cards import item_cards
from recommend.serving.catalogue import Catalogue
from recommend.serving.impressions import impression_record
from recommend.serving.reasons import feed_reasons, reason_anchors
from recommend.serving.routing import (
    audience_prior_lift,
    audience_prior_rows,
    audience_prior_scores,
)
from recommend.serving.scoring import (
    ReaderHistory,
    history_weights,
    popularity_led,
    rank,
    reader_history,
)
from recommend.serving.state import ServingState, serving_state
from recommend.serving.trending import trending_scores

# Where a feed came from (the X-Feed-Source response header, the bench's hit rate).
SOURCE_LIST = "list"
SOURCE_COMPUTED = "computed"
SOURCE_FULL = "full"

__all__ = [
    "Feed",
    "FeedFilterError",
    "FeedItem",
    "FeedPage",
    "ReaderErased",
    "feed_for_reader",
    "reader_history",
]


class FeedFilterError(ValueError):
    """A filter names something that does not exist (unknown topic, section...)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field  # the query parameter that is wrong


class ReaderErased(Exception):
    """The reader was erased: nothing is served to or recorded about that id."""


@dataclass
class FeedItem:
    id: int
    title: str
    url: str
    topics: list[dict]
    score: float
    reason: str
    # What a card shows (recommend/serving/cards.py), when asked for.
    card: dict | None = None


@dataclass
class FeedPage:
    """A feed's items as stage two left them (FeedItems are built from it on
    demand: the API's plain path writes JSON straight from these lists)."""

    catalogue: Catalogue
    rows: list[int]
    item_ids: list[int]
    scores: list[float]  # rounded as served
    reasons: list[str]
    cards: bool  # whether cards were asked for (read when the items are built)


class Feed:
    """A ranked page for a reader; ``items`` is built from ``page`` when first read."""

    def __init__(
        self,
        *,
        feed_id: str,
        reader: str,
        model_version: int | None,
        strategy: str,
        items: list[FeedItem] | None = None,
        page: FeedPage | None = None,
        source: str = SOURCE_FULL,
        total: int = 0,
    ) -> None:
        self.feed_id = feed_id
        self.reader = reader
        self.model_version = model_version
        self.strategy = strategy
        self.page = page
        self.source = source
        # Live articles this feed can still show the reader (filters applied, seen
        # and dismissed left out): the list envelope's count.
        self.total = total
        if items is not None or page is None:
            self.__dict__["items"] = items or []

    @functools.cached_property
    def items(self) -> list[FeedItem]:
        page = self.page
        catalogue = page.catalogue
        cards = (
            item_cards(catalogue, page.rows) if page.cards else [None] * len(page.rows)
        )
        return [
            FeedItem(
                id=item_id,
                title=catalogue.titles[row],
                url=catalogue.urls[row],
                topics=_topic_list(catalogue, row),
                score=score,
                reason=reason,
                card=card,
            )
            for row, item_id, score, reason, card in zip(
                page.rows, page.item_ids, page.scores, page.reasons, cards, strict=True
            )
        ]

    @property
    def item_ids(self) -> list[int]:
        if self.page is not None:
            return self.page.item_ids
        return [item.id for item in self.items]


def feed_id_new() -> str:
    """32 hex digits: the time in milliseconds, then 80 random bits.

    Time first, so that the impressions' unique index on feed_id grows at its
    end (random ids, like uuid4's, touched pages all over that index on every
    insert: most of the cost of recording impressions at a few thousand feeds
    a second); the random part keeps ids unguessable and unique.
    """
    return f"{time.time_ns() // 1_000_000:012x}{_random_part()}"


# Random parts drawn from the OS a batch at a time: one system call per 64 feeds
# instead of one per feed. Taken with list.pop (atomic under the GIL); emptied in
# a forked child, which must not hand out its parent's remaining parts.
_RANDOM_BATCH = 64
_random_parts: list[str] = []
os.register_at_fork(after_in_child=_random_parts.clear)


def _random_part() -> str:
    """20 hex digits (80 bits) from the OS's CSPRNG, never handed out twice."""
    try:
        return _random_parts.pop()
    except IndexError:
        block = secrets.token_hex(10 * _RANDOM_BATCH)
        _random_parts.extend(
            block[start : start + 20] for start in range(20, len(block), 20)
        )
        return block[:20]


def _filter_mask(
    catalogue: Catalogue, *, section: str | None, topic: str | None, locale: str | None
) -> np.ndarray | None:
    """Rows passing the filters (built once per catalogue); None without filters."""
    if not (section or topic or locale):
        return None
    section_pk = None
    if topic and catalogue.topic_column(topic) < 0:
        raise FeedFilterError(f"Unknown topic '{topic}'.", field="topic")
    if section:
        section_pk = catalogue.section_by_slug.get(section)
        if section_pk is None:
            # Only a section with no live article misses the catalogue's map.
            from wagtail.models import Page

            section_pk = (
                Page.objects.filter(slug=section, depth=3).values_list("pk", flat=True)
            ).first()
        if section_pk is None:
            raise FeedFilterError(f"Unknown section '{section}'.", field="section")

    def build() -> np.ndarray:
        mask = np.ones(len(catalogue), dtype=bool)
        if topic:
            column = catalogue.topic_column(topic)
            mask &= np.asarray(
                catalogue.item_topics[:, column].todense(), dtype=bool
            ).ravel()
        if section:
            mask &= catalogue.section_ids == section_pk
        if locale:
            mask &= catalogue.locales == locale
        return mask

    return catalogue.filter_mask((section_pk, topic, locale), build)


def _topic_list(catalogue: Catalogue, row: int) -> list[dict]:
    # Shared per catalogue: callers only read (and render) them.
    return catalogue.item_topic_dicts(row)


@dataclass
class _Page:
    rows: np.ndarray
    scores: np.ndarray  # aligned with rows
    anchors: np.ndarray | None  # aligned with rows, -1 for none
    strategy: str
    reader_pk: int | None
    total: int
    history_rows: np.ndarray  # live items the reader has seen (for the reasons)


def _eligible_count(seen: np.ndarray, mask: np.ndarray | None) -> int:
    """Rows not seen and passing the filters (one flag per live item)."""
    eligible = ~seen
    if mask is not None:
        eligible &= mask
    return int(np.count_nonzero(eligible))


def _trending_candidates(state: ServingState) -> tuple[np.ndarray, np.ndarray]:
    """The top trending rows (same for everyone), recomputed with trending."""
    scores = trending_scores(state.catalogue)
    memo = _trending_memo
    if memo.get("scores") is not scores:
        top = rank(
            scores.astype(np.float32) + state.freshness_scores(),
            count=settings.RECOMMEND_CANDIDATES_SIZE * 2,
            item_ids=state.catalogue.item_ids,
        )
        memo.update(scores=scores, top=top)
    top = memo["top"]
    return top, scores[top]


_trending_memo: dict[str, object] = {}


def _rows_score(
    state: ServingState, candidate_list: CandidateList, rows: np.ndarray
) -> np.ndarray:
    """Scores of rows the list does not hold (new items, audience articles)."""
    if len(rows) == 0:
        return np.empty(0, np.float32)
    if candidate_list.vector is not None and state.factor_based:
        return (state.item_factors[rows] @ candidate_list.vector).astype(np.float32)
    # Item-kNN: the model cannot place an item it has not seen.
    return np.zeros(len(rows), np.float32)


def _page_from_list(
    state: ServingState,
    candidate_list: CandidateList,
    recent: RecentEvents | None,
    *,
    mask: np.ndarray | None,
    n: int,
    offset: int,
    topic: str | None,
) -> _Page | None:
    """Stage two over the list; None when the list cannot fill the page."""
    catalogue = state.catalogue
    window = offset + n
    complete = candidate_list.complete
    seen_ids = candidate_list.seen_ids
    if recent is not None and recent.events:
        seen_ids = np.concatenate(
            [seen_ids, np.array([event[0] for event in recent.events], np.int64)]
        )
    if candidate_list.strategy == STRATEGY_PERSONAL:
        # Rows of the listed, anchor and seen ids in one read of the row table.
        listed_count = len(candidate_list.item_ids)
        found = catalogue.positions(
            np.concatenate(
                [candidate_list.item_ids, candidate_list.anchor_ids, seen_ids]
            )
        )
        rows = found[:listed_count]
        seen_rows = found[2 * listed_count :]
        live = rows >= 0
        rows, base = rows[live], candidate_list.scores[live]
        anchors = found[listed_count : 2 * listed_count][live]
        fresh = catalogue.rows_live_since(candidate_list.built_at)
        if len(fresh):
            listed = np.zeros(len(catalogue), dtype=bool)
            listed[rows] = True
            fresh = fresh[~listed[fresh]]
            rows = np.concatenate([rows, fresh])
            base = np.concatenate([base, _rows_score(state, candidate_list, fresh)])
            anchors = np.concatenate([anchors, np.full(len(fresh), -1)])
    else:
        rows, base = _trending_candidates(state)
        anchors = None
        complete = len(rows) >= len(catalogue)
        seen_rows = catalogue.positions(seen_ids)
    # One flag per live item: cheaper than set operations on small arrays.
    seen = np.zeros(len(catalogue), dtype=bool)
    seen[seen_rows[seen_rows >= 0]] = True
    keep = ~seen[rows]
    if mask is not None:
        keep &= mask[rows]
    reader_pk = candidate_list.reader_pk
    routed = audience_prior_rows(state, reader_pk)
    if routed is not None:
        # Articles written for the reader's audiences join the candidates.
        routed_rows, strength = routed
        listed = np.zeros(len(catalogue), dtype=bool)
        listed[rows] = True
        extra = routed_rows[~listed[routed_rows]]
        if len(extra):
            rows = np.concatenate([rows, extra])
            base = np.concatenate([base, _rows_score(state, candidate_list, extra)])
            if anchors is not None:
                anchors = np.concatenate([anchors, np.full(len(extra), -1)])
            extra_keep = ~seen[extra]
            if mask is not None:
                extra_keep &= mask[extra]
            keep = np.concatenate([keep, extra_keep])
    scores = base.astype(np.float32) + state.freshness_scores()[rows]
    if routed is not None:
        routed_rows, strength = routed
        order = np.argsort(rows)
        positions = order[np.searchsorted(rows, routed_rows, sorter=order)]
        scores[positions] += audience_prior_lift(scores, positions, strength)
    rows, scores = rows[keep], scores[keep]
    if anchors is not None:
        anchors = anchors[keep]
    if len(rows) < window and not complete:
        return None
    order = np.lexsort((catalogue.item_ids[rows], -scores))
    rows, scores = rows[order], scores[order]
    if anchors is not None:
        anchors = anchors[order]
    # Like the full path: diversity reorders the best window * 3 + 50 only.
    head = window * 3 + 50
    positions = diversified_positions(
        rows[:head].tolist(),
        topic_lists=catalogue.topic_column_lists(),
        max_per_topic=settings.RECOMMEND_FEED_MAX_PER_TOPIC if not topic else 0,
        window=window,
    )
    page = np.array(positions[offset:window], dtype=np.int64)
    return _Page(
        rows=rows[page],
        scores=scores[page],
        anchors=None if anchors is None else anchors[page],
        strategy=candidate_list.strategy,
        reader_pk=reader_pk,
        total=_eligible_count(seen, mask),
        history_rows=seen_rows,
    )


def _page_full(
    state: ServingState,
    history: ReaderHistory,
    scores: np.ndarray | None,
    rows: np.ndarray,
    *,
    mask: np.ndarray | None,
    n: int,
    offset: int,
    topic: str | None,
) -> _Page:
    """Stage two over every live item (no list, or the list cannot fill the page)."""
    catalogue = state.catalogue
    strategy = STRATEGY_PERSONAL
    if scores is None:
        strategy = "trending"
        scores = trending_scores(catalogue)
    scores = scores.astype(np.float32, copy=True)
    scores += state.freshness_scores()
    if not history.erased:
        # Articles written for the reader's audiences, before the model knows them.
        lift = audience_prior_scores(state, history.reader_pk, scores)
        if lift is not None:
            scores += lift
    seen = rows[rows >= 0]
    scores[seen] = -np.inf
    seen_flags = np.zeros(len(catalogue), dtype=bool)
    seen_flags[seen] = True
    if mask is not None:
        scores[~mask] = -np.inf
    window = offset + n
    ranked = rank(scores, count=window * 3 + 50, item_ids=catalogue.item_ids)
    ranked = diversify(
        ranked=ranked,
        item_topics=catalogue.item_topics,
        max_per_topic=settings.RECOMMEND_FEED_MAX_PER_TOPIC if not topic else 0,
        window=window,
        topic_lists=catalogue.topic_column_lists(),
    )
    page = ranked[offset:window]
    anchors = None
    if strategy == STRATEGY_PERSONAL:
        history_rows, weights = history_weights(history, rows)
        anchors = reason_anchors(
            state,
            page,
            history_rows=history_rows,
            weights=weights,
            popularity_led=popularity_led(state, page, scores[page]),
        )
    return _Page(
        rows=page,
        scores=scores[page],
        anchors=anchors,
        strategy=strategy,
        reader_pk=history.reader_pk,
        total=_eligible_count(seen_flags, mask),
        history_rows=rows,
    )


def _list_outdated(candidate_list: CandidateList, recent: RecentEvents | None) -> bool:
    """A young reader's list misses events the reader just sent: recompute now,
    so that a new reader's first clicks shape their very next feed."""
    if recent is None or not recent.events:
        return False
    return (
        candidate_list.events < settings.RECOMMEND_CANDIDATES_YOUNG_EVENTS
        and recent.newest() > candidate_list.built_at
    )


def feed_for_reader(
    *,
    external_id: str,
    n: int = 20,
    offset: int = 0,
    section: str | None = None,
    topic: str | None = None,
    locale: str | None = None,
    served_at: datetime.datetime | None = None,
    cards: bool = False,
) -> Feed:
    """A ranked page of live articles for a reader, with a reason for each (and,
    with ``cards``, what a card shows of each).

    ``served_at`` dates the impression (default now; the reader simulation
    replays past sessions through this same code).
    """
    state = serving_state()
    catalogue = state.catalogue
    mask = _filter_mask(catalogue, section=section, topic=topic, locale=locale)
    stamp = state.model_stamp
    candidate_list, recent = candidate_list_read(stamp=stamp, external_id=external_id)
    page = None
    source = SOURCE_LIST
    if candidate_list is not None and not _list_outdated(candidate_list, recent):
        page = _page_from_list(
            state, candidate_list, recent, mask=mask, n=n, offset=offset, topic=topic
        )
        if (
            page is not None
            and recent is not None
            and candidate_list.reader_pk is not None
            and recent.newest()
            > candidate_list.built_at + settings.RECOMMEND_CANDIDATES_DEBOUNCE_SECONDS
        ):
            # Events the list still misses a debounce window later (they came
            # while a refresh was pending): have it rebuilt.
            candidate_lists_refresh_request(reader_pks=[candidate_list.reader_pk])
    if page is None:
        built_at = time.time()
        history = reader_history(external_id=external_id)
        if history.erased:
            # Serving them would record an impression about someone who asked to be
            # forgotten; the front-end learns the id is gone and starts a new one.
            raise ReaderErased(external_id)
        fresh_list, scores, rows = candidate_list_compute(
            state=state, history=history, built_at=built_at
        )
        if candidate_list is None or _list_outdated(candidate_list, recent):
            source = SOURCE_COMPUTED
            if history.reader_pk is not None and not history.erased:
                candidate_list_store(
                    stamp=stamp, external_id=external_id, candidate_list=fresh_list
                )
        else:
            source = SOURCE_FULL
        page = _page_full(
            state,
            history,
            scores,
            rows,
            mask=mask,
            n=n,
            offset=offset,
            topic=topic,
        )
    reasons = feed_reasons(
        state,
        page.rows,
        personal=page.strategy == STRATEGY_PERSONAL,
        anchors=page.anchors,
        history_rows=page.history_rows,
        topic=topic,
    )
    rows = page.rows.tolist()
    feed = Feed(
        feed_id=feed_id_new(),
        reader=external_id,
        model_version=(
            state.model_version_id if page.strategy == STRATEGY_PERSONAL else None
        ),
        strategy=page.strategy,
        source=source,
        total=page.total,
        page=FeedPage(
            catalogue=catalogue,
            rows=rows,
            item_ids=catalogue.item_ids[page.rows].tolist(),
            scores=[round(score, 4) for score in page.scores.tolist()],
            reasons=reasons,
            cards=cards,
        ),
    )
    impression_record(
        feed_id=feed.feed_id,
        reader_id=page.reader_pk,
        reader_external_id=external_id,
        model_version_id=feed.model_version,
        page_ids=feed.item_ids,
        offset=offset,
        filters={
            key: value
            for key, value in (
                ("section", section),
                ("topic", topic),
                ("locale", locale),
            )
            if value
        },
        served_at=served_at or timezone.now(),
    )
    return feed


@dataclass
class SimilarItem:
    id: int
    title: str
    url: str
    topics: list[dict]
    score: float
    card: dict | None = None


def similar_items(
    *, page_id: int, n: int = 10, cards: bool = False
) -> list[SimilarItem] | None:
    """Live items most like a live page (None if the page is not live); with
    ``cards``, what a card shows of each."""
    state = serving_state()
    catalogue = state.catalogue
    row = int(catalogue.positions(np.array([page_id]))[0])
    if row < 0:
        return None
    model = state.model
    if state.factor_based:
        target = state.item_factors[row] / state.item_norms[row]
        scores = (state.item_factors @ target) / state.item_norms
    elif (
        model is not None
        and model.similarity is not None
        and (state.model_columns[row] >= 0)
    ):
        similarity_row = model.similarity[state.model_columns[row]]
        model_scores = np.asarray(similarity_row.todense()).ravel()
        scores = np.zeros(len(catalogue), dtype=np.float32)
        present = state.model_columns >= 0
        scores[present] = model_scores[state.model_columns[present]]
    else:
        text = catalogue.text_index.matrix
        scores = np.asarray((text @ text[row].T).todense()).ravel()
    scores = scores.astype(np.float32, copy=True)
    scores[row] = -np.inf
    ranked = rank(scores, count=n, item_ids=catalogue.item_ids).tolist()
    card_list = item_cards(catalogue, ranked) if cards else [None] * len(ranked)
    return [
        SimilarItem(
            id=int(catalogue.item_ids[other]),
            title=catalogue.titles[other],
            url=catalogue.urls[other],
            topics=_topic_list(catalogue, other),
            score=round(float(scores[other]), 4),
            card=card,
        )
        for other, card in zip(ranked, card_list, strict=True)
    ]
