"""Tests for split protocols, ranking metrics and algorithm comparison."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommend.engine import search as search_module
from recommend.engine import train as train_module
from recommend.engine.evaluate import (
    evaluate_algorithms,
    ranking_metrics,
    split_interactions,
)

LOG2_3 = math.log2(3)  # 1.58496


def random_interactions(seed: int = 0) -> sp.csr_matrix:
    """300 readers x 120 items, ~12 interactions per reader, weights 1..5."""
    rng = np.random.default_rng(seed)
    dense = rng.random((300, 120)) < 0.1
    weights = rng.integers(1, 6, size=dense.shape) * dense
    return sp.csr_matrix(weights.astype(np.float32))


def pair_set(matrix: sp.csr_matrix) -> set[tuple[int, int]]:
    rows, columns = matrix.nonzero()
    return set(zip(rows.tolist(), columns.tolist(), strict=True))


# Toy ranking, k = 3, 10 items:
#   A: rec [1, 2, 3],   rel {1, 3}        hits [1, 0, 1]
#   B: rec [4, 5, 6],   rel {6, 7, 8, 9}  hits [0, 0, 1]   (|rel| = 4 > k)
#   C: rec [7, -1, -1], rel {2}           hits [0, 0, 0]   (padding never hits)
TOY_RECOMMENDED = np.array([[1, 2, 3], [4, 5, 6], [7, -1, -1]])
TOY_RELEVANT = [{1, 3}, {6, 7, 8, 9}, {2}]


def test_precision_recall_coverage_on_toy_ranking() -> None:
    # given
    recommended, relevant = TOY_RECOMMENDED, TOY_RELEVANT

    # when
    metrics = ranking_metrics(recommended, relevant, k=3, n_items=10)

    # then precision: A 2/3, B 1/3, C 0 -> mean 1/3
    assert metrics["precision"] == pytest.approx(1 / 3)
    # recall: A 2/2, B 1/4, C 0/1 -> (1 + 0.25 + 0) / 3 = 0.416667
    assert metrics["recall"] == pytest.approx(1.25 / 3)
    # coverage: items {1, 2, 3, 4, 5, 6, 7} -> 7 / 10
    assert metrics["coverage"] == pytest.approx(0.7)


def test_map_uses_min_of_relevant_and_k_as_denominator() -> None:
    # given
    recommended, relevant = TOY_RECOMMENDED, TOY_RELEVANT

    # when
    metrics = ranking_metrics(recommended, relevant, k=3, n_items=10)

    # then AP_A = (1 / min(2, 3)) * (P@1 + P@3) = (1/2) * (1 + 2/3) = 5/6
    #      AP_B = (1 / min(4, 3)) * P@3 = (1/3) * (1/3) = 1/9   (not 1/12)
    #      AP_C = 0;  MAP = (5/6 + 1/9 + 0) / 3 = 17/54 = 0.314815
    assert metrics["map"] == pytest.approx(17 / 54)


def test_map_of_perfect_list_is_one_when_more_relevant_than_k() -> None:
    # given all 3 recommended items relevant, out of 5 relevant items
    recommended = np.array([[1, 2, 3]])

    # when
    metrics = ranking_metrics(recommended, [{1, 2, 3, 4, 5}], k=3, n_items=10)

    # then AP = (1 / min(5, 3)) * (1 + 1 + 1) = 1.0 (with |rel| it would be 0.6)
    assert metrics["map"] == pytest.approx(1.0)
    assert metrics["ndcg"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(3 / 5)


def test_ndcg_on_toy_ranking() -> None:
    # given
    recommended, relevant = TOY_RECOMMENDED, TOY_RELEVANT

    # when
    metrics = ranking_metrics(recommended, relevant, k=3, n_items=10)

    # then A: DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG(2 hits) = 1 + 1/log2(3)
    #         = 1.63093; nDCG = 0.919721
    #      B: DCG = 1/log2(4) = 0.5; IDCG(min(4, 3) = 3 hits) = 1 + 0.63093 + 0.5
    #         = 2.13093; nDCG = 0.234639
    #      C: 0;  mean = (0.919721 + 0.234639 + 0) / 3 = 0.384787
    ndcg_a = 1.5 / (1 + 1 / LOG2_3)
    ndcg_b = 0.5 / (1 + 1 / LOG2_3 + 0.5)
    assert ndcg_a == pytest.approx(0.919721, abs=1e-6)
    assert ndcg_b == pytest.approx(0.234639, abs=1e-6)
    assert metrics["ndcg"] == pytest.approx((ndcg_a + ndcg_b) / 3)
    assert metrics["ndcg"] == pytest.approx(0.384787, abs=1e-6)


def test_relevant_as_csr_rows_gives_same_metrics_as_sets() -> None:
    # given the toy relevance as a 3 x 10 CSR matrix
    rows = [0, 0, 1, 1, 1, 1, 2]
    columns = [1, 3, 6, 7, 8, 9, 2]
    relevant = sp.csr_matrix((np.ones(7), (rows, columns)), shape=(3, 10))

    # when
    from_csr = ranking_metrics(TOY_RECOMMENDED, relevant, k=3, n_items=10)
    from_sets = ranking_metrics(TOY_RECOMMENDED, TOY_RELEVANT, k=3, n_items=10)

    # then
    assert from_csr == pytest.approx(from_sets)


def test_only_the_first_k_recommendations_count() -> None:
    # given 5 recommendations, the only hit at rank 4
    recommended = np.array([[1, 2, 3, 4, 5]])

    # when
    metrics = ranking_metrics(recommended, [{4}], k=3, n_items=10)

    # then
    assert metrics["precision"] == 0.0
    assert metrics["ndcg"] == 0.0
    assert metrics["coverage"] == pytest.approx(0.3)


@pytest.mark.parametrize("protocol", ["random", "user", "item", "time"])
def test_split_partitions_interactions_at_the_ratio(protocol: str) -> None:
    # given
    matrix = random_interactions()
    timestamps = matrix.copy()
    timestamps.data = np.random.default_rng(1).random(matrix.nnz) * 1e6

    # when
    train, test = split_interactions(
        matrix, protocol=protocol, ratio=0.75, seed=7, timestamps=timestamps
    )

    # then no interaction in both, none lost, values kept, ~75 % in train
    assert pair_set(train).isdisjoint(pair_set(test))
    assert (train + test != matrix).nnz == 0
    assert abs(train.nnz / matrix.nnz - 0.75) < 0.03
    assert train.has_sorted_indices and test.has_sorted_indices


def test_random_split_takes_exactly_rounded_ratio() -> None:
    # given
    matrix = random_interactions()

    # when
    train, test = split_interactions(matrix, protocol="random", ratio=0.75, seed=7)

    # then
    assert train.nnz == math.floor(0.75 * matrix.nnz + 0.5)
    assert test.nnz == matrix.nnz - train.nnz


def test_user_split_keeps_ratio_per_reader_and_every_reader_in_train() -> None:
    # given random readers plus readers with exactly 1, 2, ..., 8 interactions
    staircase = np.pad(np.tril(np.ones((8, 8))), ((0, 0), (0, 112)))
    matrix = sp.csr_matrix(sp.vstack([random_interactions()[:50], staircase]))

    # when
    train, _ = split_interactions(matrix, protocol="user", ratio=0.75, seed=7)

    # then train count per reader = clip(round_half_up(0.75 * n), 1, n):
    #   n=1 -> 1, n=2 -> 2 (1.5 rounds up), n=3 -> 2 (2.25), n=8 -> 6
    per_reader = np.diff(matrix.indptr)
    expected = np.clip(np.floor(0.75 * per_reader + 0.5), 1, per_reader)
    np.testing.assert_array_equal(np.diff(train.indptr), expected)
    assert np.diff(train.indptr)[-8:].tolist() == [1, 2, 2, 3, 4, 5, 5, 6]
    assert (np.diff(train.indptr)[per_reader > 0] >= 1).all()


def test_item_split_stratifies_per_item() -> None:
    # given
    matrix = random_interactions()

    # when
    train, _ = split_interactions(matrix, protocol="item", ratio=0.75, seed=7)

    # then
    per_item = np.diff(matrix.tocsc().indptr)
    expected = np.clip(np.floor(0.75 * per_item + 0.5), 1, per_item)
    np.testing.assert_array_equal(np.diff(train.tocsc().indptr), expected)


def test_time_split_sends_each_readers_latest_interactions_to_test() -> None:
    # given
    matrix = random_interactions()
    timestamps = matrix.copy()
    timestamps.data = np.random.default_rng(1).random(matrix.nnz) * 1e6

    # when
    train, test = split_interactions(
        matrix, protocol="time", ratio=0.75, seed=7, timestamps=timestamps
    )

    # then every test interaction of a reader is newer than all its train ones
    train_times = timestamps.multiply(train != 0).tocsr()
    test_times = timestamps.multiply(test != 0).tocsr()
    for reader in range(matrix.shape[0]):
        if test_times[reader].nnz:
            assert test_times[reader].data.min() > train_times[reader].data.max()
    assert test.nnz > 0


def test_time_split_requires_aligned_timestamps() -> None:
    # given timestamps missing one stored pair
    matrix = random_interactions()
    timestamps = matrix.copy()
    timestamps.data[0] = 0
    timestamps.eliminate_zeros()

    # when / then
    with pytest.raises(ValueError, match="sparsity structure"):
        split_interactions(matrix, protocol="time", timestamps=timestamps)


@pytest.mark.parametrize("protocol", ["random", "user", "item"])
def test_split_is_deterministic_by_seed(protocol: str) -> None:
    # given
    matrix = random_interactions()

    # when
    first, _ = split_interactions(matrix, protocol=protocol, seed=11)
    again, _ = split_interactions(matrix, protocol=protocol, seed=11)
    other, _ = split_interactions(matrix, protocol=protocol, seed=12)

    # then
    assert pair_set(first) == pair_set(again)
    assert pair_set(first) != pair_set(other)


def test_evaluate_algorithms_reports_each_model_and_hides_test_from_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given every matrix the search receives, fits on or scores on is recorded
    matrix = random_interactions()
    times = matrix.copy()
    times.data = 1.7e9 + np.arange(matrix.nnz, dtype=np.float64) * 60.0
    searched: list[sp.csr_matrix] = []
    seen_by_search: list[sp.csr_matrix] = []
    real_search = search_module.search_hyperparameters
    real_train, real_evaluate = search_module.train_model, search_module.evaluate_model

    def spy_search(candidate: sp.csr_matrix, **kwargs: object) -> object:
        searched.append(candidate)
        if kwargs.get("timestamps") is not None:
            seen_by_search.append(kwargs["timestamps"])
        return real_search(candidate, **kwargs)

    def spy_train(fit: sp.csr_matrix, **kwargs: object) -> object:
        seen_by_search.append(fit)
        if kwargs.get("timestamps") is not None:
            seen_by_search.append(kwargs["timestamps"])
        return real_train(fit, **kwargs)

    def spy_evaluate(model, fit, held_out, **kwargs):
        seen_by_search.extend([fit, held_out])
        return real_evaluate(model, fit, held_out, **kwargs)

    monkeypatch.setattr(search_module, "search_hyperparameters", spy_search)
    monkeypatch.setattr(search_module, "train_model", spy_train)
    monkeypatch.setattr(search_module, "evaluate_model", spy_evaluate)

    # when
    results = evaluate_algorithms(
        matrix,
        algorithms=["popular", "itemknn", "auto"],
        protocol="user",
        ratio=0.75,
        seed=5,
        k=5,
        search_budget=None,
        search_trials=12,
        timestamps=times,
    )

    # then
    expected_keys = {
        "model",
        "precision",
        "recall",
        "map",
        "ndcg",
        "coverage",
        "train_seconds",
        "params",
    }
    assert [result["model"] for result in results] == ["popular", "itemknn", "auto"]
    assert all(set(result) == expected_keys for result in results)
    assert all(0.0 <= result["ndcg"] <= 1.0 for result in results)
    assert results[2]["params"]["algorithm"] in train_module.SEARCHABLE_ALGORITHMS
    train, test = split_interactions(matrix, protocol="user", ratio=0.75, seed=5)
    assert len(searched) == 1
    assert pair_set(searched[0]) == pair_set(train)
    # the search fitted and validated 12 trials on pieces of train only
    assert len(seen_by_search) >= 12 * 3
    train_pairs, test_pairs = pair_set(train), pair_set(test)
    for part in seen_by_search:
        assert pair_set(part) <= train_pairs
        assert pair_set(part).isdisjoint(test_pairs)
