"""Reasons on feeds: which read item explains a recommendation, and when to say so.

Near-line, when a candidate list is built (``reason_anchors``), each listed item
gets an anchor: the read item that contributes most to its score by the model's
own account.

* ALS: implicit's explanation (``AlternatingLeastSquares.explain``; Hu, Koren
  and Volinsky 2008, section 5): the score of item i is the sum over read items
  j of c_j yᵢᵀ W y_j, with W = (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + λI)⁻¹ and confidence c_j
  as the fold-in computes it; term j is j's contribution. Computed for the whole
  list at once (one k×k solve), not one item at a time.
* Item-kNN and EASE: w_j S[j, i], the terms of the score itself.
* BPR (its score has no such decomposition): w_j × cos(y_i, y_j).

An anchor is kept only when it contributes at least MIN_CONTRIBUTION_SHARE of
the item's positive contributions AND it is related to the item: they share a
topic, or the cosine of their content (TF-IDF of title, standfirst and topics,
the catalogue's text index) is at least SIMILARITY_THRESHOLD. When the model
blends in popularity and that part of the score outweighs the model's, the item
gets no anchor (it is there because it is popular).

At request time (``feed_reasons``, a loop over the page): at most a third of
the page (``anchor_limit``) names one anchor, unless the reader read only that
item; every other item says "New in <topic>" (published after the model was
trained), "More from <section>" (a section the reader reads) or "Popular in
<topic>".
"""

import numpy as np

from recommend.serving.state import ServingState

MIN_CONTRIBUTION_SHARE = 0.1
SIMILARITY_THRESHOLD = 0.3
MAX_ANCHOR_SHARE = 1 / 3


def anchor_limit(page_size: int, *, single_item: bool) -> int:
    """How many items of a page may name the same anchor."""
    if single_item:
        return page_size
    return max(1, int(page_size * MAX_ANCHOR_SHARE))


