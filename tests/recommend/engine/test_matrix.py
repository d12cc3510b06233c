"""Tests for building the weighted readers x items matrix from events."""

import numpy as np
import pytest

from recommend.engine.matrix import (
    EVENT_CODES,
    InteractionArrays,
    build_matrix,
    event_codes,
    interaction_timestamps,
    unique_with_inverse,
)

NOW = 1_700_000_000.0
DAY = 86_400.0


def events(rows: list[tuple[int, int, str, float, float]]) -> InteractionArrays:
    """(reader, item, event type, value, timestamp) tuples -> InteractionArrays."""
    readers, items, types, values, times = zip(*rows, strict=True)
    return InteractionArrays(
        reader_ids=np.array(readers, dtype=np.int64),
        item_ids=np.array(items, dtype=np.int64),
        event_types=np.array(types),
        values=np.array(values, dtype=np.float32),
        timestamps=np.array(times, dtype=np.float64),
    )


# Hand-checked example, default weights, read_full_seconds = 120:
#   reader 10: view 100 twice (1 + 1 = 2); read 200 for 90 s (2 * 90/120 = 1.5);
#              read 300 for 10 s (2 * 10/120 = 0.17 -> floor at view weight 1.0)
#   reader 20: like 100 (4) but also dismissed it -> removed, reported;
#              share 200 (5); read 300 for 600 s (dwell capped: 2 * 1 = 2)
#   reader 30: bookmark 300 (4)
HAND_EVENTS = [
    (10, 100, "view", 0.0, NOW),
    (10, 100, "view", 0.0, NOW),
    (10, 200, "read", 90.0, NOW),
    (10, 300, "read", 10.0, NOW),
    (20, 100, "like", 0.0, NOW),
    (20, 100, "dismiss", 0.0, NOW),
    (20, 200, "share", 0.0, NOW),
    (20, 300, "read", 600.0, NOW),
    (30, 300, "bookmark", 0.0, NOW),
]
HAND_EXPECTED = np.array(
    [
        [2.0, 1.5, 1.0],
        [0.0, 5.0, 2.0],
        [0.0, 0.0, 4.0],
    ],
    dtype=np.float32,
)


def test_weights_dwell_duplicates_and_dismissals_on_hand_example() -> None:
    # given
    interactions = events(HAND_EVENTS)

    # when
    matrix, id_map, dismissed = build_matrix(interactions, now=NOW)

    # then
    np.testing.assert_allclose(matrix.toarray(), HAND_EXPECTED)
    assert matrix.dtype == np.float32
    assert matrix.has_sorted_indices
    assert matrix.nnz == 6  # 3 + 2 + 1: the dismissed (20, 100) pair is not stored
    assert dismissed.dtype == bool
    assert dismissed.shape == matrix.shape
    assert list(zip(*dismissed.nonzero(), strict=True)) == [(1, 0)]


def test_rows_are_readers_and_columns_are_items() -> None:
    # given
    interactions = events(HAND_EVENTS)

    # when
    matrix, id_map, _ = build_matrix(interactions, now=NOW)

    # then
    assert matrix.shape == (3, 3)  # (n_readers, n_items)
    assert id_map.reader_ids.tolist() == [10, 20, 30]
    assert id_map.item_ids.tolist() == [100, 200, 300]
    # Row of reader 30 holds exactly its one bookmark on item 300.
    row = matrix[int(id_map.reader_index(np.array([30]))[0])]
    assert row.indices.tolist() == [int(id_map.item_index(np.array([300]))[0])]
    assert row.data.tolist() == [4.0]
    assert id_map.reader_index(np.array([20, 99])).tolist() == [1, -1]
    assert id_map.item_index(np.array([300, 5, 100])).tolist() == [2, -1, 0]


def test_read_weight_scales_with_dwell_and_floors_at_view() -> None:
    # given reads of 0, 30, 60, 120 and 240 seconds by readers 1..5 on item 7
    interactions = events(
        [
            (reader, 7, "read", seconds, NOW)
            for reader, seconds in enumerate([0.0, 30.0, 60.0, 120.0, 240.0], start=1)
        ]
    )

    # when
    matrix, _, _ = build_matrix(interactions, now=NOW, read_full_seconds=120.0)

    # then 2 * [0, .25, .5, 1, 1] = [0, .5, 1, 2, 2], floored at the view weight 1
    np.testing.assert_allclose(matrix.toarray().ravel(), [1.0, 1.0, 1.0, 2.0, 2.0])


