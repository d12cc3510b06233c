"""Personalised feeds and similar items, scored over every live item at once."""

import time
import uuid
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from recommend.catalogue import Catalogue
from recommend.engine.coldstart import als_fold_in
from recommend.engine.matrix import EVENT_CODES, event_weights
from recommend.engine.rerank import diversify
from recommend.impressions import impression_record
from recommend.models import Event, FeedImpression, Reader
from recommend.routing import audience_prior_scores
from recommend.serving import ServingState, serving_state
from recommend.trending import trending_scores

DISMISS = EVENT_CODES["dismiss"]


class FeedFilterError(ValueError):
    """A filter names something that does not exist (unknown topic, section...)."""


@dataclass
class ReaderHistory:
    reader_pk: int | None
    erased: bool
    page_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    codes: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    timestamps: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))


@dataclass
class FeedItem:
    id: int
    title: str
    url: str
    topics: list[dict]
    score: float
    reason: str


@dataclass
class Feed:
    feed_id: str
    reader: str
    model_version: int | None
    strategy: str
    items: list[FeedItem]


def reader_history(*, external_id: str) -> ReaderHistory:
    """The reader's latest events in one query (none for an unknown reader).

    Raw SQL on purpose: this runs on every feed request, and building ORM rows
    for up to RECOMMEND_HISTORY_LIMIT events cost more than scoring 50k items.
    """
    if connection.vendor == "postgresql":
        epoch = "EXTRACT(EPOCH FROM event.occurred_at)::float8"
    else:
        epoch = "(julianday(event.occurred_at) - 2440587.5) * 86400.0"
    sql = (
        f"SELECT reader.id, reader.erased, event.page_id, event.type, event.value, "
        f"{epoch} FROM {Reader._meta.db_table} reader "
        f"LEFT JOIN {Event._meta.db_table} event ON event.reader_id = reader.id "
        "WHERE reader.external_id = %s "
        "ORDER BY event.occurred_at DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [external_id, settings.RECOMMEND_HISTORY_LIMIT])
        rows = cursor.fetchall()
    if not rows:
        return ReaderHistory(reader_pk=None, erased=False)
    reader_pk, erased = rows[0][0], bool(rows[0][1])
    if erased or rows[0][2] is None:
        return ReaderHistory(reader_pk=reader_pk, erased=erased)
    return ReaderHistory(
        reader_pk=reader_pk,
        erased=False,
        page_ids=np.fromiter((row[2] for row in rows), np.int64, len(rows)),
        codes=np.fromiter((EVENT_CODES[row[3]] for row in rows), np.int8, len(rows)),
        values=np.fromiter((row[4] for row in rows), np.float32, len(rows)),
        timestamps=np.fromiter((row[5] for row in rows), np.float64, len(rows)),
    )


def _filter_mask(
    catalogue: Catalogue, *, section: str | None, topic: str | None, locale: str | None
) -> np.ndarray:
    mask = np.ones(len(catalogue), dtype=bool)
    if topic:
        column = catalogue.topic_column(topic)
        if column < 0:
            raise FeedFilterError(f"Unknown topic '{topic}'.")
        mask &= np.asarray(
            catalogue.item_topics[:, column].todense(), dtype=bool
        ).ravel()
    if section:
        section_pk = catalogue.section_by_slug.get(section)
        if section_pk is None:
            # Only a section with no live article misses the catalogue's map.
            from wagtail.models import Page

            section_pk = (
                Page.objects.filter(slug=section, depth=3).values_list("pk", flat=True)
            ).first()
        if section_pk is None:
            raise FeedFilterError(f"Unknown section '{section}'.")
        mask &= catalogue.section_ids == section_pk
    if locale:
        mask &= catalogue.locales == locale
    return mask


def _history_weights(history: ReaderHistory, rows: np.ndarray) -> tuple:
    """Decayed weights per catalogue row of the reader's positive events."""
    positive = (rows >= 0) & (history.codes != DISMISS)
    weight = event_weights(
        history.codes[positive],
        history.values[positive],
        weights=settings.RECOMMEND_EVENT_WEIGHTS,
        read_full_seconds=settings.RECOMMEND_READ_FULL_SECONDS,
    )
    age_days = (time.time() - history.timestamps[positive]) / 86_400.0
    weight *= 0.5 ** (np.maximum(age_days, 0) / settings.RECOMMEND_HALF_LIFE_DAYS)
    unique_rows, inverse = np.unique(rows[positive], return_inverse=True)
    summed = np.zeros(len(unique_rows), dtype=np.float64)
    np.add.at(summed, inverse, weight)
    return unique_rows, summed


def _personal_scores(
    state: ServingState, history: ReaderHistory, rows: np.ndarray
) -> np.ndarray | None:
    """Model scores for every live item, or None when the model cannot help."""
    model = state.model
    if model is None:
        return None
    history_rows, history_weights = _history_weights(history, rows)
    if len(history_rows) == 0:
        return None
    if state.factor_based:
        reader_row = state.reader_row(history.reader_pk)
        newer = history.timestamps.max() > state.trained_until
        if reader_row >= 0 and not newer and model.user_factors is not None:
            vector = model.user_factors[reader_row]
        else:
            # Fold in events the model has not seen (new reader or new clicks).
            params = model.params
            vector = als_fold_in(
                item_factors=state.item_factors,
                columns=history_rows,
                weights=history_weights,
                regularization=float(params.get("regularization", 0.05)),
                alpha=float(params.get("alpha", 2.0)),
                gram=state.gram,
            )
        return state.item_factors @ vector
    if model.similarity is not None:
        columns = state.model_columns[history_rows]
        known = columns >= 0
        profile = np.zeros(model.n_items, dtype=np.float32)
        profile[columns[known]] = history_weights[known]
        model_scores = np.asarray(model.similarity.T @ profile).ravel()
        scores = np.zeros(len(state.catalogue), dtype=np.float32)
        present = state.model_columns >= 0
        scores[present] = model_scores[state.model_columns[present]]
        return scores
    return None


def _rank(scores: np.ndarray, *, count: int, item_ids: np.ndarray) -> np.ndarray:
    """Rows of the best `count` finite scores, best first, ties by item id."""
    valid = np.flatnonzero(np.isfinite(scores))
    if len(valid) == 0:
        return valid
    count = min(count, len(valid))
    if count < len(valid):
        top = valid[np.argpartition(-scores[valid], count - 1)[:count]]
    else:
        top = valid
    order = np.lexsort((item_ids[top], -scores[top]))
    return top[order]


def _topic_list(catalogue: Catalogue, row: int) -> list[dict]:
    return [
        {
            "id": int(catalogue.topic_ids[column]),
            "slug": catalogue.topic_slugs[column],
            "name": catalogue.topic_names[column],
        }
        for column in catalogue.item_topic_columns(row)
    ]


def _reasons(
    state: ServingState,
    rows: np.ndarray,
    *,
    strategy: str,
    history_rows: np.ndarray,
    topic: str | None,
) -> list[str]:
    catalogue = state.catalogue
    reasons = []
    anchors = None
    if strategy == "personal" and len(history_rows):
        if state.factor_based:
            anchor_vectors = (
                state.item_factors[history_rows]
                / state.item_norms[history_rows, np.newaxis]
            )
            target = state.item_factors[rows] / state.item_norms[rows, np.newaxis]
            anchors = history_rows[np.argmax(target @ anchor_vectors.T, axis=1)]
        elif state.model is not None and state.model.similarity is not None:
            # Item-kNN: the read item most similar to each recommended one.
            history_columns = state.model_columns[history_rows]
            target_columns = state.model_columns[rows]
            known = history_columns >= 0
            anchors = np.full(len(rows), history_rows[0])
            if known.any():
                block = state.model.similarity[history_columns[known]]
                block = block[:, np.maximum(target_columns, 0)].toarray()
                best = history_rows[known][np.argmax(block, axis=0)]
                anchors = np.where(target_columns >= 0, best, anchors)
        else:
            anchors = np.full(len(rows), history_rows[0])
    newest = state.trained_until
    for position, row in enumerate(rows.tolist()):
        columns = catalogue.item_topic_columns(row)
        topic_name = catalogue.topic_names[columns[0]] if columns else "the news"
        if topic:
            column = catalogue.topic_column(topic)
            topic_name = catalogue.topic_names[column]
        is_new = state.model is not None and catalogue.published[row] > newest
        if state.model_columns is not None and state.model_columns[row] < 0:
            is_new = True
        if is_new and strategy == "personal":
            reasons.append(f"New in {topic_name}")
        elif anchors is not None:
            reasons.append(f"Because you read “{catalogue.titles[anchors[position]]}”")
        else:
            reasons.append(f"Popular in {topic_name}")
    return reasons


def feed_for_reader(
    *,
    external_id: str,
    n: int = 20,
    offset: int = 0,
    section: str | None = None,
    topic: str | None = None,
    locale: str | None = None,
) -> Feed:
    """A ranked page of live articles for a reader, with a reason for each."""
    state = serving_state()
    catalogue = state.catalogue
    mask = _filter_mask(catalogue, section=section, topic=topic, locale=locale)
    history = reader_history(external_id=external_id)
    rows = catalogue.positions(history.page_ids)
    scores = None if history.erased else _personal_scores(state, history, rows)
    strategy = "personal"
    if scores is None:
        strategy = "trending"
        scores = trending_scores(catalogue).copy()
    scores = scores.astype(np.float32, copy=True)
    scores += state.freshness_scores()
    if not history.erased:
        # Articles written for the reader's audiences, before the model knows them.
        lift = audience_prior_scores(state, history.reader_pk, scores)
        if lift is not None:
            scores += lift
    seen = rows[rows >= 0]
    scores[seen] = -np.inf
    scores[~mask] = -np.inf
    window = offset + n
    ranked = _rank(scores, count=window * 3 + 50, item_ids=catalogue.item_ids)
    ranked = diversify(
        ranked=ranked,
        item_topics=catalogue.item_topics,
        max_per_topic=settings.RECOMMEND_FEED_MAX_PER_TOPIC if not topic else 0,
        window=window,
    )
    page = ranked[offset:window]
    history_rows = np.unique(rows[(rows >= 0) & (history.codes != DISMISS)])
    reasons = _reasons(
        state, page, strategy=strategy, history_rows=history_rows, topic=topic
    )
    feed = Feed(
        feed_id=uuid.uuid4().hex,
        reader=external_id,
        model_version=state.model_version_id if strategy == "personal" else None,
        strategy=strategy,
        items=[
            FeedItem(
                id=int(catalogue.item_ids[row]),
                title=catalogue.titles[row],
                url=catalogue.urls[row],
                topics=_topic_list(catalogue, row),
                score=round(float(scores[row]), 4),
                reason=reason,
            )
            for row, reason in zip(page.tolist(), reasons, strict=True)
        ],
    )
    impression_record(
        FeedImpression(
            feed_id=feed.feed_id,
            reader_id=history.reader_pk,
            reader_external_id=external_id,
            model_version_id=feed.model_version,
            page_ids=[item.id for item in feed.items],
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
            served_at=timezone.now(),
        )
    )
    return feed


@dataclass
class SimilarItem:
    id: int
    title: str
    url: str
    topics: list[dict]
    score: float


def similar_items(*, page_id: int, n: int = 10) -> list[SimilarItem] | None:
    """Live items most like a live page (None if the page is not live)."""
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
    ranked = _rank(scores, count=n, item_ids=catalogue.item_ids)
    return [
        SimilarItem(
            id=int(catalogue.item_ids[other]),
            title=catalogue.titles[other],
            url=catalogue.urls[other],
            topics=_topic_list(catalogue, other),
            score=round(float(scores[other]), 4),
        )
        for other in ranked.tolist()
    ]
