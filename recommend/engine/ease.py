"""EASE (Steck 2019): a closed-form item-item linear model for small catalogues.

With X the readers x items weight matrix and lambda the regularisation,
P = (X^T X + lambda I)^-1 and B = -P / diag(P) with a zero diagonal; a reader
with history row x scores x @ B. The Gram matrix is dense (items x items), so
the cost is O(items^3) time and O(items^2) memory: ``EASE_MAX_ITEMS`` is the
largest catalogue it accepts (8,000 items: ~0.5 GB of float64 Gram matrix, a
few tens of seconds to invert on 2 cores); larger catalogues use ALS or kNN.
B is kept dense (scoring a block of readers is one matrix product); a
stored model gets a sparse copy with at most ``EASE_KEEP_PER_ITEM``
largest-magnitude weights per row when loaded, so that serving scores and
explains it like item-kNN.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

EASE_MAX_ITEMS = 8_000
EASE_KEEP_PER_ITEM = 2_000
_PRUNE_BLOCK_ROWS = 512


class CatalogueTooLargeError(ValueError):
    """EASE was asked to fit more items than EASE_MAX_ITEMS."""


def ease_item_weights(matrix: sp.csr_matrix, *, regularization: float) -> np.ndarray:
    """The dense EASE weight matrix B [items, items], float32."""
    n_items = matrix.shape[1]
    if n_items > EASE_MAX_ITEMS:
        raise CatalogueTooLargeError(
            f"EASE handles at most {EASE_MAX_ITEMS} items, this catalogue has "
            f"{n_items}; use als or itemknn"
        )
    if regularization <= 0:
        raise ValueError("EASE needs a positive regularization")
    # One BLAS thread: on a machine shared with implicit's OpenMP threads (or
    # other workers) a threaded BLAS spins and ran 4x slower in measurements.
    with threadpool_limits(1, "blas"):
        return _ease_weights(matrix, regularization)


def _ease_weights(matrix: sp.csr_matrix, regularization: float) -> np.ndarray:
    n_items = matrix.shape[1]
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    gram = (matrix.T @ matrix).toarray()
    gram[np.diag_indices(n_items)] += regularization
    # The Gram matrix plus lambda I is symmetric positive definite: a Cholesky
    # factor and its direct inversion (LAPACK potrf + potri) cost half of a
    # general inverse or of solving against the identity.
    factor, info = scipy.linalg.lapack.dpotrf(gram, lower=True, overwrite_a=True)
    if info != 0:
        raise ValueError(f"EASE Gram matrix is not positive definite ({info})")
    precision, info = scipy.linalg.lapack.dpotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise ValueError(f"EASE inversion failed ({info})")
    # potri fills the lower triangle only.
    precision = np.tril(precision) + np.tril(precision, -1).T
    weights = precision / (-np.diag(precision))[np.newaxis, :]
    weights[np.diag_indices(n_items)] = 0.0
    return weights.astype(np.float32)


def ease_sparse(weights: np.ndarray) -> sp.csr_matrix:
    """B as a sparse matrix for serving (see the module docstring)."""
    return _pruned(weights, keep=EASE_KEEP_PER_ITEM)


def _pruned(weights: np.ndarray, *, keep: int) -> sp.csr_matrix:
    """Rows keep their ``keep`` largest-magnitude entries (all when fewer)."""
    n_rows, n_columns = weights.shape
    if keep >= n_columns:
        pruned = sp.csr_matrix(weights)
        pruned.sort_indices()
        return pruned
    blocks = []
    for start in range(0, n_rows, _PRUNE_BLOCK_ROWS):
        block = weights[start : start + _PRUNE_BLOCK_ROWS]
        top = np.argpartition(-np.abs(block), keep - 1, axis=1)[:, :keep]
        top.sort(axis=1)
        values = np.take_along_axis(block, top, axis=1)
        indptr = np.arange(0, block.shape[0] * keep + 1, keep)
        blocks.append(
            sp.csr_matrix(
                (values.ravel(), top.ravel(), indptr), shape=(len(block), n_columns)
            )
        )
    pruned = sp.vstack(blocks, format="csr")
    pruned.eliminate_zeros()
    return pruned