def test_decay_halves_weight_at_one_half_life() -> None:
    # given likes (weight 4) made now, 7 days ago and 14 days ago
    interactions = events(
        [
            (1, 1, "like", 0.0, NOW),
            (2, 1, "like", 0.0, NOW - 7 * DAY),
            (3, 1, "like", 0.0, NOW - 14 * DAY),
        ]
    )

    # when
    matrix, _, _ = build_matrix(interactions, half_life_days=7.0, now=NOW)

    # then 4 * 0.5 ** (age / 7 days) = 4, 2, 1
    np.testing.assert_allclose(matrix.toarray().ravel(), [4.0, 2.0, 1.0])


def test_without_half_life_there_is_no_decay() -> None:
    # given a like made a year ago
    interactions = events([(1, 1, "like", 0.0, NOW - 365 * DAY)])

    # when
    matrix, _, _ = build_matrix(interactions, half_life_days=None, now=NOW)

    # then
    assert matrix.toarray().tolist() == [[4.0]]


def test_item_universe_keeps_empty_columns_and_drops_unknown_items() -> None:
    # given events on items 100 and 999, with a catalogue of 100, 200 and 300
    interactions = events([(1, 100, "view", 0.0, NOW), (1, 999, "share", 0.0, NOW)])

    # when
    matrix, id_map, _ = build_matrix(
        interactions, now=NOW, item_ids=np.array([300, 100, 200])
    )

    # then
    assert matrix.shape == (1, 3)
    assert id_map.item_ids.tolist() == [100, 200, 300]
    assert matrix.toarray().tolist() == [[1.0, 0.0, 0.0]]


def test_custom_weights_and_zero_weights_are_not_stored() -> None:
    # given views made worthless and likes doubled
    interactions = events([(1, 1, "view", 0.0, NOW), (1, 2, "like", 0.0, NOW)])

    # when
    matrix, _, _ = build_matrix(interactions, weights={"view": 0.0, "like": 8.0})

    # then
    assert matrix.nnz == 1
    assert matrix.toarray().tolist() == [[0.0, 8.0]]


def test_integer_event_codes_match_event_names() -> None:
    # given the hand example with its event names replaced by int8 codes
    by_name = events(HAND_EVENTS)
    by_code = events(HAND_EVENTS)
    by_code.event_types = event_codes(by_name.event_types)

    # when
    from_names, _, _ = build_matrix(by_name, now=NOW)
    from_codes, _, _ = build_matrix(by_code, now=NOW)

    # then
    assert by_code.event_types.dtype == np.int8
    assert by_code.event_types[5] == EVENT_CODES["dismiss"]
    np.testing.assert_array_equal(from_names.toarray(), from_codes.toarray())


def test_unknown_event_type_is_rejected() -> None:
    # given
    interactions = events([(1, 1, "purchase", 0.0, NOW)])

    # when / then
    with pytest.raises(ValueError, match="unknown event types"):
        build_matrix(interactions, now=NOW)


def test_unique_with_inverse_matches_numpy_for_dense_and_sparse_ids() -> None:
    # given compact ids and ids spread far apart (which fall back to np.unique)
    rng = np.random.default_rng(3)
    for ids in (rng.integers(5, 60, size=500), rng.integers(0, 2**40, size=500)):
        # when
        unique, inverse = unique_with_inverse(ids)

        # then
        expected_unique, expected_inverse = np.unique(ids, return_inverse=True)
        np.testing.assert_array_equal(unique, expected_unique)
        np.testing.assert_array_equal(inverse, expected_inverse)


def test_interaction_timestamps_keep_latest_event_per_stored_pair() -> None:
    # given reader 1 viewed item 5 on day 1 and day 3, and item 6 on day 2
    interactions = events(
        [
            (1, 5, "view", 0.0, 3 * DAY),
            (1, 6, "view", 0.0, 2 * DAY),
            (1, 5, "view", 0.0, 1 * DAY),
        ]
    )
    matrix, id_map, _ = build_matrix(interactions)

    # when
    timestamps = interaction_timestamps(interactions, id_map, matrix)

    # then
    np.testing.assert_array_equal(timestamps.indptr, matrix.indptr)
    np.testing.assert_array_equal(timestamps.indices, matrix.indices)
    assert timestamps.toarray().tolist() == [[3 * DAY, 2 * DAY]]
