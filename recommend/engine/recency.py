"""Time in training: decayed event weights and recency-aware popularity.

Both work on a timestamps matrix with the sparsity structure of the weights
(the latest event time of each reader-item pair, unix seconds) and a reference
time ``now`` (by default the newest timestamp, so that results depend on the
data only, never on the day the code runs):

* ``decayed(matrix, timestamps, half_life_days)`` multiplies each weight by
  ``0.5 ** (age_days / half_life_days)``;
* ``recent_popularity(matrix, timestamps, half_life_days)`` scores item i as
  ``sum over readers r of 0.5 ** (age_days(r, i) / half_life_days)``: each
  reader counts once, recent readers count more. Without timestamps (or with
  a half-life of 0) it is the number of distinct readers (plain popularity).
"""

import numpy as np
import scipy.sparse as sp

SECONDS_PER_DAY = 86_400.0


def reference_time(timestamps: sp.csr_matrix | None) -> float:
    """The newest timestamp (0 when there is none)."""
    if timestamps is None or timestamps.nnz == 0:
        return 0.0
    return float(timestamps.data.max())


def decay_factors(
    timestamps: sp.csr_matrix, *, half_life_days: float, now: float | None = None
) -> np.ndarray:
    """0.5 ** (age / half-life) per stored pair, aligned with ``timestamps.data``."""
    if half_life_days <= 0:
        raise ValueError("the half-life must be positive")
    now = reference_time(timestamps) if now is None else now
    age_days = np.maximum(now - timestamps.data, 0.0) / SECONDS_PER_DAY
    return np.power(0.5, age_days / half_life_days)


def _aligned(matrix: sp.csr_matrix, timestamps: sp.csr_matrix) -> None:
    if not (
        np.array_equal(matrix.indptr, timestamps.indptr)
        and np.array_equal(matrix.indices, timestamps.indices)
    ):
        raise ValueError("timestamps must have the sparsity structure of matrix")


def decayed(
    matrix: sp.csr_matrix,
    timestamps: sp.csr_matrix,
    *,
    half_life_days: float,
    now: float | None = None,
) -> sp.csr_matrix:
    """A copy of ``matrix`` with each weight decayed by the age of its pair."""
    _aligned(matrix, timestamps)
    result = matrix.copy()
    factors = decay_factors(timestamps, half_life_days=half_life_days, now=now)
    result.data = (result.data * factors).astype(result.dtype)
    return result


def recent_popularity(
    matrix: sp.csr_matrix,
    timestamps: sp.csr_matrix | None,
    *,
    half_life_days: float,
    now: float | None = None,
) -> np.ndarray:
    """Time-decayed count of distinct readers per item (see the module docstring)."""
    n_items = matrix.shape[1]
    presence = np.ones(matrix.nnz, dtype=np.float64)
    if timestamps is not None and timestamps.nnz and half_life_days > 0:
        _aligned(matrix, timestamps)
        presence = decay_factors(timestamps, half_life_days=half_life_days, now=now)
    scores = np.bincount(matrix.indices, weights=presence, minlength=n_items)
    # Total weight only breaks ties (it adds at most 0.001).
    total = np.bincount(
        matrix.indices, weights=np.asarray(matrix.data, np.float64), minlength=n_items
    )
    heaviest = total.max() if total.size else 0.0
    tie_break = 1e-3 * total / heaviest if heaviest > 0 else 0.0
    return scores + tie_break


def blend_scale(scores: np.ndarray) -> np.ndarray:
    """max |finite score| per row ([rows, 1]; 1 where a row has none): the
    model's scores are divided by it before the blend."""
    scores = np.asarray(scores, dtype=np.float32)
    block = scores.reshape(1, -1) if scores.ndim == 1 else scores
    finite = np.where(np.isfinite(block), np.abs(block), 0.0)
    scale = finite.max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return scale


def popularity_part(
    popularity: np.ndarray, *, weight: float, peak: float | None = None
) -> np.ndarray:
    """weight * popularity / peak (peak: the largest popularity by default)."""
    if peak is None:
        peak = float(np.max(popularity)) if len(popularity) else 0.0
    normalised = np.asarray(popularity, np.float32) / (peak if peak > 0 else 1.0)
    return (weight * normalised).astype(np.float32)


def blend_with_popularity(
    scores: np.ndarray,
    popularity: np.ndarray,
    *,
    weight: float,
    peak: float | None = None,
) -> np.ndarray:
    """(1 - weight) * scores / max|scores| (per row) + weight * popularity / peak.

    ``scores`` is [readers, items] or one reader's [items]; both parts are
    brought to a common scale so that ``weight`` means the same for every model.
    The one blend of evaluation, holdout scoring and serving (serving passes
    the popularity of the live items and the model's ``peak``).
    """
    scores = np.asarray(scores, dtype=np.float32)
    single = scores.ndim == 1
    block = scores.reshape(1, -1) if single else scores
    blended = (1.0 - weight) * block / blend_scale(block) + popularity_part(
        popularity, weight=weight, peak=peak
    )[np.newaxis, :]
    blended = blended.astype(np.float32)
    return blended.ravel() if single else blended
