"""Two-stage feeds: cached candidate lists, read-your-writes, invalidation, refresh."""

import datetime
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.cache import caches
from django.db.models import Count
from django.utils import timezone
from django_q.brokers import get_broker

from recommend.engine.train import TrainedModel
from recommend.models import Event, Reader
from recommend.serving.candidates import (
    CACHE,
    CandidateList,
    candidate_list_compute,
    candidate_list_key,
    candidate_lists_rebuild,
    candidate_lists_refresh,
    candidate_lists_refresh_request,
    recent_events_key,
    recent_events_note,
    refresh_pending_key,
)
from recommend.serving.feeds import feed_for_reader
from recommend.serving.impressions import impressions_flush
from recommend.serving.scoring import reader_history
from recommend.serving.state import (
    MODEL_VERSION_STAMP_KEY,
    serving_state,
    serving_state_reset,
)
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import model_train_activate, world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _always_check_stamps(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()
    yield
    impressions_flush()


@pytest.fixture
def world():
    return world_build()


def _feed_ids(client, reader: str, n: int = 20) -> tuple[list[int], str]:
    response = client.get("/api/v1/feed", {"reader": reader, "n": n})
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["results"]]
    return ids, response["X-Feed-Source"]


@pytest.mark.parametrize("kind", ["read", "dismiss"])
def test_an_item_just_read_or_dismissed_is_gone_from_the_next_feed(
    world, keyed_client, django_capture_on_commit_callbacks, kind
):
    # given: a reader with a long history, whose feed comes from a cached list
    client = keyed_client()
    reader = (
        Reader.objects.annotate(events_count=Count("events"))
        .order_by("-events_count")
        .first()
        .external_id
    )
    _feed_ids(client, reader)
    before, source = _feed_ids(client, reader)
    assert source == "list"
    clicked = before[0]
    # when: the reader reads (or dismisses) the top item
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            "/api/v1/events",
            {
                "events": [
                    {"event_id": f"e-{kind}", "reader": reader, "page": clicked}
                    | {"type": kind, "value": 60 if kind == "read" else 1}
                ]
            },
            format="json",
        )
    assert posted.json()["accepted"] == 1
    after, source = _feed_ids(client, reader)
    # then: still served from the list (not recomputed), without that item
    assert source == "list"
    assert clicked not in after
    assert after[:5] == before[1:6]


def test_a_new_readers_first_events_shape_the_next_feed_at_once(
    world, keyed_client, django_capture_on_commit_callbacks
):
    # given: a reader with one event and a cached list built from it
    client = keyed_client()
    subject_two = [a for a in world.articles if world.article_topic[a.pk] == 2]
    subject_five = [a for a in world.articles if world.article_topic[a.pk] == 5]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            "/api/v1/events",
            {
                "events": [
                    {"event_id": "n0", "reader": "newbie", "page": subject_five[0].pk}
                    | {"type": "read", "value": 120}
                ]
            },
            format="json",
        )
    assert first.json()["accepted"] == 1
    _feed_ids(client, "newbie")
    assert _feed_ids(client, "newbie")[1] == "list"
    # when: five reads of subject 2 arrive
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/v1/events",
            {
                "events": [
                    {"event_id": f"n{index}", "reader": "newbie", "page": article.pk}
                    | {"type": "read", "value": 120}
                    for index, article in enumerate(subject_two[:5], start=1)
                ]
            },
            format="json",
        )
    ids, source = _feed_ids(client, "newbie", n=10)
    # then: recomputed at once, led by the subject-2 articles left to read
    topics = [world.article_topic[page] for page in ids]
    assert source == "computed"
    assert topics[:3] == [2, 2, 2]


def test_a_promotion_invalidates_every_list(world):
    # given: a list cached under the first model
    feed_for_reader(external_id="sim-9", n=5)
    assert feed_for_reader(external_id="sim-9", n=5).source == "list"
    # when: another model is promoted and the shared stamp moves
    newer = model_train_activate(algorithm="itemknn")
    caches["shared"].set(MODEL_VERSION_STAMP_KEY, f"v{newer.pk}", timeout=None)
    feed = feed_for_reader(external_id="sim-9", n=5)
    # then: the old list is not used; the new model's list is computed and kept
    assert feed.source == "computed"
    assert feed.model_version == newer.pk
    assert feed_for_reader(external_id="sim-9", n=5).source == "list"


def test_an_unpublished_article_leaves_a_cached_list_feed_at_once(
    world, django_capture_on_commit_callbacks
):
    # given: a feed served from a cached list
    feed_for_reader(external_id="sim-3", n=10)
    cached = feed_for_reader(external_id="sim-3", n=10)
    assert cached.source == "list"
    top = cached.items[0].id
    # when: its top article is unpublished
    with django_capture_on_commit_callbacks(execute=True):
        next(a for a in world.articles if a.pk == top).unpublish()
    feed = feed_for_reader(external_id="sim-3", n=10)
    # then: same list, article gone
    assert feed.source == "list"
    assert top not in {item.id for item in feed.items}


def test_an_article_published_after_the_list_is_mixed_in(
    world, django_capture_on_commit_callbacks
):
    # given: a cached list holding every live item the reader has not seen
    feed_for_reader(external_id="sim-6", n=100)
    # when: a new article goes live
    with django_capture_on_commit_callbacks(execute=True):
        fresh = ArticlePageFactory(
            section=world.articles[0].get_parent(),
            title="Fresh piece",
            topics=[world.topics[1]],
            published_date=datetime.date.today(),
        )
    feed = feed_for_reader(external_id="sim-6", n=100)
    # then: served from the list, with the new article scored in
    assert feed.source == "list"
    item = next(item for item in feed.items if item.id == fresh.pk)
    assert item.reason.startswith("New in")


