"""A worker SIGKILLed mid-training: serving keeps its model, and the training is
marked abandoned and done again within a bounded, documented time."""

import datetime
import signal
import time

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from recommend.models import ModelVersion
from recommend.training.schedules import TRAINING_SCHEDULE_NAME, TRAINING_TASK
from tests.recommend.scenario import world_build
from tests.workers import FAULT_ENV, cluster_start, cluster_stop, wait_for

Status = ModelVersion.Status


@pytest.mark.slow
def test_a_training_whose_worker_is_sigkilled_is_redone_and_serving_never_stops(
    transactional_db, settings, client
):
    # given: an active model, and a worker training the next one
    world = world_build(n_events=10_000)
    active = world.model_version
    first = cluster_start(settings)
    restarted = None
    try:
        async_task(TRAINING_TASK, task_name="train-to-kill")
        training = wait_for(
            lambda: ModelVersion.objects.filter(status=Status.TRAINING).first(),
            seconds=120,
            what="the training to start",
            every=0.02,
        )
        # when: the whole cluster is SIGKILLed mid-training
        cluster_stop(first, signal.SIGKILL)
        killed_at = time.monotonic()
        training.refresh_from_db()
        assert training.status == Status.TRAINING, "the kill came after the end"
        # then: nothing half-written is served: the active model stays active
        active.refresh_from_db()
        assert active.status == Status.ACTIVE
        # when: a new cluster starts, and the training schedule comes round (a
        # minute here, RECOMMEND_TRAIN_INTERVAL_MINUTES in production)
        Schedule.objects.filter(name=TRAINING_SCHEDULE_NAME).update(
            minutes=1, next_run=timezone.now() + datetime.timedelta(seconds=5)
        )
        restarted = cluster_start(settings)
        wait_for(
            lambda: ModelVersion.objects.filter(
                pk__gt=training.pk, status__in=[Status.ACTIVE, Status.CANDIDATE]
            ).exists(),
            seconds=300,
            what="a training after the kill",
        )
        recovery = time.monotonic() - killed_at
    finally:
        cluster_stop(first, signal.SIGKILL)
        if restarted is not None:
            cluster_stop(restarted)
    # then: the killed row says why it stopped, no row is left "training", and
    # the recovery took at most the queue timeout plus one schedule interval
    # (and the scheduler's own period, and the training itself)
    training.refresh_from_db()
    print(f"training recovery after SIGKILL: {recovery:.1f} s")
    assert training.status == Status.FAILED
    assert training.error.startswith("abandoned")
    assert not ModelVersion.objects.filter(status=Status.TRAINING).exists()
    assert recovery < int(FAULT_ENV["Q_TIMEOUT"]) + 60 + 120
    # and: a feed is served all along from a ready model
    response = client.get(
        "/api/v1/feed",
        {"reader": world.readers[0].external_id},
        HTTP_AUTHORIZATION=f"Api-Key {_key()}",
    )
    assert response.status_code == 200
    body = response.json()
    assert body.get("results", body.get("items"))


def _key() -> str:
    from cms.models import ApiKey
    from cms.models.api_keys import SCOPES

    _, key = ApiKey.objects.create_key(name="faults", scopes=list(SCOPES))
    return key
