"""Tests for training: the service, the train command, the task and its schedule."""

import datetime
import io
import time
from dataclasses import dataclass

import factory
import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connections
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule

from cms.models import ArticlePage
from recommend.engine.matrix import EVENT_TYPES, build_matrix
from recommend.engine.simulate import simulate_readers
from recommend.engine.train import (
    DEFAULT_PARAMS,
    SEARCHABLE_ALGORITHMS,
    TrainedModel,
)
from recommend.events.erasure import reader_erase
from recommend.models import Audience, Event, ModelVersion, Reader, ReaderAudience
from recommend.selectors import (
    event_interaction_arrays,
    model_version_active,
    model_version_stamp,
)
from recommend.tasks import audiences_refresh_task, train_model_task
from recommend.training import service as training
from recommend.training.schedules import (
    TRAINING_SCHEDULE_NAME,
    training_schedule_ensure,
)
from recommend.training.service import model_version_train
from tests.factories import SectionPageFactory, TopicFactory

N_TOPICS = 8
PER_TOPIC = 5
N_READERS = 300
N_EVENTS = 15_000
SMALL_ALS = {"factors": 16, "iterations": 10}
Status = ModelVersion.Status


class LiveArticleFactory(factory.Factory):
    """A live article put straight into the tree: no revision, ~5x faster than
    ArticlePageFactory, and training only needs pages that exist."""

    class Meta:
        model = ArticlePage

    section = factory.SubFactory(SectionPageFactory)
    title = factory.Sequence(lambda n: f"Training article {n}")
    slug = factory.Sequence(lambda n: f"training-article-{n}")
    standfirst = "A short summary of the article."
    live = True

    @classmethod
    def _create(cls, model_class, section, topics=(), **kwargs):
        article = model_class(**kwargs)
        article.topics = list(topics)
        section.add_child(instance=article)
        return article


@dataclass
class World:
    page_ids: np.ndarray  # simulated item i is page page_ids[i]
    page_topic: dict[int, int]
    reader_pks: np.ndarray  # simulated reader r is Reader reader_pks[r]
    preferences: np.ndarray  # [readers, topics], the simulation's ground truth


def world_build() -> World:
    """40 live articles over 8 topics, 300 simulated readers, 15k events."""
    section = SectionPageFactory()
    topics = [TopicFactory() for _ in range(N_TOPICS)]
    articles = [
        LiveArticleFactory(section=section, topics=[topics[index % N_TOPICS]])
        for index in range(N_TOPICS * PER_TOPIC)
    ]
    page_ids = np.array([article.pk for article in articles], dtype=np.int64)
    end = timezone.now().timestamp() - 3600
    simulated = simulate_readers(
        [[index % N_TOPICS] for index in range(len(articles))],
        n_topics=N_TOPICS,
        n_readers=N_READERS,
        n_events=N_EVENTS,
        seed=11,
        start=end - 20 * 86_400,
        end=end,
        item_ids=page_ids,
    )
    Reader.objects.bulk_create(
        [Reader(external_id=f"trainee-{index}") for index in range(N_READERS)]
    )
    reader_pks = np.array(
        Reader.objects.filter(external_id__startswith="trainee-")
        .order_by("pk")
        .values_list("pk", flat=True),
        dtype=np.int64,
    )
    interactions = simulated.interactions
    names = np.array(EVENT_TYPES)[interactions.event_types]
    Event.objects.bulk_create(
        [
            Event(
                reader_id=int(reader_pks[reader]),
                page_id=int(page),
                type=str(kind),
                value=float(value),
                occurred_at=datetime.datetime.fromtimestamp(moment, datetime.UTC),
                event_id=f"training-{index}",
            )
            for index, (reader, page, kind, value, moment) in enumerate(
                zip(
                    interactions.reader_ids.tolist(),
                    interactions.item_ids.tolist(),
                    names.tolist(),
                    interactions.values.tolist(),
                    interactions.timestamps.tolist(),
                    strict=True,
                )
            )
        ],
        batch_size=2000,
    )
    return World(
        page_ids=page_ids,
        page_topic={int(pk): index % N_TOPICS for index, pk in enumerate(page_ids)},
        reader_pks=reader_pks,
        preferences=simulated.preferences,
    )


