"""A worker SIGKILLed mid-job: the job is finished once, within a bounded time."""

import signal
import time

import pytest
from django_q.status import Stat

from cms.models import ArticlePage
from generation.models import GenerationJob
from generation.services import brief_create, brief_submit
from tests.generation.conftest import Reply
from tests.workers import FAULT_ENV, cluster_start, cluster_stop, wait_for


@pytest.mark.slow
def test_a_job_whose_worker_is_sigkilled_is_finished_once_by_the_next_worker(
    library_committed, model_server, settings
):
    # given a worker stuck in a model call (the server answers after a minute)
    model_server.script("/chat/completions", Reply(delay=60, body={}))
    stuck = cluster_start(
        settings,
        GENERATION_TEXT_PROVIDER="openai_compatible",
        GENERATION_IMAGE_PROVIDER="none",
        OPENAI_BASE_URL=model_server.base_url,
        OPENAI_API_KEY="test",
        GENERATION_TIMEOUT_SECONDS="120",
    )
    restarted = None
    try:
        brief = brief_create(topic="Sleep", section=library_committed.section)
        job = brief_submit(brief=brief)
        wait_for(
            lambda: model_server.calls("/chat/completions"),
            seconds=90,
            what="the model call",
        )
        job.refresh_from_db()
        assert job.status == GenerationJob.Status.RUNNING
        # when the whole cluster is SIGKILLed mid-job and another one starts
        cluster_stop(stuck, signal.SIGKILL)
        killed_at = time.monotonic()
        Stat.get_all()  # the dead cluster's stats expire on their own
        restarted = cluster_start(settings)
        wait_for(
            lambda: GenerationJob.objects.get(pk=job.pk).is_finished,
            seconds=240,
            what="the job's recovery",
        )
        recovery = time.monotonic() - killed_at
    finally:
        cluster_stop(stuck, signal.SIGKILL)
        if restarted is not None:
            cluster_stop(restarted)
    # then: finished by the new worker, once, within a bounded time: the ORM
    # broker delivers the task again after Q_RETRY; Redis loses a killed
    # cluster's tasks, and the sweep (the scheduler runs about every minute)
    # sends the job again once its lease has lapsed.
    job.refresh_from_db()
    print(f"recovery after SIGKILL: {recovery:.1f} s")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.attempts == 2
    assert ArticlePage.objects.filter(ai_generated=True).count() == 1
    assert recovery < int(FAULT_ENV["Q_RETRY"]) + 150
