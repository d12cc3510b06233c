"""Offline evaluation: train/test split protocols and top-k ranking metrics.

For one user with recommended list ``rec`` (top k, ``-1`` = padding), relevant
set ``rel`` (binary relevance) and ``rel_i = 1`` when the item at rank i is in
``rel``:

* precision@k = |rec_k ∩ rel| / k  (padding counts as a miss);
* recall@k    = |rec_k ∩ rel| / |rel|;
* AP@k        = (1 / min(|rel|, k)) * sum_{i=1..k} P@i * rel_i, where
  P@i = |rec_i ∩ rel| / i (the min(|rel|, k) denominator follows the
  Microsoft Recommenders protocol, so a perfect list scores 1 even when
  |rel| > k);
* nDCG@k      = DCG@k / IDCG@k with DCG@k = sum_{i=1..k} rel_i / log2(i + 1)
  and IDCG@k the DCG of min(|rel|, k) hits at the top;
* coverage    = distinct items recommended across all users / n_items.

precision, recall, map and ndcg are means over the users passed in (a user with
no relevant item contributes 0); callers pass users present in train and test.
"""

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from recommend.engine.train import TrainedModel

SplitProtocol = Literal["random", "user", "item", "time"]
METRIC_NAMES: tuple[str, ...] = ("precision", "recall", "map", "ndcg", "coverage")


def _canonical(matrix: sp.spmatrix) -> sp.csr_matrix:
    """CSR copy with summed duplicates and sorted column indices."""
    canonical = sp.csr_matrix(matrix, copy=True)
    canonical.sum_duplicates()
    canonical.sort_indices()
    return canonical


def _train_counts(group_sizes: np.ndarray, ratio: float) -> np.ndarray:
    """Per-group train size: round-half-up of ratio * size, kept within [1, size]."""
    wanted = np.floor(ratio * group_sizes + 0.5).astype(np.int64)
    return np.minimum(np.maximum(wanted, 1), group_sizes)


def _rank_within_groups(groups: np.ndarray, *sort_keys: np.ndarray) -> np.ndarray:
    """Rank (0-based) of each entry inside its group, ordered by sort_keys."""
    # np.lexsort sorts by its LAST key first, so the group goes last.
    order = np.lexsort((*sort_keys, groups))
    sorted_groups = groups[order]
    group_start = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    run_lengths = np.diff(np.r_[group_start, len(sorted_groups)])
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - np.repeat(group_start, run_lengths)
    return ranks


def _stratified_train_mask(
    groups: np.ndarray, n_groups: int, ratio: float, *sort_keys: np.ndarray
) -> np.ndarray:
    if len(groups) == 0:
        return np.zeros(0, dtype=bool)
    ranks = _rank_within_groups(groups, *sort_keys)
    sizes = np.bincount(groups, minlength=n_groups)
    return ranks < _train_counts(sizes, ratio)[groups]


def _subset(matrix: sp.csr_matrix, rows: np.ndarray, keep: np.ndarray) -> sp.csr_matrix:
    """Rows stay in CSR order, so masking the nonzeros keeps indices sorted."""
    indptr = np.r_[0, np.cumsum(np.bincount(rows[keep], minlength=matrix.shape[0]))]
    return sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], indptr.astype(matrix.indptr.dtype)),
        shape=matrix.shape,
    )


