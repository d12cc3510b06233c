"""Reader segments: topic profiles, k-means, and matching clusters across runs."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment


@dataclass
class Clustering:
    centroids: np.ndarray  # [k, features]
    labels: np.ndarray  # [points] cluster of each point
    inertia: float  # sum of squared distances to the own centroid


def reader_topic_profiles(
    *,
    reader_rows: np.ndarray,
    item_columns: np.ndarray,
    weights: np.ndarray,
    item_topics: sp.csr_matrix,
    n_readers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each reader's engagement share per topic, and their total weight.

    An event's weight is split equally among its item's topics; a row sums to 1
    (or 0 for a reader with no weight on tagged items).
    """
    n_items, n_topics = item_topics.shape
    per_item = sp.csr_matrix(item_topics, dtype=np.float64)
    counts = np.diff(per_item.indptr)
    per_item.data = np.repeat(1.0 / np.maximum(counts, 1), counts)
    engagement = sp.csr_matrix(
        (np.asarray(weights, dtype=np.float64), (reader_rows, item_columns)),
        shape=(n_readers, n_items),
    )
    mass = np.asarray((engagement @ per_item).todense()).reshape(n_readers, n_topics)
    totals = mass.sum(axis=1)
    profiles = mass / np.where(totals > 0, totals, 1.0)[:, np.newaxis]
    return profiles, totals


def _squared_distances(
    points: np.ndarray, centroids: np.ndarray, point_norms: np.ndarray | None = None
) -> np.ndarray:
    if point_norms is None:
        point_norms = (points**2).sum(axis=1)
    squared = (
        point_norms[:, np.newaxis]
        - 2.0 * points @ centroids.T
        + (centroids**2).sum(axis=1)[np.newaxis, :]
    )
    return np.maximum(squared, 0.0)


def _plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next centre drawn in proportion to its distance²."""
    centroids = [points[rng.integers(len(points))]]
    closest = _squared_distances(points, centroids[0][np.newaxis, :]).ravel()
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:
            index = int(rng.integers(len(points)))
        else:
            index = int(np.searchsorted(np.cumsum(closest), rng.random() * total))
            index = min(index, len(points) - 1)
        centroids.append(points[index])
        distance = _squared_distances(points, points[index][np.newaxis, :]).ravel()
        closest = np.minimum(closest, distance)
    return np.array(centroids, dtype=np.float64)


def _lloyd(
    points: np.ndarray, centroids: np.ndarray, max_iter: int, tolerance: float
) -> Clustering:
    centroids = centroids.astype(np.float64, copy=True)
    k = len(centroids)
    point_norms = (points**2).sum(axis=1)
    # Converged once centroids move less than this (sklearn's criterion).
    threshold = tolerance * float(points.var(axis=0).mean())
    labels = np.full(len(points), -1, dtype=np.int64)
    for _ in range(max_iter):
        distances = _squared_distances(points, centroids, point_norms)
        new_labels = np.argmin(distances, axis=1)
        counts = np.bincount(new_labels, minlength=k)
        for empty in np.flatnonzero(counts == 0):
            # An empty cluster takes the point worst served by its own centre.
            worst = int(np.argmax(distances[np.arange(len(points)), new_labels]))
            new_labels[worst] = empty
            distances[worst] = 0.0
            counts = np.bincount(new_labels, minlength=k)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        # One sparse product sums each cluster's points (np.add.at is ~100x slower).
        assignment = sp.csr_matrix(
            (np.ones(len(points)), (labels, np.arange(len(points)))),
            shape=(k, len(points)),
        )
        moved = (assignment @ points) / np.maximum(counts, 1)[:, np.newaxis]
        shift = float(((moved - centroids) ** 2).sum())
        centroids = moved
        if shift <= threshold:
            break
    distances = _squared_distances(points, centroids, point_norms)
    labels = np.argmin(distances, axis=1)
    inertia = float(distances[np.arange(len(points)), labels].sum())
    return Clustering(centroids=centroids, labels=labels, inertia=inertia)


def kmeans(
    points: np.ndarray,
    k: int,
    *,
    seed: int = 42,
    n_init: int = 4,
    max_iter: int = 100,
    tolerance: float = 1e-4,
    initial: np.ndarray | None = None,
    keep_initial_within: float = 0.02,
    sample_size: int = 20_000,
) -> Clustering:
    """Lloyd's k-means with k-means++ restarts; the best inertia wins.

    With ``initial`` centroids (the previous run's), that warm start is kept
    unless a fresh restart is better by more than ``keep_initial_within``
    (relative inertia): segments then change only when the data says so.
    Past ``sample_size`` points the centroids are fitted on a random sample and
    every point then joins its nearest one (a few seconds at 100k readers
    instead of a minute; centroids of a 20k sample are as good for 8 segments).
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 0:
        raise ValueError("nothing to cluster")
    k = max(1, min(k, len(points)))
    rng = np.random.default_rng(seed)
    fitted = points
    if len(points) > sample_size:
        fitted = points[np.sort(rng.choice(len(points), sample_size, replace=False))]
    best: Clustering | None = None
    for _ in range(n_init):
        run = _lloyd(fitted, _plus_plus(fitted, k, rng), max_iter, tolerance)
        if best is None or run.inertia < best.inertia:
            best = run
    assert best is not None
    if initial is not None and len(initial) == k:
        warm = _lloyd(
            fitted, np.asarray(initial, dtype=np.float64), max_iter, tolerance
        )
        if best.inertia >= warm.inertia * (1.0 - keep_initial_within):
            best = warm
    if fitted is points:
        return best
    distances = _squared_distances(points, best.centroids)
    labels = np.argmin(distances, axis=1)
    return Clustering(
        centroids=best.centroids,
        labels=labels,
        inertia=float(distances[np.arange(len(points)), labels].sum()),
    )


def cosine_similarity(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``first`` with every row of ``second``."""
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    first_norm = np.linalg.norm(first, axis=1)
    second_norm = np.linalg.norm(second, axis=1)
    first_norm[first_norm == 0] = 1.0
    second_norm[second_norm == 0] = 1.0
    return (first / first_norm[:, np.newaxis]) @ (second / second_norm[:, None]).T


def membership_overlap(
    *,
    old_members: list[np.ndarray],
    new_members: list[np.ndarray],
) -> np.ndarray:
    """Jaccard index of every old segment's readers with every new segment's."""
    overlap = np.zeros((len(old_members), len(new_members)), dtype=np.float64)
    for row, old in enumerate(old_members):
        for column, new in enumerate(new_members):
            shared = len(np.intersect1d(old, new, assume_unique=True))
            union = len(old) + len(new) - shared
            overlap[row, column] = shared / union if union else 0.0
    return overlap


def cluster_match(
    similarity: np.ndarray, *, min_similarity: float
) -> list[tuple[int, int]]:
    """One-to-one (old, new) pairs maximising the total similarity (Hungarian).

    Pairs below ``min_similarity`` are dropped: that old segment has gone and
    that new one is new.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.size == 0:
        return []
    old_rows, new_columns = linear_sum_assignment(similarity, maximize=True)
    return [
        (int(old), int(new))
        for old, new in zip(old_rows, new_columns, strict=True)
        if similarity[old, new] >= min_similarity
    ]
