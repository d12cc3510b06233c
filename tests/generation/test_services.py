"""Jobs run the pipeline once: a draft in review, approved to live, regenerated."""

import datetime
import json
import re
from pathlib import Path

import pytest
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.models import Revision, WorkflowPage

from cms.models import ArticlePage
from generation import services
from generation.models import GenerationJob, PromptTemplate
from generation.providers.base import Draft, DraftSection, ProviderError
from generation.selectors import ai_draft_list, draft_provenance
from generation.services import (
    brief_create,
    brief_submit,
    draft_regenerate,
    generation_job_cancel,
    generation_job_run,
    generation_jobs_resume,
)
from generation.workflow import draft_last_rejection
from tests.generation.conftest import ScriptedTextProvider, chat_reply, image_reply

pytestmark = pytest.mark.django_db

PAGES = "/api/v2/pages/"
HREF = re.compile(r'href="([^"]*)"')
SUCCEEDED = GenerationJob.Status.SUCCEEDED


def _submit(library, **overrides) -> GenerationJob:
    values = {
        "topic": "Sleep",
        "section": library.section,
        "keywords": ["naps"],
        "topics": [library.topics["sleep"]],
    }
    brief = brief_create(**{**values, **overrides})
    return brief_submit(brief=brief, enqueue=False)


def _ai_pages():
    return ArticlePage.objects.filter(ai_generated=True)


def _media_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path) for path in root.rglob("*") if path.is_file()}


def test_brief_becomes_an_unpublished_draft_waiting_in_ai_review(library, api_client):
    # given
    job = _submit(library)
    # when
    status = generation_job_run(job_id=job.pk)
    # then: one unpublished draft under the section, with a cover and provenance
    job.refresh_from_db()
    assert status == SUCCEEDED == job.status
    page = ArticlePage.objects.get(pk=job.page_id)
    assert not page.live and page.ai_generated
    assert page.get_parent().pk == library.section.pk
    assert page.hero_image.description.startswith("Cover graphic showing the headline")
    assert job.revision_id == page.latest_revision_id
    assert page.ai_provenance["provider"] == "composer"
    assert [source["id"] for source in page.ai_provenance["sources"]] == job.sources
    template = PromptTemplate.objects.get(kind="article")
    assert job.prompt_revision_id == template.latest_revision_id is not None
    assert {"retrieve", "write", "media", "check", "save", "pipeline"} <= set(
        job.timings
    )
    # and it waits for Editors in the "AI review" workflow, assigned to the page
    state = page.current_workflow_state
    assert state.workflow.name == "AI review"
    assert state.status == "in_progress"
    assert WorkflowPage.objects.get(page=page).workflow_id == state.workflow_id
    groups = page.current_workflow_task.groups.values_list("name", flat=True)
    assert list(groups) == ["Editors"]
    # and readers cannot see it
    listing = api_client.get(PAGES, {"type": "cms.ArticlePage", "limit": 100}).json()
    assert page.pk not in {item["id"] for item in listing["items"]}
    assert len(listing["items"]) == len(library.articles)
    found = api_client.get(PAGES, {"search": page.title}).json()
    assert page.pk not in {item["id"] for item in found["items"]}
    assert api_client.get(f"{PAGES}{page.pk}/").status_code == 404


def test_approving_in_the_workflow_publishes_with_ai_disclosure(
    library, editor, api_client
):
    # given
    job = _submit(library)
    generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    page = ArticlePage.objects.get(pk=job.page_id)
    task_state = page.current_workflow_task_state
    # when: an Editor approves, as the admin's "Approve" action does
    task_state.task.specific.on_action(task_state, editor, "approve")
    # then
    page.refresh_from_db()
    assert page.live
    body = api_client.get(f"{PAGES}{page.pk}/").json()
    disclosure = body["ai_disclosure"]
    assert disclosure["generated"] is True
    assert (disclosure["provider"], disclosure["model"]) == ("composer", "composer-2")
    assert disclosure["prompt_version"] == job.prompt_revision_id
    assert [source["id"] for source in disclosure["sources"]] == job.sources
    assert disclosure["sources"][0]["url"].startswith("/health/")
    assert disclosure["brief"] == "Sleep — keywords: naps"
    assert disclosure["approved_by"] == "Ada Lovelace"
    assert disclosure["approved_at"].endswith("Z")  # RFC 3339, UTC
    approved_at = datetime.datetime.fromisoformat(disclosure["approved_at"])
    assert abs(timezone.now() - approved_at) < datetime.timedelta(minutes=1)
    human = library.articles["why-naps-work-and-when-they-backfire"]
    human_disclosure = api_client.get(f"{PAGES}{human.pk}/").json()["ai_disclosure"]
    assert human_disclosure["generated"] is False
    assert human_disclosure["approved_by"] is None


