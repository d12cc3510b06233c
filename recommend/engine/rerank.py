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


def diversify(
    *,
    ranked: np.ndarray,
    item_topics: sp.csr_matrix,
    max_per_topic: int,
    window: int,
    topic_lists: list[list[int]] | None = None,
) -> np.ndarray:
    """Reorder so that no topic holds more than max_per_topic of the first `window`.

    Walks the ranked candidates once: an item whose topics are all under the cap
    takes the next place; the others wait, in their order, until the window is
    full, then follow. Untagged items are never held back. ``topic_lists``
    (each row's topic columns, as Python lists) saves reading ``item_topics``
    item by item.
    """
    if max_per_topic <= 0 or len(ranked) == 0:
        return ranked
    counts: dict[int, int] = {}
    chosen: list[int] = []
    deferred: list[int] = []
    indptr, indices = item_topics.indptr, item_topics.indices
    items = ranked.tolist()
    for position, item in enumerate(items):
        if len(chosen) >= window:
            # The window is full: the rest keeps its order after the deferred.
            deferred.extend(items[position:])
            break
        if topic_lists is not None:
            topics = topic_lists[item]
        else:
            topics = indices[indptr[item] : indptr[item + 1]].tolist()
        if all(counts.get(topic, 0) < max_per_topic for topic in topics):
            chosen.append(item)
            for topic in topics:
                counts[topic] = counts.get(topic, 0) + 1
        else:
            deferred.append(item)
    return np.asarray(chosen + deferred, dtype=ranked.dtype)