def anchor_contributions(
    state: ServingState,
    rows: np.ndarray,
    *,
    history_rows: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Contribution of each read item to each row's score: [len(rows), len(history)].

    ``history_rows`` and ``weights`` are the reader's positive history as
    ``history_weights`` returns it (catalogue rows, decayed weights).
    """
    model = state.model
    contributions = np.zeros((len(rows), len(history_rows)), dtype=np.float64)
    if model is None or len(rows) == 0 or len(history_rows) == 0:
        return contributions
    if state.factor_based:
        factors = state.item_factors
        read = factors[history_rows].astype(np.float64)
        targets = factors[rows].astype(np.float64)
        if model.algorithm == "als":
            params = model.params
            alpha = float(params.get("alpha", 2.0))
            confidence = np.maximum(alpha * np.asarray(weights, np.float64), 1.0)
            left = (
                state.gram
                + read.T @ ((confidence - 1.0)[:, np.newaxis] * read)
                + float(params.get("regularization", 0.05)) * np.eye(read.shape[1])
            )
            weighted = np.linalg.solve(left, targets.T)  # W yᵢ for every row
            return (read @ weighted).T * confidence[np.newaxis, :]
        norms = state.item_norms
        cosine = (targets / norms[rows, np.newaxis]) @ (
            read / norms[history_rows, np.newaxis]
        ).T
        return cosine * np.asarray(weights, np.float64)[np.newaxis, :]
    if model.similarity is not None:
        read_columns = state.model_columns[history_rows]
        target_columns = state.model_columns[rows]
        read_known = np.flatnonzero(read_columns >= 0)
        target_known = np.flatnonzero(target_columns >= 0)
        if len(read_known) and len(target_known):
            block = model.similarity[read_columns[read_known]]
            block = block[:, target_columns[target_known]].toarray()
            terms = block.T * np.asarray(weights, np.float64)[read_known]
            contributions[np.ix_(target_known, read_known)] = terms
    return contributions


def related_pairs(
    state: ServingState, rows: np.ndarray, history_rows: np.ndarray
) -> np.ndarray:
    """[len(rows), len(history)]: shares a topic, or content cosine >= threshold."""
    catalogue = state.catalogue
    topics = catalogue.item_topics
    shared = (
        topics[rows].astype(np.float32) @ topics[history_rows].astype(np.float32).T
    ).toarray() > 0
    text = catalogue.text_index.matrix
    similar = (text[rows] @ text[history_rows].T).toarray() >= SIMILARITY_THRESHOLD
    return shared | similar


def reason_anchors(
    state: ServingState,
    rows: np.ndarray,
    *,
    history_rows: np.ndarray,
    weights: np.ndarray,
    popularity_led: np.ndarray | None = None,
) -> np.ndarray:
    """The read item (catalogue row) that explains each row, -1 for none.

    ``popularity_led`` marks rows whose blended score owes more to popularity
    than to the model (they get no anchor).
    """
    anchors = np.full(len(rows), -1, dtype=np.int64)
    if len(rows) == 0 or len(history_rows) == 0:
        return anchors
    contributions = anchor_contributions(
        state, rows, history_rows=history_rows, weights=weights
    )
    positive = np.maximum(contributions, 0.0)
    total = positive.sum(axis=1, keepdims=True)
    share = positive / np.where(total > 0, total, 1.0)
    eligible = (
        (contributions > 0)
        & (share >= MIN_CONTRIBUTION_SHARE)
        & related_pairs(state, rows, history_rows)
    )
    best = np.argmax(np.where(eligible, contributions, -np.inf), axis=1)
    found = eligible.any(axis=1)
    if popularity_led is not None:
        found &= ~popularity_led
    anchors[found] = history_rows[best[found]]
    return anchors


def _topics_read(catalogue, history_list: list[int], history_rows: np.ndarray) -> set:
    if len(history_list) <= 32:
        topic_lists = catalogue.topic_column_lists()
        return {column for row in history_list for column in topic_lists[row]}
    # A long history: one numpy read beats a Python loop over it.
    return set(np.unique(catalogue.topic_columns_of(history_rows)).tolist())


def feed_reasons(
    state: ServingState,
    rows: np.ndarray,
    *,
    personal: bool,
    anchors: np.ndarray | None,
    history_rows: np.ndarray,
    topic: str | None,
) -> list[str]:
    """Why each row is on the page (``anchors``: a row per item, -1 for none).

    ``history_rows`` are the live items the reader has seen: their sections
    and topics pick the words of the reasons without an anchor.
    """
    catalogue = state.catalogue
    history_rows = history_rows[history_rows >= 0]
    history_list = history_rows.tolist()
    read_sections = set(catalogue.section_ids[history_rows].tolist())
    topic_lists = catalogue.topic_column_lists()
    read_topics: set[int] | None = None  # only an item with several topics asks
    topic_override = None
    if topic:
        topic_override = catalogue.topic_names[catalogue.topic_column(topic)]
    single_item = bool(history_list) and min(history_list) == max(history_list)
    limit = anchor_limit(len(rows), single_item=single_item)
    used: dict[int, int] = {}
    # Per-row values read for the whole page at once (numpy scalars are slow
    # one at a time).
    if state.model is not None:
        new_flags = catalogue.published[rows] > state.trained_until
    else:
        new_flags = np.zeros(len(rows), dtype=bool)
    if state.model_columns is not None:
        new_flags |= state.model_columns[rows] < 0
    anchor_list = [-1] * len(rows) if anchors is None else anchors.tolist()
    reasons = []
    for row, is_new, anchor, section in zip(
        rows.tolist(),
        new_flags.tolist(),
        anchor_list,
        catalogue.section_ids[rows].tolist(),
        strict=True,
    ):
        columns = topic_lists[row]
        named = columns
        if len(columns) > 1:
            # Name a topic the reader follows when the item has several.
            if read_topics is None:
                read_topics = _topics_read(catalogue, history_list, history_rows)
            named = [column for column in columns if column in read_topics] or columns
        topic_name = catalogue.topic_names[named[0]] if named else "the news"
        if topic_override:
            topic_name = topic_override
        if is_new and personal:
            reasons.append(f"New in {topic_name}")
        elif anchor >= 0 and used.get(anchor, 0) < limit:
            used[anchor] = used.get(anchor, 0) + 1
            reasons.append(f"Because you read “{catalogue.titles[anchor]}”")
        elif personal and section in read_sections and section in catalogue.sections:
            reasons.append(f"More from {catalogue.sections[section]['title']}")
        else:
            reasons.append(f"Popular in {topic_name}")
    return reasons
