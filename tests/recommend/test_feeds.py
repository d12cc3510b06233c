"""Feeds and similar items: live only, personal after a few clicks, cold start."""

import datetime

import numpy as np
import pytest
from django.core.cache import caches
from django.utils import timezone
from django_q.models import Schedule

from recommend.models import Event, FeedImpression, ModelVersion, Reader
from recommend.serving import trending
from recommend.serving.feeds import feed_for_reader, similar_items
from recommend.serving.impressions import impressions_flush
from recommend.serving.state import (
    MODEL_VERSION_STAMP_KEY,
    serving_state,
    serving_state_reset,
)
from recommend.tasks import trending_share_task
from recommend.training.schedules import TRENDING_SCHEDULE_NAME
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import model_train_activate, world_build
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _always_check_stamps(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()
    yield
    impressions_flush()  # while this test's database still exists


@pytest.fixture
def world():
    return world_build()


def _events(reader: Reader, pages, kind: str = "read", value: float = 120.0):
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                reader=reader,
                page=page,
                type=kind,
                value=value,
                occurred_at=now - datetime.timedelta(minutes=index + 1),
                event_id=f"{reader.external_id}-{kind}-{page.pk}",
            )
            for index, page in enumerate(pages)
        ]
    )


def test_draft_unpublished_and_dismissed_items_never_appear(world):
    # given
    section = world.articles[0].get_parent()
    draft = ArticlePageFactory(section=section, title="Draft", publish=False)
    gone = world.articles[1]
    gone.unpublish()
    reader = world.readers[0]
    dismissed = world.articles[2]
    _events(reader, [dismissed], kind="dismiss", value=1.0)
    hidden = {draft.pk, gone.pk, dismissed.pk}
    # when
    feed_ids = {item.id for item in feed_for_reader(external_id="sim-0", n=100).items}
    anonymous = {item.id for item in feed_for_reader(external_id="nobody", n=100).items}
    similar = {item.id for item in similar_items(page_id=world.articles[3].pk, n=100)}
    # then
    assert feed_ids and anonymous and similar
    assert not hidden & feed_ids
    assert not {draft.pk, gone.pk} & anonymous
    assert not {draft.pk, gone.pk} & similar
    assert similar_items(page_id=draft.pk) is None


def test_seen_items_are_excluded(world):
    reader = world.readers[5]
    seen = set(Event.objects.filter(reader=reader).values_list("page_id", flat=True))
    feed = feed_for_reader(external_id=reader.external_id, n=30)
    assert seen
    assert not seen & {item.id for item in feed.items}


def test_new_reader_with_five_events_in_one_topic_gets_that_topic(world):
    # given: a reader the model never saw clicks five articles of subject 2
    reader = Reader.objects.create(external_id="fresh-reader")
    subject_two = [a for a in world.articles if world.article_topic[a.pk] == 2][:5]
    _events(reader, subject_two)
    # when
    feed = feed_for_reader(external_id="fresh-reader", n=10)
    # then: the top 10 are dominated by subject 2 (3 left to see + neighbours)
    topics = [world.article_topic[item.id] for item in feed.items]
    assert feed.strategy == "personal"
    assert topics[:3] == [2, 2, 2]
    assert topics.count(2) == 3  # all the unseen subject-2 articles, first
    assert feed.items[0].reason.startswith("Because you read")


def test_unknown_reader_gets_trending(world):
    # given: subject 4's articles are the most read in the last days
    feed = feed_for_reader(external_id="never-seen", n=10)
    # when
    counts = {}
    for event in Event.objects.exclude(type="dismiss").values_list("page_id"):
        counts[event[0]] = counts.get(event[0], 0) + 1
    top_read = max(counts, key=counts.get)
    # then
    assert feed.strategy == "trending"
    assert feed.model_version is None
    assert feed.items[0].reason.startswith("Popular in")
    assert top_read in {item.id for item in feed.items[:3]}