@pytest.fixture
def world(db) -> World:
    return world_build()


def test_first_training_promotes_a_stored_model_that_recommends_well(
    world: World, django_capture_on_commit_callbacks
) -> None:
    # given: events, no model yet
    stamp_before = model_version_stamp()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        version = model_version_train(algorithm="als", params=SMALL_ALS)

    # then: promoted, with its data and metrics recorded
    version.refresh_from_db()
    assert version.status == Status.ACTIVE
    assert version.promoted_at is not None
    assert model_version_active() == version
    assert model_version_stamp() not in (None, stamp_before)
    assert version.events_count == N_EVENTS
    assert version.readers_count == len(world.reader_pks)
    assert version.items_count == len(world.page_ids)
    assert version.parameters["factors"] == 16
    assert version.data_window_start < version.data_window_end
    metrics = version.metrics
    assert metrics["active"] is None
    assert metrics["candidate"]["ndcg"] > metrics["popular"]["ndcg"] > 0
    assert set(metrics["candidate"]) >= {"precision", "recall", "map", "coverage"}
    # Every reader with 3+ interactions lends some to the holdout (fewer than 1000).
    assert 0.9 * N_READERS < metrics["protocol"]["holdout_readers"] <= N_READERS
    assert version.training_seconds > 0

    # then: the stored artifact loads back and recommends each reader's topics
    with version.artifact.open("rb") as artifact:
        model = TrainedModel.from_bytes(artifact.read())
    assert model.algorithm == "als"
    assert set(model.item_ids.tolist()) == set(world.page_ids.tolist())
    matrix = build_matrix(event_interaction_arrays(), item_ids=model.item_ids).matrix
    columns, _ = model.recommend(
        np.arange(len(model.reader_ids)), matrix, n=5, filter_seen=False
    )
    favourite = world.preferences.argmax(axis=1)[
        np.searchsorted(world.reader_pks, model.reader_ids)
    ]
    topics = np.vectorize(world.page_topic.get)(model.item_ids[columns])
    # Chance is 1/8 (5 articles per topic: seen ones stay in, or none would be left).
    assert (topics == favourite[:, None]).mean() > 0.5


def test_a_candidate_worse_than_the_active_model_is_not_promoted(
    world: World,
) -> None:
    # given: a good ALS model is active
    active = model_version_train(algorithm="als", params=SMALL_ALS, force=True)

    # when: popularity is trained without force
    candidate = model_version_train(algorithm="popular")

    # then: it is kept as a candidate, and the ALS model still serves
    candidate.refresh_from_db()
    active.refresh_from_db()
    assert candidate.status == Status.CANDIDATE
    assert candidate.promoted_at is None
    assert active.status == Status.ACTIVE
    assert model_version_active() == active
    metrics = candidate.metrics
    assert metrics["active_version"] == active.pk
    assert metrics["active"]["ndcg"] > metrics["candidate"]["ndcg"]
    assert metrics["promoted"] is False
    assert metrics["reason"].startswith("not promoted: does not beat popularity")
    with candidate.artifact.open("rb") as artifact:
        assert TrainedModel.from_bytes(artifact.read()).algorithm == "popular"


def test_force_promotes_a_worse_candidate_and_retires_the_active_one(
    world: World,
) -> None:
    # given
    active = model_version_train(algorithm="als", params=SMALL_ALS, force=True)
    out = io.StringIO()

    # when
    call_command(
        "train", "--algorithm", "popular", "--force", "--no-progress", stdout=out
    )

    # then
    newest = ModelVersion.objects.latest("pk")
    active.refresh_from_db()
    assert newest.algorithm == "popular"
    assert newest.status == Status.ACTIVE
    assert active.status == Status.RETIRED
    assert ModelVersion.objects.filter(status=Status.ACTIVE).count() == 1
    assert newest.metrics["reason"].startswith("forced although it does not beat")
    assert f"Model version {newest.pk} (popular): promoted to active" in out.getvalue()