def test_reject_with_comment_then_regenerate_saves_a_new_revision_in_review(
    library, editor
):
    # given: a draft an Editor sent back with a comment
    job = _submit(library)
    generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    page = ArticlePage.objects.get(pk=job.page_id)
    task_state = page.current_workflow_task_state
    comment = "Say more about light and the body clock."
    task_state.task.specific.on_action(task_state, editor, "reject", comment=comment)
    assert page.current_workflow_state.status == "needs_changes"
    # when: "Regenerate with this feedback"
    rejection = draft_last_rejection(page=page)
    regeneration = draft_regenerate(
        page=page, feedback=rejection.comment, user=editor, enqueue=False
    )
    status = generation_job_run(job_id=regeneration.pk)
    # then: a new revision of the same page, whose prompt carried the comment
    regeneration.refresh_from_db()
    assert status == SUCCEEDED
    assert comment in regeneration.prompt_text
    assert regeneration.page_id == page.pk
    page = ArticlePage.objects.get(pk=page.pk)
    assert page.revisions.count() == 2
    assert page.latest_revision_id == regeneration.revision_id != job.revision_id
    assert page.ai_provenance["feedback"] == comment
    assert not page.live
    assert page.current_workflow_state.status == "in_progress"
    assert _ai_pages().count() == 1
    # and the admin's selectors see it pending, with both jobs' provenance
    assert list(ai_draft_list()) == [page]
    provenance = draft_provenance(page=page)
    assert [item["kind"] for item in provenance["jobs"]] == ["draft", "regenerate"]
    assert provenance["provenance"]["prompt_version"] == (
        PromptTemplate.objects.get(kind="regenerate").latest_revision_id
    )


