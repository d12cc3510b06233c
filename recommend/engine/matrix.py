"""Turn reader interaction events into a weighted readers x items CSR matrix.

Orientation: readers are ROWS and items are COLUMNS (``matrix[reader_row,
item_column]``), which is what implicit 0.7's ``fit(user_items)`` expects.

Weight of one event (before decay), with ``w = weights``:

* ``read``: ``max(w["view"], w["read"] * min(value / read_full_seconds, 1))``,
  i.e. a read scales with dwell seconds up to ``read_full_seconds`` and is never
  worth less than a view;
* every other type: ``w[event_type]`` (``value`` is ignored).

With ``half_life_days`` set, each event is multiplied by
``0.5 ** (age_days / half_life_days)`` where ``age_days = max(now - timestamp,
0) / 86400``. Several events on the same (reader, item) pair are summed.
A pair with any ``dismiss`` event is removed from the matrix entirely, whatever
its positive events, and reported in a separate boolean matrix.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

# Integer event codes are positions in this tuple (int8 codes keep 5M events small).
EVENT_TYPES: tuple[str, ...] = ("view", "read", "like", "bookmark", "share", "dismiss")
EVENT_CODES: dict[str, int] = {name: code for code, name in enumerate(EVENT_TYPES)}
DISMISS_CODE = EVENT_CODES["dismiss"]

EVENT_WEIGHTS_DEFAULT: dict[str, float] = {
    "view": 1.0,
    "read": 2.0,
    "like": 4.0,
    "bookmark": 4.0,
    "share": 5.0,
    "dismiss": 0.0,
}

SECONDS_PER_DAY = 86_400.0


@dataclass
class InteractionArrays:
    """Parallel arrays, one entry per event."""

    reader_ids: np.ndarray  # int64
    item_ids: np.ndarray  # int64
    event_types: np.ndarray  # str names or int codes (positions in EVENT_TYPES)
    values: np.ndarray  # float32, dwell seconds for reads
    timestamps: np.ndarray  # float64 unix seconds

    def __post_init__(self) -> None:
        lengths = {
            len(self.reader_ids),
            len(self.item_ids),
            len(self.event_types),
            len(self.values),
            len(self.timestamps),
        }
        if len(lengths) != 1:
            raise ValueError(f"interaction arrays differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.reader_ids)

    def until(self, moment: float) -> "InteractionArrays":
        """The events that occurred at or before ``moment`` (unix seconds)."""
        keep = self.timestamps <= moment
        if keep.all():
            return self
        return InteractionArrays(
            reader_ids=self.reader_ids[keep],
            item_ids=self.item_ids[keep],
            event_types=self.event_types[keep],
            values=self.values[keep],
            timestamps=self.timestamps[keep],
        )


@dataclass
class IdMap:
    """Matrix positions <-> external ids; both arrays are sorted and unique."""

    reader_ids: np.ndarray  # row -> reader id
    item_ids: np.ndarray  # column -> item id

    def reader_index(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the given reader ids, -1 where a reader is unknown."""
        return _positions(self.reader_ids, ids)

    def item_index(self, ids: np.ndarray) -> np.ndarray:
        """Columns of the given item ids, -1 where an item is unknown."""
        return _positions(self.item_ids, ids)


class BuiltMatrix(NamedTuple):
    """Result of build_matrix; unpacks as ``matrix, id_map, dismissed``."""

    matrix: sp.csr_matrix  # float32 weights, readers x items
    id_map: IdMap
    dismissed: sp.csr_matrix  # bool, same shape: pairs to hide when serving


def _positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    if len(sorted_ids) == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    positions = np.searchsorted(sorted_ids, ids)
    clipped = np.minimum(positions, len(sorted_ids) - 1)
    found = sorted_ids[clipped] == ids
    return np.where(found, clipped, -1).astype(np.int64)


def unique_with_inverse(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)``, in O(n) for compact id ranges.

    Database ids are mostly dense autoincrement integers; a presence table over
    their range avoids the O(n log n) sort that dominates 5M-event builds.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return ids.copy(), np.zeros(0, dtype=np.int64)
    low, high = int(ids.min()), int(ids.max())
    if high - low > 4 * len(ids) + 1_000_000:
        return np.unique(ids, return_inverse=True)
    offsets = ids - low
    present = np.zeros(high - low + 1, dtype=bool)
    present[offsets] = True
    position_of_offset = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, position_of_offset[offsets]


def event_codes(event_types: np.ndarray) -> np.ndarray:
    """Int8 codes (positions in EVENT_TYPES) for event names or codes."""
    event_types = np.asarray(event_types)
    if event_types.dtype.kind in "iu":
        codes = event_types.astype(np.int8)
    else:
        # One vectorised comparison per known type beats np.unique on 5M strings.
        codes = np.full(event_types.shape, -1, dtype=np.int8)
        for name, code in EVENT_CODES.items():
            codes[event_types == name] = code
    unknown = (codes < 0) | (codes >= len(EVENT_TYPES))
    if unknown.any():
        raise ValueError(f"unknown event types: {np.unique(event_types[unknown])[:5]}")
    return codes


