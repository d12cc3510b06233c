"""The catalogue's per-request array reads, against scipy's own slicing."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recommend.serving.catalogue import Catalogue


def _catalogue(item_topics: sp.csr_matrix, live_since: np.ndarray) -> Catalogue:
    n_items, n_topics = item_topics.shape
    return Catalogue(
        item_ids=np.arange(1, n_items + 1, dtype=np.int64),
        titles=[""] * n_items,
        urls=[""] * n_items,
        section_ids=np.zeros(n_items, np.int64),
        section_by_slug={},
        locales=np.array(["en"] * n_items),
        published=np.zeros(n_items),
        item_topics=item_topics,
        topic_ids=np.arange(n_topics),
        topic_slugs=[f"t{column}" for column in range(n_topics)],
        topic_names=[f"T{column}" for column in range(n_topics)],
        text_index=None,
        live_since=live_since,
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n_items=st.integers(1, 40), n_topics=st.integers(1, 8))
def test_topic_columns_of_rows_are_scipys_row_slice(data, n_items, n_topics):
    # given: any item-topic matrix and any rows, repeats and empty rows included
    dense = data.draw(arrays(bool, (n_items, n_topics)))
    item_topics = sp.csr_matrix(dense)
    rows = np.array(
        data.draw(st.lists(st.integers(0, n_items - 1), max_size=30)), dtype=np.int64
    )
    catalogue = _catalogue(item_topics, np.zeros(n_items))
    # when
    columns = catalogue.topic_columns_of(rows)
    # then
    assert sorted(columns.tolist()) == sorted(item_topics[rows].indices.tolist())


@settings(max_examples=100, deadline=None)
@given(
    live_since=st.lists(st.integers(0, 20), min_size=1, max_size=40),
    moments=st.lists(st.integers(-1, 21), min_size=1, max_size=5),
)
def test_rows_live_since_are_exactly_the_later_ones(live_since, moments):
    # given: one catalogue asked several times (the sorted order is kept)
    stamps = np.array(live_since, dtype=np.float64)
    catalogue = _catalogue(sp.csr_matrix((len(stamps), 1), dtype=bool), stamps)
    for moment in moments:
        # when
        rows = catalogue.rows_live_since(moment)
        # then
        assert sorted(rows.tolist()) == np.flatnonzero(stamps > moment).tolist()


@settings(max_examples=150, deadline=None)
@given(
    ids=st.sets(
        st.one_of(st.integers(1, 200), st.integers(1, 2**40)), min_size=1, max_size=30
    ),
    asked=st.lists(st.integers(-(2**62), 2**62) | st.integers(-5, 250), max_size=30),
)
def test_positions_find_each_live_id_and_nothing_else(ids, asked):
    # given: live ids dense (a table) or spread out (a binary search)
    item_ids = np.array(sorted(ids), dtype=np.int64)
    catalogue = _catalogue(sp.csr_matrix((len(item_ids), 1), dtype=bool), item_ids)
    catalogue.item_ids = item_ids
    row_of = {int(page_id): row for row, page_id in enumerate(item_ids)}
    queries = np.array(asked + item_ids.tolist(), dtype=np.int64)
    # when
    rows = catalogue.positions(queries)
    # then
    assert rows.tolist() == [row_of.get(page_id, -1) for page_id in queries.tolist()]


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n_items=st.integers(1, 40), n_topics=st.integers(1, 8))
def test_topic_column_lists_are_scipys_rows(data, n_items, n_topics):
    # given: any item-topic matrix, empty rows included
    dense = data.draw(arrays(bool, (n_items, n_topics)))
    item_topics = sp.csr_matrix(dense)
    catalogue = _catalogue(item_topics, np.zeros(n_items))
    # when
    lists = catalogue.topic_column_lists()
    # then: one list per row, its columns in CSR order, and built once
    assert lists == [item_topics[row].indices.tolist() for row in range(n_items)]
    assert catalogue.topic_column_lists() is lists
    assert catalogue.item_topic_columns(n_items - 1) == lists[-1]


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    n_items=st.integers(1, 40),
    n_topics=st.integers(1, 6),
    cap=st.integers(0, 3),
    window=st.integers(1, 20),
)
def test_diversify_reads_topic_lists_as_it_reads_the_matrix(
    data, n_items, n_topics, cap, window
):
    # given: any ranking of distinct rows
    from recommend.engine.rerank import diversify

    item_topics = sp.csr_matrix(data.draw(arrays(bool, (n_items, n_topics))))
    ranked = np.array(data.draw(st.permutations(list(range(n_items)))), dtype=np.int64)
    lists = _catalogue(item_topics, np.zeros(n_items)).topic_column_lists()
    # when
    from_matrix = diversify(
        ranked=ranked, item_topics=item_topics, max_per_topic=cap, window=window
    )
    from_lists = diversify(
        ranked=ranked,
        item_topics=item_topics,
        max_per_topic=cap,
        window=window,
        topic_lists=lists,
    )
    # then
    assert from_lists.tolist() == from_matrix.tolist()
    assert sorted(from_lists.tolist()) == sorted(ranked.tolist())
