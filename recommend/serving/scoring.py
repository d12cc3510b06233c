"""Scoring one reader over the whole live catalogue: history, model scores, anchors."""

import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection

from recommend.engine.coldstart import als_fold_in
from recommend.engine.matrix import EVENT_CODES, event_weights
from recommend.engine.recency import blend_scale, blend_with_popularity, popularity_part
from recommend.models import Event, Reader
from recommend.serving.state import ServingState

DISMISS = EVENT_CODES["dismiss"]


@dataclass
class ReaderHistory:
    reader_pk: int | None
    erased: bool
    page_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    codes: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    timestamps: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))


def reader_history(*, external_id: str) -> ReaderHistory:
    """The reader's latest events in one query (none for an unknown reader).

    Raw SQL on purpose: this runs on every feed computation, and building ORM
    rows for up to RECOMMEND_HISTORY_LIMIT events cost more than scoring 50k items.
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
        # A time the database cannot read (NULL) weighs as old, never crashes.
        timestamps=np.fromiter(
            (0.0 if row[5] is None else row[5] for row in rows), np.float64, len(rows)
        ),
    )


def history_weights(history: ReaderHistory, rows: np.ndarray) -> tuple:
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


def reader_vector(
    state: ServingState, history: ReaderHistory, rows: np.ndarray
) -> np.ndarray | None:
    """The reader's factor vector (factor models only; None without history)."""
    model = state.model
    if model is None or not state.factor_based:
        return None
    history_rows, weights = history_weights(history, rows)
    if len(history_rows) == 0:
        return None
    reader_row = state.reader_row(history.reader_pk)
    newer = history.timestamps.max() > state.trained_until
    if reader_row >= 0 and not newer and model.user_factors is not None:
        return model.user_factors[reader_row]
    # Fold in events the model has not seen (new reader or new clicks).
    params = model.params
    return als_fold_in(
        item_factors=state.item_factors,
        columns=history_rows,
        weights=weights,
        regularization=float(params.get("regularization", 0.05)),
        alpha=float(params.get("alpha", 2.0)),
        gram=state.gram,
    )


def personal_scores(
    state: ServingState, history: ReaderHistory, rows: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(model scores for every live item, reader vector), or (None, None).

    A model trained with a popularity blend is served with it, through the
    evaluation's own function (``blend_with_popularity``); the returned vector
    is then scaled like the model's part of the blend, so that an item scored
    later from it (published since) lands on the same scale.
    """
    model = state.model
    if model is None:
        return None, None
    if state.factor_based:
        vector = reader_vector(state, history, rows)
        if vector is None:
            return None, None
        return factor_scores(state, vector=vector, products=state.item_factors @ vector)
    history_rows, weights = history_weights(history, rows)
    if len(history_rows) == 0:
        return None, None
    if model.similarity is not None:
        columns = state.model_columns[history_rows]
        known = columns >= 0
        profile = np.zeros(model.n_items, dtype=np.float32)
        profile[columns[known]] = weights[known]
        model_scores = np.asarray(model.similarity.T @ profile).ravel()
        scores = np.zeros(len(state.catalogue), dtype=np.float32)
        present = state.model_columns >= 0
        scores[present] = model_scores[state.model_columns[present]]
        if state.blend > 0:
            scores = _blended(state, scores)
        return scores, None
    return None, None


def factor_scores(
    state: ServingState, *, vector: np.ndarray, products: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(scores of every live item, reader vector) from the reader's vector and
    its products with every item's factors (computed one reader at a time, or
    for many readers in one matrix product).

    A model trained with a popularity blend is served with it, through the
    evaluation's own function (``blend_with_popularity``); the returned vector
    is then scaled like the model's part of the blend, so that an item scored
    later from it (published since) lands on the same scale.
    """
    if state.blend <= 0:
        return products, vector
    scale = float(blend_scale(products)[0, 0])
    vector = (vector * ((1.0 - state.blend) / scale)).astype(np.float32)
    return _blended(state, products), vector


# Readers scored per matrix product: 256 × 50k float32 scores are 51 MB.
SCORING_BLOCK = 256


def personal_scores_many(
    state: ServingState, histories: list[ReaderHistory], rows: list[np.ndarray]
) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """personal_scores for many readers, their factor products in blocks.

    One reader's product reads every item's factors for one vector (memory
    bound); a block of readers reads them once (a matrix product, BLAS speed).
    """
    if state.model is None or not state.factor_based:
        return [
            personal_scores(state, history, history_rows)
            for history, history_rows in zip(histories, rows, strict=True)
        ]
    vectors = [
        None if history.erased else reader_vector(state, history, history_rows)
        for history, history_rows in zip(histories, rows, strict=True)
    ]
    results: list[tuple[np.ndarray | None, np.ndarray | None]] = [(None, None)] * len(
        histories
    )
    scored = [index for index, vector in enumerate(vectors) if vector is not None]
    for start in range(0, len(scored), SCORING_BLOCK):
        block = scored[start : start + SCORING_BLOCK]
        matrix = np.stack([vectors[index] for index in block]).astype(np.float32)
        products = matrix @ state.item_factors.T
        for position, index in enumerate(block):
            results[index] = factor_scores(
                state, vector=vectors[index], products=products[position]
            )
    return results


def _blended(state: ServingState, scores: np.ndarray) -> np.ndarray:
    assert state.blend_popularity is not None
    return blend_with_popularity(
        scores, state.blend_popularity, weight=state.blend, peak=state.blend_peak
    )


def popularity_led(
    state: ServingState, rows: np.ndarray, scores: np.ndarray
) -> np.ndarray | None:
    """Rows whose blended score owes more to popularity than to the model."""
    if state.blend <= 0 or state.blend_popularity is None:
        return None
    part = popularity_part(
        state.blend_popularity[rows], weight=state.blend, peak=state.blend_peak
    )
    return part > scores - part


def rank(scores: np.ndarray, *, count: int, item_ids: np.ndarray) -> np.ndarray:
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
