"""Train implicit-feedback models, recommend from them, persist and tune them."""

import io
import json
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

from recommend.engine.evaluate import evaluate_model, split_interactions
from recommend.engine.matrix import IdMap

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "als": {"factors": 64, "regularization": 0.05, "alpha": 2.0, "iterations": 15},
    "bpr": {
        "factors": 64,
        "learning_rate": 0.01,
        "regularization": 0.01,
        "iterations": 100,
    },
    "itemknn": {"similarity": "bm25", "K": 100, "K1": 1.2, "B": 0.75},
    "popular": {},
}
ALGORITHMS: tuple[str, ...] = tuple(DEFAULT_PARAMS)
SEARCHABLE_ALGORITHMS: tuple[str, ...] = ("als", "itemknn", "bpr", "popular")
ARTIFACT_FORMAT_VERSION = 1

# Dense score blocks are capped at this many cells (~128 MB of float32).
_SCORE_BLOCK_CELLS = 2**25


@dataclass
class TrainedModel:
    """A fitted model; rows/columns follow the training matrix (readers x items)."""

    algorithm: str
    params: dict[str, Any]
    item_ids: np.ndarray  # column -> item id
    reader_ids: np.ndarray  # row -> reader id
    user_factors: np.ndarray | None = None  # als/bpr: [readers, factors] float32
    item_factors: np.ndarray | None = None  # als/bpr: [items, factors] float32
    similarity: sp.csr_matrix | None = None  # itemknn: [items, items]
    item_scores: np.ndarray | None = None  # popular: [items]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def _scores(self, reader_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        """Dense float32 scores [len(reader_rows), n_items]."""
        if self.user_factors is not None and self.item_factors is not None:
            return self.user_factors[reader_rows] @ self.item_factors.T
        if self.similarity is not None:
            history = user_items[reader_rows]
            return np.asarray((history @ self.similarity).todense(), dtype=np.float32)
        if self.item_scores is not None:
            return np.broadcast_to(
                self.item_scores.astype(np.float32), (len(reader_rows), self.n_items)
            ).copy()
        raise ValueError(f"model {self.algorithm!r} has nothing to score with")

    def recommend(
        self,
        reader_rows: np.ndarray,
        user_items: sp.csr_matrix,
        n: int,
        filter_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n item columns and scores [len(reader_rows), n], best first.

        ``user_items`` is the full readers x items matrix (indexed by
        ``reader_rows``): it is the history for itemknn and the seen filter.
        Slots that cannot be filled (all items seen) hold column -1, score -inf.
        """
        reader_rows = np.asarray(reader_rows, dtype=np.int64).reshape(-1)
        user_items = sp.csr_matrix(user_items)
        n = max(0, min(n, self.n_items))
        columns = np.full((len(reader_rows), n), -1, dtype=np.int64)
        scores = np.full((len(reader_rows), n), -np.inf, dtype=np.float32)
        if n == 0 or len(reader_rows) == 0:
            return columns, scores

        block_rows = max(1, _SCORE_BLOCK_CELLS // max(self.n_items, 1))
        for start in range(0, len(reader_rows), block_rows):
            rows = reader_rows[start : start + block_rows]
            block = np.array(self._scores(rows, user_items), dtype=np.float32)
            if filter_seen:
                seen = user_items[rows]
                seen_rows = np.repeat(np.arange(len(rows)), np.diff(seen.indptr))
                block[seen_rows, seen.indices] = -np.inf
            top = np.argpartition(-block, n - 1, axis=1)[:, :n]
            top_scores = np.take_along_axis(block, top, axis=1)
            order = np.argsort(-top_scores, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(top_scores, order, axis=1)
            top[np.isneginf(top_scores)] = -1
            columns[start : start + len(rows)] = top
            scores[start : start + len(rows)] = top_scores
        return columns, scores

    def save(self, fileobj: IO[bytes]) -> None:
        """Write a compressed .npz (no pickle) to a binary file object."""
        arrays: dict[str, np.ndarray] = {
            "format_version": np.array(ARTIFACT_FORMAT_VERSION),
            "algorithm": np.array(self.algorithm),
            "params": np.array(json.dumps(self.params, sort_keys=True)),
            "item_ids": np.asarray(self.item_ids, dtype=np.int64),
            "reader_ids": np.asarray(self.reader_ids, dtype=np.int64),
        }
        if self.user_factors is not None:
            arrays["user_factors"] = self.user_factors
        if self.item_factors is not None:
            arrays["item_factors"] = self.item_factors
        if self.item_scores is not None:
            arrays["item_scores"] = self.item_scores
        if self.similarity is not None:
            similarity = sp.csr_matrix(self.similarity)
            arrays["similarity_data"] = similarity.data
            arrays["similarity_indices"] = similarity.indices
            arrays["similarity_indptr"] = similarity.indptr
            arrays["similarity_shape"] = np.array(similarity.shape, dtype=np.int64)
        np.savez_compressed(fileobj, **arrays)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    @classmethod
    def load(cls, fileobj: IO[bytes]) -> "TrainedModel":
        """Read an artifact written by save()."""
        with np.load(fileobj, allow_pickle=False) as stored:
            version = int(stored["format_version"])
            if version != ARTIFACT_FORMAT_VERSION:
                raise ValueError(f"unsupported model artifact version {version}")
            similarity = None
            if "similarity_data" in stored:
                similarity = sp.csr_matrix(
                    (
                        stored["similarity_data"],
                        stored["similarity_indices"],
                        stored["similarity_indptr"],
                    ),
                    shape=tuple(stored["similarity_shape"]),
                )
            return cls(
                algorithm=str(stored["algorithm"]),
                params=json.loads(str(stored["params"])),
                item_ids=stored["item_ids"],
                reader_ids=stored["reader_ids"],
                user_factors=stored["user_factors"]
                if "user_factors" in stored
                else None,
                item_factors=stored["item_factors"]
                if "item_factors" in stored
                else None,
                similarity=similarity,
                item_scores=stored["item_scores"] if "item_scores" in stored else None,
            )

    @classmethod
    def from_bytes(cls, payload: bytes) -> "TrainedModel":
        return cls.load(io.BytesIO(payload))


def _merged_params(algorithm: str, params: dict[str, Any]) -> dict[str, Any]:
    if algorithm not in DEFAULT_PARAMS:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}"
        )
    unknown = set(params) - set(DEFAULT_PARAMS[algorithm])
    if unknown:
        raise ValueError(f"unknown {algorithm} params: {sorted(unknown)}")
    return {**DEFAULT_PARAMS[algorithm], **params}


def _popularity_scores(matrix: sp.csr_matrix) -> np.ndarray:
    """Distinct readers per item; total weight only breaks ties (adds < 0.5)."""
    distinct_readers = np.bincount(matrix.indices, minlength=matrix.shape[1])
    total_weight = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
    heaviest = total_weight.max() if total_weight.size else 0.0
    tie_break = 0.5 * total_weight / heaviest if heaviest > 0 else 0.0
    return distinct_readers.astype(np.float64) + tie_break


def train_model(
    matrix: sp.csr_matrix,
    *,
    algorithm: str,
    params: dict[str, Any] | None = None,
    seed: int = 42,
    show_progress: bool = False,
    id_map: IdMap | None = None,
) -> TrainedModel:
    """Fit one algorithm on a readers x items matrix (readers are rows).

    ``params`` override DEFAULT_PARAMS[algorithm]; ``id_map`` (from build_matrix)
    labels rows and columns, otherwise they are labelled 0..n-1.
    """
    merged = _merged_params(algorithm, params or {})
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    n_readers, n_items = matrix.shape
    if id_map is None:
        id_map = IdMap(
            reader_ids=np.arange(n_readers, dtype=np.int64),
            item_ids=np.arange(n_items, dtype=np.int64),
        )
    if (len(id_map.reader_ids), len(id_map.item_ids)) != matrix.shape:
        raise ValueError("id_map does not match the matrix shape (readers x items)")
    model = TrainedModel(
        algorithm=algorithm,
        params=merged,
        item_ids=np.asarray(id_map.item_ids, dtype=np.int64),
        reader_ids=np.asarray(id_map.reader_ids, dtype=np.int64),
    )

    if algorithm == "popular":
        model.item_scores = _popularity_scores(matrix)
        return model
    if algorithm == "als":
        # implicit's confidence is alpha × weight and it reads confidence below 1
        # as evidence *against* an item; old, decayed views must not turn into
        # dislikes, so every stored interaction counts at least as confidence 1.
        matrix = matrix.copy()
        matrix.data = np.maximum(matrix.data, 1.0 / float(merged["alpha"]))

    # implicit checks the BLAS pool size when constructed and fitted; its own
    # OpenMP threads do the work, so a threaded BLAS would only oversubscribe.
    with threadpool_limits(1, "blas"):
        if algorithm == "als":
            # implicit 0.7 multiplies the matrix by alpha itself (confidence).
            fitted = AlternatingLeastSquares(
                factors=int(merged["factors"]),
                regularization=float(merged["regularization"]),
                alpha=float(merged["alpha"]),
                iterations=int(merged["iterations"]),
                dtype=np.float32,
                random_state=seed,
            )
        elif algorithm == "bpr":
            # Hogwild SGD across threads is not reproducible; one thread is.
            fitted = BayesianPersonalizedRanking(
                factors=int(merged["factors"]),
                learning_rate=float(merged["learning_rate"]),
                regularization=float(merged["regularization"]),
                iterations=int(merged["iterations"]),
                dtype=np.float32,
                random_state=seed,
                num_threads=1,
            )
        else:
            if merged["similarity"] == "cosine":
                fitted = CosineRecommender(K=int(merged["K"]))
            elif merged["similarity"] == "bm25":
                fitted = BM25Recommender(
                    K=int(merged["K"]), K1=float(merged["K1"]), B=float(merged["B"])
                )
            else:
                raise ValueError(f"unknown similarity {merged['similarity']!r}")
        with warnings.catch_warnings():
            # implicit's own BM25/cosine weighting hands COO to its kNN and warns
            # about it; the input we pass is already CSR.
            warnings.filterwarnings("ignore", category=ParameterWarning)
            fitted.fit(matrix, show_progress=show_progress)

    if algorithm in ("als", "bpr"):
        if hasattr(fitted, "to_cpu") and not isinstance(
            fitted.item_factors, np.ndarray
        ):
            fitted = fitted.to_cpu()
        model.user_factors = np.ascontiguousarray(fitted.user_factors, dtype=np.float32)
        model.item_factors = np.ascontiguousarray(fitted.item_factors, dtype=np.float32)
    else:
        similarity = sp.csr_matrix(fitted.similarity, dtype=np.float32)
        similarity.sort_indices()
        model.similarity = similarity
    return model


@dataclass
class SearchResult:
    best_algorithm: str
    best_params: dict[str, Any]
    trials: list[dict[str, Any]] = field(default_factory=list)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_params(algorithm: str, rng: np.random.Generator) -> dict[str, Any]:
    """One random point of the search grid (plain Python types: JSON-safe)."""
    if algorithm == "als":
        return {
            "factors": int(rng.choice([32, 48, 64, 96, 128, 192, 256])),
            "regularization": _log_uniform(rng, 0.001, 1.0),
            "alpha": float(rng.uniform(1.0, 40.0)),
            "iterations": int(rng.integers(10, 31)),
        }
    if algorithm == "bpr":
        return {
            "factors": int(rng.choice([32, 48, 64, 96, 128, 192, 256])),
            "learning_rate": _log_uniform(rng, 0.003, 0.1),
            "regularization": _log_uniform(rng, 0.0001, 0.1),
            "iterations": int(rng.integers(50, 201)),
        }
    if algorithm == "itemknn":
        return {
            "similarity": str(rng.choice(["cosine", "bm25"])),
            "K": int(round(_log_uniform(rng, 20, 400))),
            "K1": float(rng.uniform(0.6, 2.0)),
            "B": float(rng.uniform(0.25, 1.0)),
        }
    if algorithm == "popular":
        return {}
    raise ValueError(f"unknown algorithm {algorithm!r}")


def search_hyperparameters(
    matrix: sp.csr_matrix,
    *,
    algorithms: list[str],
    budget_seconds: float,
    k: int = 10,
    seed: int = 42,
    validation_ratio: float = 0.2,
) -> SearchResult:
    """Best algorithm/params by nDCG@k on a validation split of ``matrix``.

    ``matrix`` must already exclude any test data: the validation split is a
    per-reader random holdout carved from it. Defaults of each algorithm always
    run first (so algorithms are compared even on a tiny budget), then random
    grid samples (algorithms in turn) until the budget is spent; a trial is never
    cut short, so the run ends within max(budget, defaults) + one trial. The
    sequence of trials is fixed by ``seed``; only how many fit in the budget
    varies.
    """
    started = time.perf_counter()
    fit_part, validation = split_interactions(
        matrix, protocol="user", ratio=1.0 - validation_ratio, seed=seed
    )
    rng = np.random.default_rng(seed)
    tunable = [algorithm for algorithm in algorithms if algorithm != "popular"]

    def candidates() -> Iterator[tuple[str, dict[str, Any]]]:
        for algorithm in algorithms:
            yield algorithm, dict(DEFAULT_PARAMS[algorithm])
        trial_number = 0
        while tunable:
            algorithm = tunable[trial_number % len(tunable)]
            trial_number += 1
            yield algorithm, sample_params(algorithm, rng)

    trials: list[dict[str, Any]] = []
    for algorithm, params in candidates():
        if (
            len(trials) >= len(algorithms)
            and time.perf_counter() - started >= budget_seconds
        ):
            break
        trial_started = time.perf_counter()
        model = train_model(fit_part, algorithm=algorithm, params=params, seed=seed)
        ndcg = evaluate_model(model, fit_part, validation, k=k)["ndcg"]
        trials.append(
            {
                "algorithm": algorithm,
                "params": model.params,
                "ndcg": ndcg,
                "seconds": time.perf_counter() - trial_started,
            }
        )
    if not trials:
        raise ValueError("no algorithm to search")
    # max() keeps the first of equal scores, so defaults win ties.
    best = max(trials, key=lambda trial: trial["ndcg"])
    return SearchResult(
        best_algorithm=best["algorithm"],
        best_params=dict(best["params"]),
        trials=trials,
    )