def test_a_process_without_trending_counts_takes_the_shared_ones(
    world, django_assert_num_queries
):
    # given: one process read the trending counts, which shares them
    catalogue = serving_state().catalogue
    first = trending.trending_scores(catalogue).copy()
    # when: another process (this one, its own counts forgotten) needs them
    trending._state.update(counts=None, aligned=None)
    with django_assert_num_queries(0):
        taken = trending.trending_scores(catalogue)
    # then: the same scores, without the grouped query over the events
    assert np.array_equal(taken, first)
    # and with nothing shared (a fresh machine) the query runs once, inline
    trending.trending_reset()
    with django_assert_num_queries(1):
        assert np.array_equal(trending.trending_scores(catalogue), first)


def test_the_scheduled_task_shares_newer_counts_that_each_process_takes_up(
    world, monkeypatch
):
    # given: this process holds trending counts in which the last article is unread
    catalogue = serving_state().catalogue
    quiet = world.articles[-1]
    row = int(catalogue.positions(np.array([quiet.pk]))[0])
    before = trending.trending_scores(catalogue)[row]
    # when: many readers read it, and the worker's schedule runs the task
    for reader in world.readers[:20]:
        _events(reader, [quiet])
    assert trending_share_task() > 0
    # then: the process takes up the shared counts at its next look (in the
    # background; requests keep the old counts meanwhile)
    monkeypatch.setattr(trending, "TRENDING_CHECK_SECONDS", 0.0)
    wait_for(
        lambda: trending.trending_scores(catalogue)[row] > before,
        seconds=10,
        what="the shared counts taken up",
    )
    # exactly the counts a fresh read gives now
    fresh = trending._align(catalogue, trending.trending_counts_read())
    assert np.allclose(trending.trending_scores(catalogue), fresh)
    # and the schedule that runs the task exists once
    (schedule,) = Schedule.objects.filter(name=TRENDING_SCHEDULE_NAME)
    assert schedule.func == "recommend.tasks.trending_share_task"
    assert schedule.minutes == 5


def test_topic_filter_and_unknown_topic(world):
    from recommend.serving.feeds import FeedFilterError

    feed = feed_for_reader(external_id="sim-1", n=10, topic="subject-3")
    assert feed.items
    assert {world.article_topic[item.id] for item in feed.items} == {3}
    with pytest.raises(FeedFilterError):
        feed_for_reader(external_id="sim-1", topic="no-such-topic")


def test_diversity_cap_holds(world, settings):
    # given: readers who only read one topic, which the model would fill a feed with
    settings.RECOMMEND_FEED_MAX_PER_TOPIC = 2
    for topic_index in range(3):
        reader = Reader.objects.create(external_id=f"narrow-{topic_index}")
        pages = [a for a in world.articles if world.article_topic[a.pk] == topic_index]
        _events(reader, pages[:3])
    # when
    feeds = [feed_for_reader(external_id=f"narrow-{i}", n=10) for i in range(3)]
    # then: no topic has more than 2 of the first 10, yet the feed is full
    for feed in feeds:
        topics = [world.article_topic[item.id] for item in feed.items]
        assert len(topics) == 10
        assert max(topics.count(topic) for topic in set(topics)) <= 2


def test_pagination_is_stable(world):
    whole = [item.id for item in feed_for_reader(external_id="sim-7", n=20).items]
    first = [item.id for item in feed_for_reader(external_id="sim-7", n=10).items]
    second = [
        item.id for item in feed_for_reader(external_id="sim-7", n=10, offset=10).items
    ]
    assert first + second == whole
    assert len(set(whole)) == len(whole)


def test_corrupt_artifact_falls_back_to_trending(world):
    # given
    version = world.model_version
    with version.artifact.open("wb") as artifact:
        artifact.write(b"not a model")
    serving_state_reset()
    # when
    feed = feed_for_reader(external_id="sim-3", n=10)
    # then
    assert feed.strategy == "trending"
    assert len(feed.items) == 10


