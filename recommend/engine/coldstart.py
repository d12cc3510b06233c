"""Cold start without retraining: fold new readers in, place new items by content."""

import copy
import re

import numpy as np
import scipy.sparse as sp

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be but by for from has have how in is it its of on or that "
    "the their this to was what when where which who why will with you your".split()
)


def tokens(text: str) -> list[str]:
    return [
        word
        for word in _TOKEN.findall(text.lower())
        if len(word) > 1 and word not in _STOPWORDS
    ]


class TfidfIndex:
    """A small TF-IDF vectoriser (sublinear tf, smoothed idf, l2 rows)."""

    def __init__(self, texts: list[str]) -> None:
        vocabulary: dict[str, int] = {}
        rows, columns = [], []
        for row, text in enumerate(texts):
            for word in tokens(text):
                rows.append(row)
                columns.append(vocabulary.setdefault(word, len(vocabulary)))
        self.vocabulary = vocabulary
        counts = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)),
            shape=(len(texts), len(vocabulary)),
        )
        document_frequency = np.bincount(
            counts.indices, minlength=len(vocabulary)
        ).astype(np.float32)
        self.idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1.0
        self.matrix = self._weigh(counts)

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        counts = sp.csr_matrix(counts, dtype=np.float32)
        counts.sum_duplicates()
        counts.data = 1.0 + np.log(counts.data)
        weighted = sp.csr_matrix(counts.multiply(self.idf[np.newaxis, :]))
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ weighted, dtype=np.float32)

    def with_rows(self, texts: list[str]) -> "TfidfIndex":
        """An index of ``texts`` under this vocabulary and these weights (the
        rows a catalogue update adds; words never seen before are left out)."""
        index = copy.copy(self)
        index.matrix = self.transform(texts)
        return index

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        rows, columns = [], []
        for row, text in enumerate(texts):
            for word in tokens(text):
                column = self.vocabulary.get(word)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
        counts = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)),
            shape=(len(texts), len(self.vocabulary)),
        )
        return self._weigh(counts)


def content_item_factors(
    *,
    new_features: sp.csr_matrix,
    known_features: sp.csr_matrix,
    known_factors: np.ndarray,
    neighbours: int = 10,
) -> np.ndarray:
    """Factors for items the model never saw: their content neighbours' mean.

    Each new item takes the similarity-weighted mean of the factors of its most
    similar trained items (TF-IDF cosine), rescaled to those neighbours' mean norm
    so that averaging does not shrink it below the items it competes with.
    """
    n_new, n_known = new_features.shape[0], known_features.shape[0]
    factors = np.zeros((n_new, known_factors.shape[1]), dtype=np.float32)
    if n_new == 0 or n_known == 0:
        return factors
    similarity = np.asarray((new_features @ known_features.T).todense())
    k = min(neighbours, n_known)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.0)
    # An item sharing no words with any trained item stays at zero: nothing says
    # who would want it, so it is left to trending and freshness, not pushed.
    empty = weights.sum(axis=1) == 0
    weights[empty] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    neighbour_factors = known_factors[nearest]  # [new, k, factors]
    mean = np.einsum("nk,nkf->nf", weights, neighbour_factors)
    target_norm = np.linalg.norm(neighbour_factors, axis=2).mean(axis=1)
    norm = np.linalg.norm(mean, axis=1)
    norm[norm == 0] = 1.0
    factors = mean * (target_norm / norm)[:, np.newaxis]
    factors[empty] = 0.0
    return factors.astype(np.float32)


def item_gram(item_factors: np.ndarray) -> np.ndarray:
    """YᵀY, shared by every fold-in against one model."""
    factors = item_factors.astype(np.float64)
    return factors.T @ factors


def als_fold_in(
    *,
    item_factors: np.ndarray,
    columns: np.ndarray,
    weights: np.ndarray,
    regularization: float,
    alpha: float,
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """The ALS user vector for a history, as implicit's recalculate_user computes it.

    Solves (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + λI) x = Yᵤᵀ Cᵤ 1 with implicit's confidence
    c = alpha × weight over the items the reader interacted with, floored at 1
    as training floors it (train_model): a faded interaction is weak
    evidence, never evidence against.
    """
    columns = np.asarray(columns, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    n_factors = item_factors.shape[1]
    if len(columns) == 0:
        return np.zeros(n_factors, dtype=np.float32)
    gram = item_gram(item_factors) if gram is None else gram
    history = item_factors[columns].astype(np.float64)
    confidence = np.maximum(alpha * weights, 1.0)
    left = (
        gram
        + history.T @ ((confidence - 1.0)[:, np.newaxis] * history)
        + regularization * np.eye(n_factors)
    )
    right = history.T @ confidence
    return np.linalg.solve(left, right).astype(np.float32)