def split_interactions(
    matrix: sp.csr_matrix,
    *,
    protocol: SplitProtocol,
    ratio: float = 0.75,
    seed: int = 42,
    timestamps: sp.csr_matrix | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split the stored interactions into disjoint (train, test) matrices.

    * ``random``: round(ratio * nnz) interactions drawn uniformly go to train;
    * ``user``: each reader keeps round(ratio * n) of its interactions in train,
      at least one, so every reader with data stays in train;
    * ``item``: the same per item column;
    * ``time``: per reader, the latest (1 - ratio) share by ``timestamps`` (a CSR
      matrix with the same sparsity structure) goes to test, at least one kept.

    Rounding is half-up; ties in time are broken by the seeded random draw.
    """
    parts = split_with_timestamps(
        matrix, protocol=protocol, ratio=ratio, seed=seed, timestamps=timestamps
    )
    return parts.train, parts.test


class SplitParts(NamedTuple):
    """A split and, when timestamps were given, their matching parts."""

    train: sp.csr_matrix
    test: sp.csr_matrix
    train_timestamps: sp.csr_matrix | None
    test_timestamps: sp.csr_matrix | None


def split_with_timestamps(
    matrix: sp.csr_matrix,
    *,
    protocol: SplitProtocol,
    ratio: float = 0.75,
    seed: int = 42,
    timestamps: sp.csr_matrix | None = None,
) -> SplitParts:
    """split_interactions, also splitting ``timestamps`` along the same pairs."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    matrix = _canonical(matrix)
    n_readers, n_items = matrix.shape
    rows = np.repeat(np.arange(n_readers), np.diff(matrix.indptr))
    rng = np.random.default_rng(seed)
    random_key = rng.random(matrix.nnz)
    if timestamps is not None:
        timestamps = _canonical(timestamps)
        same_structure = np.array_equal(
            timestamps.indptr, matrix.indptr
        ) and np.array_equal(timestamps.indices, matrix.indices)
        if not same_structure:
            raise ValueError("timestamps must have the sparsity structure of matrix")

    if protocol == "random":
        n_train = int(np.floor(ratio * matrix.nnz + 0.5))
        train_mask = np.zeros(matrix.nnz, dtype=bool)
        train_mask[rng.permutation(matrix.nnz)[:n_train]] = True
    elif protocol == "user":
        train_mask = _stratified_train_mask(rows, n_readers, ratio, random_key)
    elif protocol == "item":
        train_mask = _stratified_train_mask(
            matrix.indices.astype(np.int64), n_items, ratio, random_key
        )
    elif protocol == "time":
        if timestamps is None:
            raise ValueError("the time protocol needs a timestamps matrix")
        train_mask = _stratified_train_mask(
            rows, n_readers, ratio, random_key, timestamps.data
        )
    else:
        raise ValueError(f"unknown split protocol: {protocol!r}")

    train_times = test_times = None
    if timestamps is not None:
        train_times = _subset(timestamps, rows, train_mask)
        test_times = _subset(timestamps, rows, ~train_mask)
    return SplitParts(
        train=_subset(matrix, rows, train_mask),
        test=_subset(matrix, rows, ~train_mask),
        train_timestamps=train_times,
        test_timestamps=test_times,
    )


def _hit_matrix(
    recommended: np.ndarray,
    relevant: Sequence[set[int]] | sp.csr_matrix,
    n_items: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean hits [users, k] and |rel| per user."""
    n_users = recommended.shape[0]
    if sp.issparse(relevant):
        relevant = sp.csr_matrix(relevant)
        relevant.eliminate_zeros()
        relevant.sum_duplicates()
        relevant_rows = np.repeat(np.arange(n_users), np.diff(relevant.indptr))
        relevant_items = relevant.indices.astype(np.int64)
        n_relevant = np.diff(relevant.indptr)
    else:
        if len(relevant) != n_users:
            raise ValueError("relevant must have one entry per recommended row")
        n_relevant = np.array([len(items) for items in relevant], dtype=np.int64)
        relevant_rows = np.repeat(np.arange(n_users), n_relevant)
        relevant_items = np.fromiter(
            (item for items in relevant for item in items),
            dtype=np.int64,
            count=int(n_relevant.sum()),
        )
    relevant_keys = np.sort(relevant_rows.astype(np.int64) * n_items + relevant_items)
    recommended_keys = (
        np.arange(n_users, dtype=np.int64)[:, None] * n_items + recommended
    )
    hits = np.isin(recommended_keys, relevant_keys) & (recommended >= 0)
    return hits, n_relevant


def ranking_metrics(
    recommended: np.ndarray,
    relevant: Sequence[set[int]] | sp.csr_matrix,
    *,
    k: int,
    n_items: int,
) -> dict[str, float]:
    """precision, recall, map, ndcg @k and coverage (formulas in module docstring).

    ``recommended`` holds item indices [users, >= k] (-1 = padding); ``relevant``
    is one set of item indices per row, or a CSR matrix with one row per row.
    """
    recommended = np.asarray(recommended, dtype=np.int64)[:, :k]
    if recommended.shape[1] < k:
        padding = np.full((recommended.shape[0], k - recommended.shape[1]), -1)
        recommended = np.hstack([recommended, padding])
    n_users = recommended.shape[0]
    shown = recommended[recommended >= 0]
    coverage = len(np.unique(shown)) / n_items if n_items else 0.0
    if n_users == 0:
        return {
            "precision": 0.0,
            "recall": 0.0,
            "map": 0.0,
            "ndcg": 0.0,
            "coverage": 0.0,
        }

    hits, n_relevant = _hit_matrix(recommended, relevant, n_items)
    hit_counts = hits.sum(axis=1)
    has_relevant = n_relevant > 0
    safe_relevant = np.maximum(n_relevant, 1)
    ideal_hits = np.minimum(n_relevant, k)

    precision = hit_counts / k
    recall = np.where(has_relevant, hit_counts / safe_relevant, 0.0)

    ranks = np.arange(1, k + 1)
    precision_at_rank = np.cumsum(hits, axis=1) / ranks
    average_precision = np.where(
        has_relevant,
        (precision_at_rank * hits).sum(axis=1) / np.maximum(ideal_hits, 1),
        0.0,
    )

    discounts = 1.0 / np.log2(ranks + 1)
    dcg = (hits * discounts).sum(axis=1)
    ideal_dcg_by_hits = np.r_[0.0, np.cumsum(discounts)]
    ideal_dcg = ideal_dcg_by_hits[ideal_hits]
    ndcg = np.where(has_relevant, dcg / np.where(ideal_dcg > 0, ideal_dcg, 1.0), 0.0)

    return {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "map": float(average_precision.mean()),
        "ndcg": float(ndcg.mean()),
        "coverage": float(coverage),
    }


def evaluable_readers(train: sp.csr_matrix, test: sp.csr_matrix) -> np.ndarray:
    """Rows with at least one train and one test interaction."""
    train_counts = np.diff(sp.csr_matrix(train).indptr)
    test_counts = np.diff(sp.csr_matrix(test).indptr)
    return np.flatnonzero((train_counts > 0) & (test_counts > 0))


def evaluate_model(
    model: "TrainedModel", train: sp.csr_matrix, test: sp.csr_matrix, *, k: int = 10
) -> dict[str, float]:
    """Metrics @k for readers with train and test data, hiding train items."""
    train = sp.csr_matrix(train)
    test = sp.csr_matrix(test)
    reader_rows = evaluable_readers(train, test)
    recommended, _ = model.recommend(reader_rows, train, n=k, filter_seen=True)
    metrics = ranking_metrics(
        recommended, test[reader_rows], k=k, n_items=train.shape[1]
    )
    return {**metrics, "users": int(len(reader_rows))}


def evaluate_algorithms(
    matrix: sp.csr_matrix,
    *,
    algorithms: Sequence[str],
    protocol: SplitProtocol = "user",
    ratio: float = 0.75,
    seed: int = 42,
    k: int = 10,
    search_budget: float | None = 60.0,
    search_trials: int | None = None,
    params: dict[str, dict] | None = None,
    timestamps: sp.csr_matrix | None = None,
) -> list[dict]:
    """Split once, then train and score each algorithm on the same split.

    ``params`` maps an algorithm to parameter overrides. ``"auto"`` runs
    search_hyperparameters on the TRAIN part only (it carves its own validation
    split from it, same protocol and ratio), within ``search_budget`` seconds
    and/or ``search_trials`` trials, then trains the winner on the whole train
    part; its row has ``params = {"algorithm": winner, **winner_params}`` and
    ``train_seconds`` includes the search. The test part never reaches the
    search or any fit.
    """
    # Imported here because search and train import this module.
    from recommend.engine.search import search_hyperparameters
    from recommend.engine.train import SEARCHABLE_ALGORITHMS, train_model

    params = params or {}
    parts = split_with_timestamps(
        matrix, protocol=protocol, ratio=ratio, seed=seed, timestamps=timestamps
    )
    train, test, train_times = parts.train, parts.test, parts.train_timestamps
    results = []
    for algorithm in algorithms:
        started = time.perf_counter()
        if algorithm == "auto":
            search = search_hyperparameters(
                train,
                algorithms=list(SEARCHABLE_ALGORITHMS),
                budget_seconds=search_budget,
                max_trials=search_trials,
                k=k,
                seed=seed,
                protocol=protocol,
                ratio=ratio,
                timestamps=train_times,
            )
            model = train_model(
                train,
                algorithm=search.best_algorithm,
                params=search.best_params,
                seed=seed,
                timestamps=train_times,
            )
            reported_params = {"algorithm": search.best_algorithm, **model.params}
        else:
            model = train_model(
                train,
                algorithm=algorithm,
                params=params.get(algorithm, {}),
                seed=seed,
                timestamps=train_times,
            )
            reported_params = model.params
        train_seconds = time.perf_counter() - started
        metrics = evaluate_model(model, train, test, k=k)
        results.append(
            {
                "model": algorithm,
                **{name: metrics[name] for name in METRIC_NAMES},
                "train_seconds": train_seconds,
                "params": reported_params,
            }
        )
    return results
