"""Reasons on feeds: the model's own explanation, related anchors, a cap per anchor."""

import datetime
import re

import numpy as np
import pytest
import scipy.sparse as sp
from django.utils import timezone
from implicit.cpu.als import AlternatingLeastSquares

from recommend.models import Event, Reader
from recommend.serving.feeds import feed_for_reader
from recommend.serving.impressions import impressions_flush
from recommend.serving.reasons import (
    SIMILARITY_THRESHOLD,
    anchor_contributions,
    anchor_limit,
)
from recommend.serving.scoring import history_weights, reader_history
from recommend.serving.state import serving_state, serving_state_reset
from tests.recommend.scenario import model_train_activate, world_build

pytestmark = pytest.mark.django_db

BECAUSE = re.compile(r"^Because you read “(.*)”$")


@pytest.fixture(autouse=True)
def _always_check_stamps(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()
    yield
    impressions_flush()


def _reads(external_id: str, pages) -> Reader:
    reader = Reader.objects.create(external_id=external_id)
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                reader=reader,
                page=page,
                type="like",
                value=1.0,
                occurred_at=now - datetime.timedelta(minutes=index + 1),
                event_id=f"{external_id}-{page.pk}",
            )
            for index, page in enumerate(pages)
        ]
    )
    return reader


def _anchored(feed, world) -> list[tuple[int, int]]:
    """(item id, anchor id) of every "Because you read X" item of the feed."""
    by_title = {article.title: article.pk for article in world.articles}
    pairs = []
    for item in feed.items:
        match = BECAUSE.match(item.reason)
        if match:
            pairs.append((item.id, by_title[match.group(1)]))
    return pairs


def _related(item_id: int, anchor_id: int, world) -> bool:
    if world.article_topic[item_id] == world.article_topic[anchor_id]:
        return True
    catalogue = serving_state().catalogue
    rows = catalogue.positions(np.array([item_id, anchor_id]))
    text = catalogue.text_index.matrix
    return float((text[rows[0]] @ text[rows[1]].T).toarray()[0, 0]) >= (
        SIMILARITY_THRESHOLD
    )


@pytest.mark.parametrize("algorithm", ["als", "itemknn"])
def test_varied_history_no_anchor_explains_over_a_third(algorithm):
    # given: a reader of four topics, most of it one topic (old anchors piled up)
    world = world_build(train=False)
    model_train_activate(algorithm)
    by_topic = {
        topic: [a for a in world.articles if world.article_topic[a.pk] == topic]
        for topic in range(6)
    }
    history = by_topic[0][:1] + by_topic[1][:1] + by_topic[2][:1] + by_topic[3][:1]
    _reads("varied", history)
    # when: the first request computes the feed, the second reads the stored list
    feeds = [feed_for_reader(external_id="varied", n=20) for _ in range(2)]
    # then
    assert [feed.source for feed in feeds] == ["computed", "list"]
    for feed in feeds:
        assert len(feed.items) == 20
        pairs = _anchored(feed, world)
        assert pairs, [item.reason for item in feed.items]
        counts = np.unique([anchor for _, anchor in pairs], return_counts=True)[1]
        assert counts.max() <= anchor_limit(20, single_item=False) == 6
        assert all(_related(item, anchor, world) for item, anchor in pairs)


def test_cap_holds_when_one_anchor_explains_a_whole_topic(settings):
    # given: no topic diversity, so a read topic's 7 unread articles rank together
    settings.RECOMMEND_FEED_MAX_PER_TOPIC = 0
    world = world_build()
    topic_zero = [a for a in world.articles if world.article_topic[a.pk] == 0]
    topic_one = [a for a in world.articles if world.article_topic[a.pk] == 1]
    _reads("two-reads", [topic_zero[0], topic_one[0]])
    # when
    feed = feed_for_reader(external_id="two-reads", n=20)
    # then: each anchor explains at most 6 items, the others say something else
    pairs = _anchored(feed, world)
    anchors, counts = np.unique([anchor for _, anchor in pairs], return_counts=True)
    assert set(anchors) <= {topic_zero[0].pk, topic_one[0].pk}
    assert counts.max() == 6
    others = [item.reason for item in feed.items if not BECAUSE.match(item.reason)]
    assert others and all(
        reason.startswith(("More from ", "Popular in ", "New in ")) for reason in others
    )


def test_single_read_explains_only_related_items():
    # given: one like of one astronomy piece
    world = world_build()
    liked = next(a for a in world.articles if world.article_topic[a.pk] == 0)
    _reads("one-like", [liked])
    # when
    feed = feed_for_reader(external_id="one-like", n=20)
    # then: no cap for a single read, but only related items name it
    pairs = _anchored(feed, world)
    assert pairs
    assert {anchor for _, anchor in pairs} == {liked.pk}
    assert all(_related(item, anchor, world) for item, anchor in pairs)
    unrelated = [item for item in feed.items if world.article_topic[item.id] != 0]
    assert unrelated
    assert all(item.reason == "More from World" for item in unrelated)


def test_als_contributions_are_implicits_explanation():
    # given
    world = world_build()
    state = serving_state()
    reader = world.readers[7]
    history = reader_history(external_id=reader.external_id)
    rows = state.catalogue.positions(history.page_ids)
    history_rows, weights = history_weights(history, rows)
    targets = np.setdiff1d(np.arange(len(state.catalogue)), history_rows)[:5]
    # when
    contributions = anchor_contributions(
        state, targets, history_rows=history_rows, weights=weights
    )
    # then: the same terms as implicit's explain (confidence floored at 1, as
    # training floors it), item by item
    params = state.model.params
    alpha = float(params["alpha"])
    explainer = AlternatingLeastSquares(
        factors=state.item_factors.shape[1],
        regularization=float(params["regularization"]),
        alpha=alpha,
    )
    explainer.item_factors = state.item_factors
    user_items = sp.csr_matrix(
        (np.maximum(weights, 1.0 / alpha), (np.zeros(len(history_rows)), history_rows)),
        shape=(1, len(state.catalogue)),
    )
    for index, target in enumerate(targets):
        total, top, _ = explainer.explain(0, user_items, int(target), N=1000)
        expected = dict(top)
        assert contributions[index].sum() == pytest.approx(total, rel=1e-4, abs=1e-5)
        for column, row in enumerate(history_rows):
            assert contributions[index, column] == pytest.approx(
                expected[int(row)], rel=1e-3, abs=1e-5
            )