def test_the_command_reports_a_candidate_that_was_not_promoted(world: World) -> None:
    # given
    model_version_train(algorithm="als", params=SMALL_ALS, force=True)
    out = io.StringIO()

    # when: exit code 0 (no CommandError) although nothing was promoted
    call_command("train", "--algorithm", "popular", "--no-progress", stdout=out)

    # then
    newest = ModelVersion.objects.latest("pk")
    assert newest.status == Status.CANDIDATE
    printed = out.getvalue()
    assert "kept as a candidate" in printed
    assert f"popular {newest.metrics['popular']['ndcg']:.4f}" in printed
    active_ndcg = newest.metrics["active"]["ndcg"]
    assert f"active #{newest.metrics['active_version']} {active_ndcg:.4f}" in printed
    assert "(not promoted: does not beat popularity and the active model)" in printed


def test_every_algorithm_and_a_search_train_evaluate_and_store(world: World) -> None:
    # given: an active ALS model for the others to be scored against
    active = model_version_train(algorithm="als", params=SMALL_ALS, force=True)

    # when
    versions = [
        model_version_train(algorithm="itemknn", params={"K": 20}),
        model_version_train(algorithm="bpr", params={"iterations": 20}),
        model_version_train(search_budget=0.2),
    ]

    # then
    for version in versions:
        version.refresh_from_db()
        # Each is promoted or not on its merits; a later promotion retires it.
        assert version.status != Status.FAILED, version.error
        assert version.metrics["promoted"] == (version.promoted_at is not None)
        assert version.metrics["candidate"]["ndcg"] > 0
        assert version.metrics["active"]["ndcg"] > 0
        with version.artifact.open("rb") as artifact:
            model = TrainedModel.from_bytes(artifact.read())
        assert model.algorithm == version.algorithm
    searched = versions[-1]
    assert searched.algorithm in SEARCHABLE_ALGORITHMS
    assert searched.metrics["search"]["trials"] >= 1
    assert ModelVersion.objects.filter(status=Status.ACTIVE).count() == 1
    assert all(
        version.metrics["active_version"] == active.pk for version in versions[:1]
    )


def test_a_failed_training_keeps_the_active_model_and_records_the_error(
    world: World, monkeypatch
) -> None:
    # given: an active model, and a training function that breaks
    active = model_version_train(algorithm="als", params=SMALL_ALS, force=True)

    def broken_train_model(*args, **kwargs):
        raise RuntimeError("the matrix exploded\nwith details")

    monkeypatch.setattr(training, "train_model", broken_train_model)

    # when
    with pytest.raises(RuntimeError, match="the matrix exploded"):
        model_version_train(algorithm="als", params=SMALL_ALS)
    with pytest.raises(CommandError) as raised:
        call_command("train", "--no-progress")

    # then
    failed = ModelVersion.objects.filter(status=Status.FAILED)
    assert failed.count() == 2
    assert all("RuntimeError: the matrix exploded" in row.error for row in failed)
    assert str(raised.value) == "Training failed: the matrix exploded with details"
    active.refresh_from_db()
    assert active.status == Status.ACTIVE
    assert model_version_active() == active


