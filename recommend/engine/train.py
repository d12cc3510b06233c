"""Train implicit-feedback models, recommend from them and persist them.

Algorithms: ``als`` (implicit's iALS), ``bpr``, ``itemknn`` (cosine or BM25),
``ease`` (closed form, catalogues up to EASE_MAX_ITEMS), ``popular`` (distinct
readers) and ``recent`` (time-decayed popularity). Every algorithm also takes
the optional parameters of OPTIONAL_PARAMS: ``half_life_days`` decays event
weights by age before the fit, ``blend`` mixes the model's scores with
recency-aware popularity (half-life ``blend_half_life_days``); both need the
pairs' timestamps for the decay (without them the blend is plain popularity).
``weighting`` reshapes the weights first: ``value`` (as given), ``log``
(log(1 + w)) or ``binary`` (every stored pair weighs 1).
The search over all of this lives in recommend/engine/search.py.
"""

import io
import json
import warnings
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

from recommend.engine.ease import ease_item_weights, ease_sparse
from recommend.engine.matrix import IdMap
from recommend.engine.recency import (
    blend_with_popularity,
    decayed,
    recent_popularity,
    reference_time,
)

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "als": {"factors": 64, "regularization": 0.05, "alpha": 2.0, "iterations": 15},
    "bpr": {
        "factors": 64,
        "learning_rate": 0.01,
        "regularization": 0.01,
        "iterations": 100,
    },
    "itemknn": {"similarity": "bm25", "K": 100, "K1": 1.2, "B": 0.75},
    "ease": {"regularization": 250.0},
    "popular": {},
    "recent": {"half_life_days": 7.0},
}
# Accepted by every algorithm; absent means off (see the module docstring).
OPTIONAL_PARAMS: dict[str, Any] = {
    "weighting": "value",
    "half_life_days": 0.0,
    "blend": 0.0,
    "blend_half_life_days": 7.0,
}
ALGORITHMS: tuple[str, ...] = tuple(DEFAULT_PARAMS)
SEARCHABLE_ALGORITHMS: tuple[str, ...] = (
    "ease",
    "als",
    "itemknn",
    "bpr",
    "recent",
    "popular",
)
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
    similarity: sp.csr_matrix | None = None  # itemknn/ease: [items, items]
    item_weights: np.ndarray | None = None  # ease, dense: [items, items]
    item_scores: np.ndarray | None = None  # popular/recent: [items]
    blend_scores: np.ndarray | None = None  # recency popularity to blend: [items]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def blend(self) -> float:
        """Share of recency popularity in the scores (0 = the model alone)."""
        if self.blend_scores is None:
            return 0.0
        return float(self.params.get("blend", 0.0))

    def _scores(self, reader_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        """Dense float32 scores [len(reader_rows), n_items], blend included."""
        scores = self._model_scores(reader_rows, user_items)
        if self.blend > 0:
            assert self.blend_scores is not None
            scores = blend_with_popularity(scores, self.blend_scores, weight=self.blend)
        return scores

    def _model_scores(
        self, reader_rows: np.ndarray, user_items: sp.csr_matrix
    ) -> np.ndarray:
        if self.user_factors is not None and self.item_factors is not None:
            return self.user_factors[reader_rows] @ self.item_factors.T
        if self.item_weights is not None:
            return np.asarray(user_items[reader_rows] @ self.item_weights, np.float32)
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
        """Write an uncompressed .npz (no pickle) to a binary file object.

        Not compressed: float factors barely compress, and zlib cost seconds per
        artifact at 50k items, serial with training.
        """
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
        if self.blend_scores is not None:
            arrays["blend_scores"] = self.blend_scores
        if self.item_weights is not None:
            arrays["item_weights"] = self.item_weights
        if self.similarity is not None:
            similarity = sp.csr_matrix(self.similarity)
            arrays["similarity_data"] = similarity.data
            arrays["similarity_indices"] = similarity.indices
            arrays["similarity_indptr"] = similarity.indptr
            arrays["similarity_shape"] = np.array(similarity.shape, dtype=np.int64)
        np.savez(fileobj, **arrays)

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
            item_weights = stored["item_weights"] if "item_weights" in stored else None
            if item_weights is not None and similarity is None:
                # Serving scores and explains item-item models from a sparse B.
                similarity = ease_sparse(item_weights)
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
                blend_scores=stored["blend_scores"]
                if "blend_scores" in stored
                else None,
                item_weights=item_weights,
            )

    @classmethod
    def from_bytes(cls, payload: bytes) -> "TrainedModel":
        return cls.load(io.BytesIO(payload))


