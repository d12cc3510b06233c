"""TF-IDF vectors and cosine similarity, shared by retrieval, composing and checks."""

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Sentence ends: ., ! or ? then space and a capital, digit or opening quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[A-Z0-9\"'“‘(])")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be
    because been before being below between both but by can could did do does
    doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves one two may might must
    much many even still yet often every s t don isn aren wasn weren won""".split()
)


def word_stem(word: str) -> str:
    """A light stemmer: enough to match "pivots" with "pivot", "cities" with "city"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def text_terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words of a text, stopwords dropped."""
    return [
        word_stem(word)
        for word in _WORD.findall(text.lower())
        if word not in STOPWORDS and len(word) > 1
    ]


def text_sentences(text: str) -> list[str]:
    """Sentences of a paragraph of prose (a simple, deterministic splitter)."""
    text = " ".join(text.split())
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


class TfidfSpace:
    """Sublinear TF-IDF over a fixed vocabulary; rows are L2-normalised."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        document_frequency: Counter[str] = Counter()
        for terms in documents:
            document_frequency.update(set(terms))
        # Sorted, so the same documents always give the same column order.
        self.vocabulary = {
            term: index for index, term in enumerate(sorted(document_frequency))
        }
        count = len(documents)
        self.idf = np.array(
            [
                math.log((1 + count) / (1 + document_frequency[term])) + 1.0
                for term in sorted(document_frequency)
            ],
            dtype=np.float64,
        )

    def vectors(self, documents: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        rows, columns, values = [], [], []
        for row, terms in enumerate(documents):
            counts = Counter(term for term in terms if term in self.vocabulary)
            for term, count in sorted(counts.items()):
                column = self.vocabulary[term]
                rows.append(row)
                columns.append(column)
                values.append((1.0 + math.log(count)) * self.idf[column])
        matrix = sparse.csr_matrix(
            (values, (rows, columns)),
            shape=(len(documents), len(self.vocabulary)),
            dtype=np.float64,
        )
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags(1.0 / norms) @ matrix


def cosine_similarities(
    left: sparse.csr_matrix, right: sparse.csr_matrix
) -> np.ndarray:
    """Cosine similarity of every row of `left` with every row of `right`."""
    return np.asarray((left @ right.T).todense())


def text_rank(similarity: np.ndarray, *, damping: float = 0.85) -> np.ndarray:
    """TextRank centrality of sentences from their pairwise similarity matrix."""
    count = similarity.shape[0]
    if count == 0:
        return np.zeros(0)
    weights = similarity.copy()
    np.fill_diagonal(weights, 0.0)
    row_sums = weights.sum(axis=1, keepdims=True)
    # A sentence sharing no words with the others links to all of them equally.
    transition = np.where(
        row_sums > 0, weights / np.where(row_sums > 0, row_sums, 1), 1.0 / count
    )
    scores = np.full(count, 1.0 / count)
    for _ in range(100):
        updated = (1 - damping) / count + damping * transition.T @ scores
        if np.abs(updated - scores).sum() < 1e-9:
            scores = updated
            break
        scores = updated
    return scores