def test_training_without_events_exits_non_zero_with_one_line(
    db, capsys, monkeypatch
) -> None:
    # given: no events at all
    command = load_command_class("recommend", "train")
    # run_from_argv closes the connections on exit, and this one holds the test.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    # when
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "train", "--no-progress"])

    # then
    assert exited.value.code != 0
    error = capsys.readouterr().err.strip()
    assert error == "CommandError: Training failed: no events to train on"
    row = ModelVersion.objects.get()
    assert row.status == Status.FAILED
    assert row.error == "ValueError: no events to train on"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--params", "{not json"], "--params is not valid JSON"),
        (["--params", "[1]"], "--params must be a JSON object"),
        (["--params", '{"depth": 3}'], "unknown als parameters: depth"),
    ],
)
def test_bad_parameters_are_refused_before_training(db, arguments, message) -> None:
    # when
    with pytest.raises(CommandError, match=message):
        call_command("train", "--algorithm", "als", "--no-progress", *arguments)

    # then
    assert not ModelVersion.objects.exists()


def test_the_training_schedule_is_created_once_however_often_it_is_ensured(
    db, settings
) -> None:
    # given: migrate already ensured it once; a past race left a duplicate
    assert Schedule.objects.filter(name=TRAINING_SCHEDULE_NAME).count() == 1
    Schedule.objects.create(name=TRAINING_SCHEDULE_NAME, func="x.y")
    settings.RECOMMEND_TRAIN_INTERVAL_MINUTES = 90

    # when
    training_schedule_ensure()
    schedule = training_schedule_ensure()

    # then
    assert list(Schedule.objects.filter(name=TRAINING_SCHEDULE_NAME)) == [schedule]
    assert schedule.func == "recommend.tasks.train_model_task"
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.minutes == 90
    assert schedule.repeats == -1


def test_a_new_schedule_starts_one_interval_from_now(db) -> None:
    # given
    Schedule.objects.filter(name=TRAINING_SCHEDULE_NAME).delete()

    # when
    schedule = training_schedule_ensure()

    # then
    wait = schedule.next_run - timezone.now()
    interval = datetime.timedelta(minutes=settings.RECOMMEND_TRAIN_INTERVAL_MINUTES)
    assert interval - datetime.timedelta(minutes=1) < wait <= interval


def test_the_task_skips_while_another_training_runs(db) -> None:
    # given: something to train on, and a training row that is still running
    Event.objects.create(
        reader=Reader.objects.create(external_id="busy"),
        page=LiveArticleFactory(),
        type="like",
        occurred_at=timezone.now(),
        event_id="only",
    )
    ModelVersion.objects.create(algorithm="als", status=Status.TRAINING)

    # when
    result = train_model_task()

    # then
    assert result is None
    assert ModelVersion.objects.count() == 1


def test_the_task_trains_over_an_abandoned_training(world: World) -> None:
    # given: a "training" row older than the queue's timeout (its worker died)
    stale = ModelVersion.objects.create(algorithm="als", status=Status.TRAINING)
    long_ago = timezone.now() - datetime.timedelta(
        seconds=settings.Q_CLUSTER["timeout"] + 60
    )
    ModelVersion.objects.filter(pk=stale.pk).update(created_at=long_ago)

    # when
    result = train_model_task()

    # then
    stale.refresh_from_db()
    assert stale.status == Status.FAILED
    assert stale.error.startswith("abandoned")
    trained = ModelVersion.objects.get(pk=result)
    assert trained.status == Status.ACTIVE  # the first model: no active to beat


def test_the_task_does_nothing_without_events(db) -> None:
    # when
    result = train_model_task()

    # then
    assert result is None
    assert not ModelVersion.objects.exists()


def test_a_worker_trains_and_promotes_through_the_queue(q_worker) -> None:
    # given: events committed where the worker process can read them
    from django_q.tasks import async_task

    world_build()

    # when
    async_task("recommend.tasks.train_model_task", "als")

    # then
    deadline = time.monotonic() + 60
    version = None
    while time.monotonic() < deadline:
        version = ModelVersion.objects.exclude(status=Status.TRAINING).first()
        if version is not None:
            break
        time.sleep(0.25)
    assert version is not None, "the worker did not finish training within 60 s"
    assert version.status == Status.ACTIVE, version.error
    assert version.events_count == N_EVENTS
    with version.artifact.open("rb") as artifact:
        assert TrainedModel.from_bytes(artifact.read()).user_factors is not None


