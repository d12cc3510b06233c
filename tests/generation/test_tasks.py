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