def params_unknown(algorithm: str, params: dict[str, Any]) -> list[str]:
    """Parameter names ``algorithm`` does not take, sorted."""
    known = set(DEFAULT_PARAMS[algorithm]) | set(OPTIONAL_PARAMS)
    return sorted(set(params) - known)


def _merged_params(algorithm: str, params: dict[str, Any]) -> dict[str, Any]:
    if algorithm not in DEFAULT_PARAMS:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; expected one of {ALGORITHMS}"
        )
    unknown = params_unknown(algorithm, params)
    if unknown:
        raise ValueError(f"unknown {algorithm} params: {unknown}")
    return {**DEFAULT_PARAMS[algorithm], **params}


def needs_timestamps(algorithm: str, params: dict[str, Any]) -> bool:
    """Whether training this configuration uses the pairs' timestamps."""
    merged = {**OPTIONAL_PARAMS, **DEFAULT_PARAMS.get(algorithm, {}), **params}
    return (
        algorithm == "recent"
        or float(merged["half_life_days"]) > 0
        or float(merged["blend"]) > 0
    )


def _reweighted(matrix: sp.csr_matrix, weighting: str) -> sp.csr_matrix:
    reweighted = matrix.copy()
    if weighting == "log":
        reweighted.data = np.log1p(reweighted.data)
    elif weighting == "binary":
        reweighted.data = np.ones_like(reweighted.data)
    else:
        raise ValueError(f"unknown weighting {weighting!r}: value, log or binary")
    return reweighted


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
    timestamps: sp.csr_matrix | None = None,
) -> TrainedModel:
    """Fit one algorithm on a readers x items matrix (readers are rows).

    ``params`` override DEFAULT_PARAMS[algorithm]; ``id_map`` (from build_matrix)
    labels rows and columns, otherwise they are labelled 0..n-1. ``timestamps``
    (latest event time per pair, the structure of ``matrix``) feed the time
    decay and the recency blend; without them neither decays.
    """
    merged = _merged_params(algorithm, params or {})
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    if timestamps is not None:
        timestamps = sp.csr_matrix(timestamps, dtype=np.float64)
        timestamps.sort_indices()
    now = reference_time(timestamps)
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

    blend = float(merged.get("blend", 0.0))
    if blend > 0:
        model.blend_scores = recent_popularity(
            matrix,
            timestamps,
            half_life_days=float(merged.get("blend_half_life_days", 7.0)),
            now=now,
        ).astype(np.float32)
    if algorithm == "recent":
        model.item_scores = recent_popularity(
            matrix, timestamps, half_life_days=float(merged["half_life_days"]), now=now
        )
        return model
    half_life = float(merged.get("half_life_days", 0.0))
    if half_life > 0 and timestamps is not None:
        matrix = decayed(matrix, timestamps, half_life_days=half_life, now=now)
    weighting = str(merged.get("weighting", "value"))
    if weighting != "value":
        matrix = _reweighted(matrix, weighting)
    if algorithm == "popular":
        model.item_scores = _popularity_scores(matrix)
        return model
    if algorithm == "ease":
        model.item_weights = ease_item_weights(
            matrix, regularization=float(merged["regularization"])
        )
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