def _events_add(world: World, *, seed: int, n_events: int) -> None:
    """More simulated events of the same readers, in the last hour."""
    end = timezone.now().timestamp() - 60
    simulated = simulate_readers(
        [[index % N_TOPICS] for index in range(len(world.page_ids))],
        n_topics=N_TOPICS,
        n_readers=N_READERS,
        n_events=n_events,
        seed=seed,
        start=end - 3600,
        end=end,
        item_ids=world.page_ids,
    )
    interactions = simulated.interactions
    names = np.array(EVENT_TYPES)[interactions.event_types]
    Event.objects.bulk_create(
        [
            Event(
                reader_id=int(world.reader_pks[reader]),
                page_id=int(page),
                type=str(kind),
                value=float(value),
                occurred_at=datetime.datetime.fromtimestamp(moment, datetime.UTC),
                event_id=f"more-{seed}-{index}",
            )
            for index, (reader, page, kind, value, moment) in enumerate(
                zip(
                    interactions.reader_ids.tolist(),
                    interactions.item_ids.tolist(),
                    names.tolist(),
                    interactions.values.tolist(),
                    interactions.timestamps.tolist(),
                    strict=True,
                )
            )
        ],
        batch_size=2000,
    )


def test_retraining_the_active_configuration_on_changed_data_promotes_it(
    world: World,
) -> None:
    # given an active ALS model, then new events from the same readers
    active = model_version_train(algorithm="als", params=SMALL_ALS, force=True)
    _events_add(world, seed=23, n_events=5_000)

    # when the scheduled retraining runs with the same configuration
    retrained = model_version_train(algorithm="als", params=SMALL_ALS)

    # then it is promoted: the active artifact (which saw the holdout pairs) is
    # not what it is compared with; the same configuration on the same train
    # part is, i.e. the candidate itself
    retrained.refresh_from_db()
    active.refresh_from_db()
    metrics = retrained.metrics
    assert retrained.status == Status.ACTIVE, metrics["reason"]
    assert active.status == Status.RETIRED
    assert retrained.events_count == active.events_count + 5_000
    assert metrics["active_basis"] == "same configuration"
    assert metrics["active"]["ndcg"] == metrics["candidate"]["ndcg"]
    assert metrics["reason"] == (
        "better than popularity (the active configuration, retrained on newer data)"
    )


def test_another_configuration_is_compared_with_the_active_one_retrained_alike(
    world: World, monkeypatch
) -> None:
    # given a weak active configuration, and every fit recorded
    weak = {"factors": 2, "iterations": 1, "regularization": 50.0}
    model_version_train(algorithm="als", params=weak, force=True)
    _events_add(world, seed=29, n_events=3_000)
    fits: list[tuple[str, dict, int]] = []
    real_train_model = training.train_model

    def recording_train_model(matrix, **kwargs):
        fits.append((kwargs["algorithm"], kwargs.get("params") or {}, matrix.nnz))
        return real_train_model(matrix, **kwargs)

    monkeypatch.setattr(training, "train_model", recording_train_model)

    # when a better configuration is trained on the changed data
    candidate = model_version_train(algorithm="als", params=SMALL_ALS)

    # then the active configuration was refitted on the candidate's train part
    # and the better candidate wins on the holdout neither was trained on
    candidate.refresh_from_db()
    metrics = candidate.metrics
    refits = [fit for fit in fits if fit[0] == "als"]
    assert [fit[1] for fit in refits] == [SMALL_ALS, {**DEFAULT_PARAMS["als"], **weak}]
    assert refits[0][2] == refits[1][2]
    assert metrics["active_basis"] == "retrained on the train part"
    assert metrics["candidate"]["ndcg"] > metrics["active"]["ndcg"]
    assert candidate.status == Status.ACTIVE