def test_lists_built_after_a_promotion_serve_the_first_request(world):
    # when: the post-promotion task runs
    built = candidate_lists_rebuild(batch_size=40)
    # then: every reader with events has a list; the first feed is a cache hit
    assert built == Reader.objects.filter(events__isnull=False).distinct().count()
    assert feed_for_reader(external_id="sim-11", n=10).source == "list"
    progress = caches["shared"].get("feed:rebuild-progress")
    assert progress["done"] == progress["total"] == built


def test_refresh_requests_coalesce_per_reader(
    world, django_capture_on_commit_callbacks
):
    # given
    reader = world.readers[2]
    broker = get_broker()
    queued = broker.queue_size()
    # when: three batches of events for the reader within the debounce window
    with django_capture_on_commit_callbacks(execute=True):
        first = candidate_lists_refresh_request(reader_pks=[reader.pk, reader.pk])
        second = candidate_lists_refresh_request(reader_pks=[reader.pk])
        third = candidate_lists_refresh_request(reader_pks=[reader.pk])
    # then: one task
    assert first == [reader.pk]
    assert second == third == []
    assert broker.queue_size() == queued + 1


def test_refresh_task_is_idempotent(world):
    # given
    reader = world.readers[3]
    key = candidate_list_key(
        stamp=serving_state().model_stamp, external_id=reader.external_id
    )
    # when / then: built once, then a no-op until the reader has a new event
    assert candidate_lists_refresh(reader_pks=[reader.pk]) == 1
    stored = caches[CACHE].get(key)
    assert candidate_lists_refresh(reader_pks=[reader.pk]) == 0
    assert caches[CACHE].get(key) == stored
    Event.objects.create(
        reader=reader,
        page=world.articles[0],
        type="view",
        occurred_at=timezone.now(),
        event_id="later",
    )
    assert candidate_lists_refresh(reader_pks=[reader.pk]) == 1
    rebuilt = CandidateList.decode(caches[CACHE].get(key))
    assert world.articles[0].pk in rebuilt.seen_ids.tolist()


def test_the_batched_rebuild_builds_the_lists_one_reader_would_get(world):
    # given: the post-promotion rebuild (readers scored in matrix blocks)
    candidate_lists_rebuild(batch_size=25)
    state = serving_state()
    for reader in world.readers[:8]:
        stored = CandidateList.decode(
            caches[CACHE].get(
                candidate_list_key(
                    stamp=state.model_stamp, external_id=reader.external_id
                )
            )
        )
        # when: the same reader's list is computed alone
        alone, _, _ = candidate_list_compute(
            state=state,
            history=reader_history(external_id=reader.external_id),
            built_at=0.0,
        )
        # then: the same items, scores and reasons' anchors
        assert stored.item_ids[:50].tolist() == alone.item_ids[:50].tolist()
        assert np.allclose(stored.scores, alone.scores, atol=1e-5)
        assert stored.anchor_ids.tolist() == alone.anchor_ids.tolist()
        assert sorted(stored.seen_ids.tolist()) == sorted(alone.seen_ids.tolist())


def test_a_blended_model_is_served_with_the_blend_evaluation_applied(settings):
    # given: an ALS model trained with half of its score from recency popularity
    settings.RECOMMEND_FRESHNESS_WEIGHT = 0
    world = world_build(train=False)
    params = {"factors": 16, "iterations": 15, "blend": 0.5}
    version = model_train_activate("als", params=params)
    with version.artifact.open("rb") as artifact:
        model = TrainedModel.load(artifact)
    reader = world.readers[4]
    row = int(np.flatnonzero(model.reader_ids == reader.pk)[0])
    user_items = sp.csr_matrix((len(model.reader_ids), model.n_items))
    # the evaluation's scores for that reader (TrainedModel.recommend scores so)
    expected = model._scores(np.array([row]), user_items)[0]
    # when
    state = serving_state()
    candidate_list, _, _ = candidate_list_compute(
        state=state,
        history=reader_history(external_id=reader.external_id),
        built_at=time.time(),
    )
    # then: the list holds the blended scores, in the evaluation's order
    columns = state.model_columns[state.catalogue.positions(candidate_list.item_ids)]
    assert candidate_list.scores == pytest.approx(expected[columns], rel=1e-4, abs=1e-6)
    raw = model.user_factors[row] @ model.item_factors[columns].T
    assert not np.allclose(candidate_list.scores, raw, rtol=1e-2)
    # and an item scored later from the stored vector lands on the same scale:
    # its model part, to which the request adds nothing but freshness
    rows = state.catalogue.positions(candidate_list.item_ids[:5])
    model_part = state.item_factors[rows] @ candidate_list.vector
    popularity = 0.5 * state.blend_popularity[rows] / state.blend_peak
    assert model_part + popularity == pytest.approx(
        candidate_list.scores[:5], rel=1e-4, abs=1e-6
    )


def test_concurrent_batches_of_one_reader_lose_no_recent_event(db):
    # given: eight front-end requests of one reader at once, 40 events in all
    # (the reader's list refresh already pending: the threads enqueue nothing)
    caches[CACHE].add(refresh_pending_key(reader_pk=7), 1, timeout=60)
    pages = list(range(1000, 1040))
    start = threading.Barrier(8)

    def send(chunk: list[int]) -> None:
        start.wait()
        for page in chunk:
            recent_events_note(events=[("racer", 7, page, "read")])

    threads = [
        threading.Thread(target=send, args=(pages[index::8],)) for index in range(8)
    ]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then: the reader's note holds every one of them
    reader_pk, noted = caches[CACHE].get(recent_events_key(external_id="racer"))
    assert reader_pk == 7
    assert sorted(page for page, _, _ in noted) == pages
