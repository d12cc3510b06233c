"""Re-ranking of a scored list: topic diversity and freshness."""

import numpy as np
import scipy.sparse as sp

SECONDS_PER_DAY = 86_400.0


def freshness_boost(
    *, published: np.ndarray, now: float, half_life_days: float, weight: float
) -> np.ndarray:
    """weight × 0.5^(age / half-life): a new item gets +weight, halving each period."""
    if weight == 0 or half_life_days <= 0:
        return np.zeros(len(published), dtype=np.float32)
    age_days = np.maximum(now - published, 0.0) / SECONDS_PER_DAY
    return (weight * 0.5 ** (age_days / half_life_days)).astype(np.float32)


def diversified_positions(
    items: list[int],
    *,
    topic_lists,
    max_per_topic: int,
    window: int,
) -> list[int]:
    """Positions in ``items`` (a ranking), reordered so that no topic holds more
    than max_per_topic of the first ``window``.

    Walks the ranking once: an item whose topics are all under the cap takes
    the next place; the others wait, in their order, until the window is full,
    then follow. Untagged items are never held back. ``topic_lists[item]`` are
    an item's topic columns.
    """
    if max_per_topic <= 0:
        return list(range(len(items)))
    counts: dict[int, int] = {}
    chosen: list[int] = []
    deferred: list[int] = []
    for position, item in enumerate(items):
        if len(chosen) >= window:
            # The window is full: the rest keeps its order after the deferred.
            deferred.extend(range(position, len(items)))
            break
        # Plain loops, no generator: this runs for every ranked item of a feed.
        for topic in topic_lists[item]:
            if counts.get(topic, 0) >= max_per_topic:
                deferred.append(position)
                break
        else:
            chosen.append(position)
            for topic in topic_lists[item]:
                counts[topic] = counts.get(topic, 0) + 1
    return chosen + deferred


class _CsrRows:
    """``rows[item]``: an item's topic columns read from the CSR matrix."""

    def __init__(self, item_topics: sp.csr_matrix) -> None:
        self.indptr, self.indices = item_topics.indptr, item_topics.indices

    def __getitem__(self, item: int) -> list[int]:
        return self.indices[self.indptr[item] : self.indptr[item + 1]].tolist()


def diversify(
    *,
    ranked: np.ndarray,
    item_topics: sp.csr_matrix,
    max_per_topic: int,
    window: int,
    topic_lists: list[list[int]] | None = None,
) -> np.ndarray:
    """``ranked`` in diversified_positions' order. ``topic_lists`` (each row's
    topic columns, as Python lists) saves reading ``item_topics`` item by item.
    """
    if max_per_topic <= 0 or len(ranked) == 0:
        return ranked
    order = diversified_positions(
        ranked.tolist(),
        topic_lists=topic_lists if topic_lists is not None else _CsrRows(item_topics),
        max_per_topic=max_per_topic,
        window=window,
    )
    return ranked[np.asarray(order, dtype=np.int64)]