def test_promotion_changes_what_a_running_process_serves(world):
    # given: the process serves the first model
    first = feed_for_reader(external_id="sim-9", n=5)
    assert first.model_version == world.model_version.pk
    # when: another process promotes a new version and bumps the shared stamp
    newer = model_train_activate(algorithm="itemknn")
    caches["shared"].set(MODEL_VERSION_STAMP_KEY, newer.pk, timeout=None)
    # then: no restart, no reset: the next request uses it
    second = feed_for_reader(external_id="sim-9", n=5)
    assert second.model_version == newer.pk
    assert ModelVersion.objects.get(pk=world.model_version.pk).status == "retired"


def test_article_published_after_training_reaches_its_audience():
    # given: a catalogue several times the feed's length, readers with ~25 events,
    # and readers whose strongest preference is subject 1
    world = world_build(n_topics=8, per_topic=12, n_readers=240, n_events=6000)
    section = world.articles[0].get_parent()
    fresh = ArticlePageFactory(
        section=section,
        title="Story brand new about baking",
        standfirst="A piece on baking, just published.",
        topics=[world.topics[1]],
        published_date=datetime.date.today(),
    )
    audience = [
        reader
        for index, reader in enumerate(world.readers)
        if int(np.argmax(world.preferences[index])) == 1
    ]
    others = [
        reader
        for index, reader in enumerate(world.readers)
        if world.preferences[index][1] < 0.05
    ]
    # when
    reached = sum(
        fresh.pk in {i.id for i in feed_for_reader(external_id=r.external_id).items}
        for r in audience
    )
    outside = sum(
        fresh.pk in {i.id for i in feed_for_reader(external_id=r.external_id).items}
        for r in others
    )
    # then: measured 25/25 of the audience and 33/185 (0.18) of readers with
    # little interest in the subject
    assert len(audience) >= 10
    assert reached / len(audience) >= 0.8
    assert outside / len(others) <= 0.4


def test_impressions_are_buffered_one_row_per_response(world, settings):
    # given
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 1000
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SECONDS = 3600
    impressions_flush()
    # when
    feeds = [feed_for_reader(external_id="sim-2", n=5) for _ in range(3)]
    before = FeedImpression.objects.count()
    written = impressions_flush()
    # then
    assert before == 0
    assert written == 3
    stored = FeedImpression.objects.get(feed_id=feeds[0].feed_id)
    assert stored.page_ids == [item.id for item in feeds[0].items]
    assert stored.reader.external_id == "sim-2"


def test_feed_ids_are_unique_and_lead_with_the_time():
    # given
    import re
    import time

    from recommend.serving.feeds import feed_id_new

    # when: many ids at once, then one a few milliseconds later
    burst = [feed_id_new() for _ in range(2000)]
    time.sleep(0.005)
    later = feed_id_new()
    # then: unique, 32 hex digits, and an id made later sorts after (the
    # impressions' index grows at its end)
    assert len(set(burst)) == len(burst)
    assert all(re.fullmatch(r"[0-9a-f]{32}", feed_id) for feed_id in burst)
    assert later > max(burst)
    assert int(later[:12], 16) == pytest.approx(time.time() * 1000, abs=5000)


def test_feed_ids_made_after_a_fork_differ_from_the_parents():
    # given: a process that has drawn a batch of random parts (gunicorn forks its
    # workers from a process that may have served feeds already)
    import os

    from recommend.serving.feeds import feed_id_new

    feed_id_new()
    read, write = os.pipe()
    # when: a forked child and its parent each make their next ids
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, "".join(feed_id_new()[12:] for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    reported = os.read(read, 1000).decode()
    os.close(read)
    child_parts = {reported[start : start + 20] for start in range(0, 60, 20)}
    parent_parts = {feed_id_new()[12:] for _ in range(3)}
    # then: no random part is handed out twice across the fork
    assert len(child_parts) == 3
    assert not child_parts & parent_parts