def test_retraining_reads_only_newer_events_and_a_full_read_follows_an_erasure(
    world: World, django_capture_on_commit_callbacks
) -> None:
    # given a first training (full read), then 2,000 new events
    first = model_version_train(algorithm="als", params=SMALL_ALS, force=True)
    _events_add(world, seed=31, n_events=2_000)

    # when
    second = model_version_train(algorithm="als", params=SMALL_ALS)

    # then only the new rows were read, and the model saw every event
    assert first.metrics["event_read"] == {
        "incremental": False,
        "events_read": N_EVENTS,
    }
    assert second.metrics["event_read"] == {"incremental": True, "events_read": 2_000}
    assert second.events_count == N_EVENTS + 2_000
    full = event_interaction_arrays()
    assert second.events_count == len(full)

    # when a reader is erased
    erased = Reader.objects.get(pk=int(world.reader_pks[0]))
    erased_events = Event.objects.filter(reader=erased).count()
    with django_capture_on_commit_callbacks(execute=True):
        reader_erase(external_id=erased.external_id)
    third = model_version_train(algorithm="als", params=SMALL_ALS)

    # then the next read is a full one, without the erased reader's events
    assert erased_events > 0
    assert third.metrics["event_read"]["incremental"] is False
    assert third.events_count == N_EVENTS + 2_000 - erased_events
    with third.artifact.open("rb") as artifact:
        model = TrainedModel.from_bytes(artifact.read())
    assert erased.pk not in set(model.reader_ids.tolist())


def test_deletions_without_erasure_also_force_a_full_read(world: World) -> None:
    # given a trained model, then events deleted behind the service's back
    model_version_train(algorithm="als", params=SMALL_ALS, force=True)
    gone = list(Event.objects.order_by("pk").values_list("pk", flat=True)[:500])
    Event.objects.filter(pk__in=gone).delete()

    # when
    version = model_version_train(algorithm="als", params=SMALL_ALS)

    # then
    assert version.metrics["event_read"]["incremental"] is False
    assert version.events_count == N_EVENTS - 500


def test_a_blended_configuration_is_scored_with_its_blend(world: World) -> None:
    # when an ALS model mixed half with popularity is trained
    blended = model_version_train(
        algorithm="als", params={**SMALL_ALS, "blend": 0.5, "blend_half_life_days": 0}
    )

    # then it is stored with its popularity scores, and its holdout figures are
    # those of the mix, not of ALS alone
    alone = model_version_train(algorithm="als", params=SMALL_ALS)
    with blended.artifact.open("rb") as artifact:
        model = TrainedModel.from_bytes(artifact.read())
    assert model.blend == 0.5 and model.blend_scores is not None
    assert blended.metrics["candidate"]["ndcg"] != alone.metrics["candidate"]["ndcg"]


def test_a_promotion_refreshes_audiences_in_a_background_task(
    world: World, settings, django_capture_on_commit_callbacks
):
    # given: events and no model yet
    settings.RECOMMEND_CANDIDATES_REBUILD_ON_PROMOTION = False
    broker = get_broker()
    queued = broker.queue_size()
    # when: a training promotes (its on-commit callbacks run)
    with django_capture_on_commit_callbacks(execute=True):
        version = model_version_train(algorithm="als", params=SMALL_ALS)
    # then: the promotion did not wait for the audiences, it queued their task
    assert version.status == ModelVersion.Status.ACTIVE
    assert not Audience.objects.exists()
    assert broker.queue_size() == queued + 1
    # and the task computes them from the events the model was trained on
    assert (
        audiences_refresh_task(version.pk)
        == Audience.objects.filter(active=True).count()
    )
    assert Audience.objects.filter(kind=Audience.Kind.CLUSTER, active=True).count()
    assert ReaderAudience.objects.exists()
    # and a retired version's task does nothing
    version.status = ModelVersion.Status.RETIRED
    version.save(update_fields=["status"])
    assert audiences_refresh_task(version.pk) == 0