def event_weights(
    codes: np.ndarray,
    values: np.ndarray,
    *,
    weights: Mapping[str, float] = EVENT_WEIGHTS_DEFAULT,
    read_full_seconds: float = 120.0,
) -> np.ndarray:
    """Undecayed weight of each event (see the module docstring)."""
    weights = {**EVENT_WEIGHTS_DEFAULT, **weights}
    per_code = np.array([weights[name] for name in EVENT_TYPES], dtype=np.float64)
    event_weight = per_code[codes]
    is_read = codes == EVENT_CODES["read"]
    dwell_share = np.clip(
        np.asarray(values, dtype=np.float64)[is_read] / read_full_seconds, 0.0, 1.0
    )
    event_weight[is_read] = np.maximum(
        weights["view"], weights["read"] * np.nan_to_num(dwell_share)
    )
    return event_weight


def build_matrix(
    interactions: InteractionArrays,
    *,
    weights: Mapping[str, float] = EVENT_WEIGHTS_DEFAULT,
    half_life_days: float | None = None,
    now: float | None = None,
    read_full_seconds: float = 120.0,
    item_ids: np.ndarray | None = None,
) -> BuiltMatrix:
    """Weighted readers x items CSR matrix, its IdMap and the dismissed pairs.

    ``item_ids`` fixes the column universe: items without events still get a
    column, and events on items outside it are dropped (e.g. deleted items).
    ``now`` defaults to the latest event so decay is reproducible from the data.
    """
    codes = event_codes(interactions.event_types)
    reader_ids_per_event = np.asarray(interactions.reader_ids, dtype=np.int64)
    item_ids_per_event = np.asarray(interactions.item_ids, dtype=np.int64)
    timestamps = np.asarray(interactions.timestamps, dtype=np.float64)

    reader_ids, rows = unique_with_inverse(reader_ids_per_event)
    if item_ids is None:
        column_ids, columns = unique_with_inverse(item_ids_per_event)
    else:
        column_ids = np.unique(np.asarray(item_ids, dtype=np.int64))
        columns = _positions(column_ids, item_ids_per_event)
    id_map = IdMap(reader_ids=reader_ids, item_ids=column_ids)
    shape = (len(reader_ids), len(column_ids))

    known = columns >= 0
    weight = event_weights(
        codes, interactions.values, weights=weights, read_full_seconds=read_full_seconds
    )
    if half_life_days is not None:
        if now is None:
            now = float(timestamps.max()) if len(timestamps) else 0.0
        age_days = np.maximum(now - timestamps, 0.0) / SECONDS_PER_DAY
        weight *= 0.5 ** (age_days / half_life_days)

    is_dismiss = (codes == DISMISS_CODE) & known
    dismissed = sp.csr_matrix(
        (
            np.ones(int(is_dismiss.sum()), dtype=bool),
            (rows[is_dismiss], columns[is_dismiss]),
        ),
        shape=shape,
    )
    dismissed.sort_indices()

    positive = known & ~is_dismiss
    matrix = sp.csr_matrix(
        (weight[positive], (rows[positive], columns[positive])), shape=shape
    )  # coo -> csr sums duplicate (reader, item) pairs
    # Subtracting the element-wise product zeroes dismissed pairs exactly.
    matrix = matrix - matrix.multiply(dismissed)
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    assert matrix.shape == (len(id_map.reader_ids), len(id_map.item_ids))
    return BuiltMatrix(matrix=matrix, id_map=id_map, dismissed=dismissed)


def interaction_timestamps(
    interactions: InteractionArrays, id_map: IdMap, matrix: sp.csr_matrix
) -> sp.csr_matrix:
    """Latest event time per stored (reader, item) pair, aligned with ``matrix``.

    The result has exactly the sparsity structure of ``matrix`` (needed by the
    "time" split protocol); pairs are keyed as ``row * n_items + column``.
    """
    matrix = matrix.tocsr()
    matrix.sort_indices()
    n_items = matrix.shape[1]
    rows = id_map.reader_index(interactions.reader_ids)
    columns = id_map.item_index(interactions.item_ids)
    known = (rows >= 0) & (columns >= 0)
    event_keys = rows[known] * n_items + columns[known]
    event_times = np.asarray(interactions.timestamps, dtype=np.float64)[known]

    order = np.lexsort((event_times, event_keys))
    event_keys, event_times = event_keys[order], event_times[order]
    # The last event of each key run is its latest (sorted by time within key).
    last_of_run = np.r_[event_keys[1:] != event_keys[:-1], True]
    pair_keys, pair_times = event_keys[last_of_run], event_times[last_of_run]

    matrix_rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    matrix_keys = matrix_rows.astype(np.int64) * n_items + matrix.indices
    if len(matrix_keys) == 0:
        return sp.csr_matrix(matrix.shape, dtype=np.float64)
    positions = np.searchsorted(pair_keys, matrix_keys)
    positions = np.minimum(positions, max(len(pair_keys) - 1, 0))
    if len(pair_keys) == 0 or not np.array_equal(pair_keys[positions], matrix_keys):
        raise ValueError("matrix holds pairs that have no interaction events")
    return sp.csr_matrix(
        (pair_times[positions], matrix.indices.copy(), matrix.indptr.copy()),
        shape=matrix.shape,
    )
