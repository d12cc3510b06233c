"""A publish or an unpublish updates the serving catalogue in place."""

import dataclasses
import time

import numpy as np
import pytest

from recommend.serving.catalogue import Catalogue
from recommend.serving.feeds import feed_for_reader, similar_items
from recommend.serving.impressions import impressions_flush
from recommend.serving.state import (
    serving_state,
    serving_state_build,
    serving_state_reset,
)
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _always_check_stamps(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    settings.RECOMMEND_CATALOGUE_UPDATES = True
    serving_state_reset()
    yield
    impressions_flush()


@pytest.fixture
def world():
    return world_build(n_readers=60, n_events=2500)


def _publish(world, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return ArticlePageFactory(
            section=world.articles[0].get_parent(),
            topics=[world.topics[2]],
            **fields,
        )


def _assert_same_rows(updated: Catalogue, built: Catalogue) -> None:
    assert updated.item_ids.tolist() == built.item_ids.tolist()
    assert updated.titles == built.titles
    assert updated.urls == built.urls
    assert updated.section_ids.tolist() == built.section_ids.tolist()
    assert updated.locales.tolist() == built.locales.tolist()
    assert np.array_equal(updated.published, built.published)
    assert np.array_equal(updated.live_since, built.live_since)
    assert (updated.item_topics != built.item_topics).nnz == 0
    assert updated.text_index.matrix.shape[0] == len(built)


def test_a_publish_adds_the_row_and_folds_its_factors_without_a_rebuild(
    world, django_capture_on_commit_callbacks
):
    # given: a process serving the world
    before = serving_state()
    # when: an article about subject 2 is published
    fresh = _publish(
        world,
        django_capture_on_commit_callbacks,
        title=f"New story about {world.topics[2].name}",
        standfirst=f"More on {world.topics[2].name}.",
    )
    after = serving_state()
    # then: the same model object (no reload), one more row, rows as a build has
    assert after is not before
    assert after.model is before.model
    assert after.catalogue is not before.catalogue
    built = serving_state_build(live_version=after.live_version, stamp=None)
    _assert_same_rows(after.catalogue, built.catalogue)
    row = int(after.catalogue.positions(np.array([fresh.pk]))[0])
    assert row >= 0 and after.model_columns[row] == -1
    for field in ("model_columns", "item_factors", "item_norms"):
        assert len(getattr(after, field)) == len(after.catalogue)
    # the trained items keep their factors; the new one sits near its subject
    trained = after.model_columns >= 0
    assert np.array_equal(after.item_factors[trained], built.item_factors[trained])
    mine, theirs = after.item_factors[row], built.item_factors[row]
    assert mine @ theirs / np.linalg.norm(mine) / np.linalg.norm(theirs) > 0.95
    similar = similar_items(page_id=fresh.pk, n=5)
    assert [world.article_topic.get(item.id) for item in similar].count(2) >= 4


def test_an_unpublish_removes_the_row_from_every_aligned_array(
    world, django_capture_on_commit_callbacks
):
    # given
    before = serving_state()
    gone = world.articles[5]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        gone.unpublish()
    after = serving_state()
    # then
    assert after.model is before.model
    assert len(after.catalogue) == len(before.catalogue) - 1
    assert after.catalogue.positions(np.array([gone.pk]))[0] == -1
    kept = before.catalogue.item_ids != gone.pk
    assert np.array_equal(after.item_factors, before.item_factors[kept])
    assert np.array_equal(after.model_columns, before.model_columns[kept])
    assert after.catalogue.titles == [
        title for title, keep in zip(before.catalogue.titles, kept, strict=True) if keep
    ]
    feed = feed_for_reader(external_id="sim-4", n=100)
    assert gone.pk not in {item.id for item in feed.items}
    assert similar_items(page_id=gone.pk) is None


def test_a_republished_edit_and_a_move_are_read_again(
    world, django_capture_on_commit_callbacks
):
    # given
    from tests.factories import SectionPageFactory

    serving_state()
    edited, moved = world.articles[1], world.articles[2]
    other = SectionPageFactory(title="Elsewhere", slug="elsewhere")
    # when: one article republished under a new title, another moved
    with django_capture_on_commit_callbacks(execute=True):
        edited.title = "A better title"
        edited.save_revision().publish()
        moved.move(other, pos="last-child")
    after = serving_state()
    # then
    catalogue = after.catalogue
    row = int(catalogue.positions(np.array([edited.pk]))[0])
    assert catalogue.titles[row] == "A better title"
    row = int(catalogue.positions(np.array([moved.pk]))[0])
    assert catalogue.urls[row].startswith("/elsewhere/")
    assert catalogue.section_ids[row] == other.pk
    built = serving_state_build(live_version=after.live_version, stamp=None)
    _assert_same_rows(catalogue, built.catalogue)


def test_with_updates_off_every_change_rebuilds(
    world, django_capture_on_commit_callbacks, settings
):
    # given
    settings.RECOMMEND_CATALOGUE_UPDATES = False
    before = serving_state()
    # when
    _publish(world, django_capture_on_commit_callbacks, title="Another one")
    after = serving_state()
    # then: a fresh build (the model artifact read again)
    assert after.model is not before.model
    assert len(after.catalogue) == len(before.catalogue) + 1


def test_an_unknown_row_aligned_array_falls_back_to_a_full_build(world):
    # given: a state carrying a row-aligned array the update does not know
    from recommend.serving.state import serving_state_update

    state = serving_state()

    @dataclasses.dataclass
    class Extended(type(state)):
        extra: np.ndarray | None = None

    extended = Extended(
        **{f.name: getattr(state, f.name) for f in dataclasses.fields(state)},
        extra=np.zeros(len(state.catalogue)),
    )
    # when / then: no update is attempted (it could not keep `extra` aligned)
    assert serving_state_update(extended, live_version="x") is None


@pytest.mark.django_db(transaction=True)
def test_requests_keep_the_current_state_while_the_next_is_made(settings):
    # given: a process serving, the next state made in the background
    world = world_build(n_readers=30, n_events=1200)
    settings.RECOMMEND_STATE_REFRESH_IN_BACKGROUND = True
    before = serving_state()
    # when: an article is published (committed: the thread reads it)
    fresh = ArticlePageFactory(
        section=world.articles[0].get_parent(), topics=[world.topics[1]]
    )
    served = serving_state()
    # then: this request is not held up, and a later one gets the update
    assert served is before
    deadline = time.monotonic() + 60
    while serving_state() is before and time.monotonic() < deadline:
        time.sleep(0.05)
    after = serving_state()
    assert after.model is before.model
    assert after.catalogue.positions(np.array([fresh.pk]))[0] >= 0