def test_running_the_same_job_twice_leaves_one_draft(library):
    # given
    job = _submit(library)
    # when
    first = generation_job_run(job_id=job.pk)
    second = generation_job_run(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert first == second == SUCCEEDED
    assert _ai_pages().count() == 1
    assert job.attempts == 1


def test_submitting_a_brief_twice_gives_one_job(library):
    # given
    job = _submit(library)
    # when
    again = brief_submit(brief=job.brief, enqueue=False)
    # then
    assert again.pk == job.pk
    assert GenerationJob.objects.count() == 1


def test_crash_after_the_page_was_saved_is_finished_by_the_retry(library, monkeypatch):
    # given: the worker dies after the save committed, before the job was finished
    job = _submit(library)
    finish = services._job_finish
    crashes = []

    def crash_once(**kwargs):
        if not crashes:
            crashes.append(True)
            raise RuntimeError("worker killed")
        return finish(**kwargs)

    monkeypatch.setattr(services, "_job_finish", crash_once)
    # when
    first = generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    page_id = job.page_id
    second = generation_job_run(job_id=job.pk)
    # then: the retry re-uses the page instead of writing another
    job.refresh_from_db()
    assert (first, second) == (GenerationJob.Status.QUEUED, SUCCEEDED)
    assert page_id is not None and job.page_id == page_id
    assert list(_ai_pages().values_list("pk", flat=True)) == [page_id]
    assert Revision.objects.filter(object_id=str(page_id)).count() == 1
    assert job.attempts == 2


def test_crash_inside_the_save_leaves_no_page_revision_or_image(
    library, monkeypatch, settings
):
    # given: the save fails after the page and its cover were written
    job = _submit(library)
    images_before = get_image_model().objects.count()
    revisions_before = Revision.page_revisions.count()
    files_before = _media_files(settings)

    def workflow_down(**kwargs):
        raise RuntimeError("workflow tables locked")

    monkeypatch.setattr("generation.pipeline.save.draft_review_start", workflow_down)
    # when
    status = generation_job_run(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert status == GenerationJob.Status.QUEUED
    assert "RuntimeError: workflow tables locked" in job.error
    assert job.page_id is None
    assert not _ai_pages().exists()
    assert get_image_model().objects.count() == images_before
    assert Revision.page_revisions.count() == revisions_before
    assert _media_files(settings) == files_before
    # and once the fault is gone, the retry makes exactly one draft
    monkeypatch.undo()
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    assert _ai_pages().count() == 1


def test_a_live_claim_is_left_alone_and_a_dead_workers_job_is_taken_again(
    library, settings
):
    # given: another worker holds the job
    job = _submit(library)
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(
        status="running", claim_token="other-worker", claimed_at=now, attempts=1
    )
    # when / then: a duplicated task does nothing
    assert generation_job_run(job_id=job.pk) == GenerationJob.Status.RUNNING
    assert not _ai_pages().exists()
    # when: that worker was killed (it stopped renewing its lease)
    stale = now - datetime.timedelta(seconds=settings.GENERATION_JOB_LEASE_SECONDS + 1)
    GenerationJob.objects.filter(pk=job.pk).update(claimed_at=stale)
    status = generation_job_run(job_id=job.pk)
    # then: taken again, completed once
    job.refresh_from_db()
    assert status == SUCCEEDED
    assert _ai_pages().count() == 1
    assert job.attempts == 2
    assert settings.Q_CLUSTER["timeout"] < settings.Q_CLUSTER["retry"]


def test_failing_provider_gives_up_after_max_attempts_leaving_nothing(
    library, use_text_provider, settings, django_capture_on_commit_callbacks
):
    # given
    settings.GENERATION_MAX_ATTEMPTS = 3

    def server_down(request):
        raise ProviderError("the model server answered HTTP 503", retryable=True)

    provider = use_text_provider(ScriptedTextProvider(server_down))
    job = _submit(library)
    images_before = get_image_model().objects.count()
    # when
    with django_capture_on_commit_callbacks() as requeued:
        statuses = [generation_job_run(job_id=job.pk) for _ in range(4)]
    # then
    job.refresh_from_db()
    assert statuses == ["queued", "queued", "failed", "failed"]
    assert len(requeued) == 2  # each failed attempt but the last queued a retry
    assert len(provider.requests) == 3
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == (
        "Gave up after 3 attempts. Last error: the model server answered HTTP 503"
    )
    assert not _ai_pages().exists()
    assert get_image_model().objects.count() == images_before


def test_a_draft_citing_a_page_that_is_not_live_is_rejected(
    library, use_text_provider, settings
):
    # given: the model cites an unpublished page
    settings.GENERATION_MAX_ATTEMPTS = 2
    hidden = library.articles["loneliness-is-a-health-issue-too"]
    hidden.unpublish()

    def cites_hidden(request):
        return Draft(
            title="Sleep",
            standfirst="About sleep.",
            sections=[
                DraftSection(
                    heading="A",
                    html="<p>" + "word " * 200 + "</p>",
                    sources=(hidden.pk,),
                )
            ],
            provider="scripted",
            model="scripted-1",
        )

    use_text_provider(ScriptedTextProvider(cites_hidden))
    job = _submit(library)
    # when
    status = generation_job_run(job_id=job.pk, retry_inline=True)
    # then
    job.refresh_from_db()
    assert status == "failed" and job.attempts == 2
    assert f"not live articles: {hidden.pk}." in job.error
    assert not _ai_pages().exists()


def test_daily_token_budget_fails_fast_with_a_clear_message(
    library, settings, model_server
):
    # given: a metered provider and a budget already spent today
    settings.GENERATION_TEXT_PROVIDER = "openai_compatible"
    settings.OPENAI_BASE_URL = model_server.base_url
    settings.GENERATION_DAILY_TOKEN_BUDGET = 1000
    spent = _submit(library, topic="Naps")
    GenerationJob.objects.filter(pk=spent.pk).update(
        status="succeeded", tokens_in=800, tokens_out=400
    )
    job = _submit(library)
    # when
    status = generation_job_run(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert status == "failed" and job.attempts == 1
    assert job.error.startswith(
        "The daily token budget (1,000 tokens) is used up: 1,200 tokens were spent"
    )
    assert model_server.requests == []


def test_model_output_is_stored_without_scripts_handlers_or_unsafe_links(
    library, settings, model_server
):
    # given: an OpenAI-compatible model whose answer carries hostile markup
    settings.GENERATION_TEXT_PROVIDER = "openai_compatible"
    settings.GENERATION_IMAGE_PROVIDER = "openai_compatible"
    settings.OPENAI_BASE_URL = model_server.base_url
    settings.GENERATION_RETRY_BACKOFF_SECONDS = 0.01
    naps = library.articles["why-naps-work-and-when-they-backfire"]
    clock = library.articles["light-darkness-and-the-body-clock"]
    filler = "Short daytime sleep restores attention for many adults. " * 20
    answer = {
        "title": "Naps <script>alert(1)</script>and <b>you</b>",
        "standfirst": '<i onclick="steal()">Short</i> sleep, long benefits.',
        "sections": [
            {
                "heading": "<img src=x onerror=alert(1)>What naps do",
                "html": (
                    f'<p onclick="steal()">Naps help <a href="{naps.url}" '
                    f'onclick="x()">focus</a>. {filler}'
                    "<script>fetch('/steal?c=' + document.cookie)</script></p>"
                    '<p>Click <a href="javascript:alert(1)">here</a> or '
                    '<a href="https://evil.example/x">there</a>.</p>'
                ),
                "sources": [naps.pk],
            },
            {
                "heading": "Light",
                "html": f'<p>Light sets <a href="{clock.url}">the clock</a>.</p>',
                "sources": [clock.pk],
            },
        ],
    }
    model_server.script("/chat/completions", chat_reply(json.dumps(answer)))
    model_server.script(
        "/images/generations",
        image_reply(revised_prompt="A <b>calm</b> nap <script>x()</script>scene."),
    )
    job = _submit(library)
    # when
    status = generation_job_run(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert status == SUCCEEDED, job.error
    page = ArticlePage.objects.get(pk=job.page_id)
    stored = json.dumps([page.title, page.standfirst, list(page.body.raw_data)]).lower()
    for banned in (
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "evil.example",
        "<img",
        "cookie",
    ):
        assert banned not in stored, banned
    assert page.title == "Naps and you"
    assert page.standfirst == "Short sleep, long benefits."
    headings = [block.value for block in page.body if block.block_type == "heading"]
    assert headings == ["What naps do", "Light", "Sources"]
    paragraphs = "".join(
        block.value.source for block in page.body if block.block_type == "paragraph"
    )
    assert set(HREF.findall(paragraphs)) == {naps.url, clock.url}
    assert "Click here or there." in paragraphs
    assert {flag["href"] for flag in job.flags if flag["code"] == "link_removed"} == {
        "https://evil.example/x"
    }
    assert page.hero_image.description == "A calm nap scene."
    assert (job.provider, job.model) == ("openai_compatible", "gpt-4o-mini")
    assert (job.tokens_in, job.tokens_out) == (120, 80)


def test_a_cancelled_job_is_not_run(library):
    # given
    job = _submit(library)
    generation_job_cancel(job=job)
    # when
    status = generation_job_run(job_id=job.pk)
    # then
    assert status == GenerationJob.Status.CANCELLED
    assert not _ai_pages().exists()


def test_the_sweep_sends_again_only_jobs_whose_task_was_lost(library, monkeypatch):
    # given: one job queued long ago, one just queued, one finished
    sent = []
    monkeypatch.setattr(
        services, "async_task", lambda task, job_id, **kwargs: sent.append(job_id)
    )
    lost, fresh, done = (_submit(library, topic=topic) for topic in "abc")
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    GenerationJob.objects.filter(pk=lost.pk).update(updated_at=long_ago)
    GenerationJob.objects.filter(pk=done.pk).update(
        status="succeeded", updated_at=long_ago
    )
    # when
    count = generation_jobs_resume()
    # then
    assert (count, sent) == (1, [lost.pk])
