"""A real django-q2 worker runs a submitted brief into a draft, once."""

import time

import pytest

from cms.models import ArticlePage
from generation.models import GenerationJob
from generation.services import brief_create, brief_submit


@pytest.mark.slow
def test_a_worker_turns_a_submitted_brief_into_one_draft_in_review(
    q_worker, library_committed
):
    # given: a brief submitted the way the API and the admin do it
    brief = brief_create(
        topic="Sleep", section=library_committed.section, keywords=["naps"]
    )
    job = brief_submit(brief=brief)
    # when: the worker picks the job up after commit
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.2)
    # then
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    page = ArticlePage.objects.get(pk=job.page_id)
    assert not page.live
    assert page.current_workflow_state.workflow.name == "AI review"
    assert ArticlePage.objects.filter(ai_generated=True).count() == 1
    assert job.attempts == 1
    assert job.timings["queued"] >= 0


@pytest.mark.django_db(transaction=True)
def test_the_resume_sweeps_survive_a_flush_and_are_never_doubled():
    # given: a database flushed the way a test teardown or a restore leaves it
    from django.core.management import call_command
    from django_q.models import Schedule

    from generation.schedules import (
        JOBS_RESUME_SCHEDULE_NAME,
        JOBS_RESUME_TASK,
        MEDIA_RESUME_SCHEDULE_NAME,
        resume_schedules_ensure,
    )

    call_command("flush", interactive=False, verbosity=0)
    # then: the post-migrate hook that flush emits put both sweeps back, once
    sweep = Schedule.objects.get(name=JOBS_RESUME_SCHEDULE_NAME)
    assert (sweep.func, sweep.minutes) == (JOBS_RESUME_TASK, 1)
    assert Schedule.objects.filter(name=MEDIA_RESUME_SCHEDULE_NAME).count() == 1
    # and: ensuring again, even after a duplicate from a past race, leaves one
    Schedule.objects.create(name=JOBS_RESUME_SCHEDULE_NAME, func="x.y")
    resume_schedules_ensure()
    assert list(Schedule.objects.filter(name=JOBS_RESUME_SCHEDULE_NAME)) == [sweep]
