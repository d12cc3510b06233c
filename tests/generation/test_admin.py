"""The editors' admin: generate, follow the job, review, reject, regenerate, approve."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape
from wagtail.models import Page

from cms.models import ArticlePage
from generation.models import Brief, GenerationJob
from generation.selectors import prompt_revision_number
from generation.services import brief_create, brief_submit, generation_job_run
from recommend.models import Audience
from tests.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db

GENERATE = "/admin/generation/"
DRAFTS = "/admin/generation/drafts/"
SUCCEEDED = GenerationJob.Status.SUCCEEDED


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="x"
    )


@pytest.fixture
def as_user(client, superuser, editor):
    """A client logged in as the superuser or as a member of Editors."""

    def login(who: str):
        client.force_login({"superuser": superuser, "editor": editor}[who])
        return client

    return login


def _draft(library) -> tuple[ArticlePage, GenerationJob]:
    brief = brief_create(
        topic="Sleep",
        section=library.section,
        keywords=["naps"],
        topics=[library.topics["sleep"]],
    )
    job = brief_submit(brief=brief, enqueue=False)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    job.refresh_from_db()
    return ArticlePage.objects.get(pk=job.page_id), job


def _edit_url(page: Page) -> str:
    return reverse("wagtailadmin_pages:edit", args=[page.pk])


def _workflow_action(client, page: ArticlePage, action: str, **data):
    """The admin's own approve / "request changes" endpoint, as its modal posts."""
    task_state = page.current_workflow_task_state
    url = reverse(
        "wagtailadmin_pages:workflow_action", args=[page.pk, action, task_state.pk]
    )
    return client.post(url, data)


def _text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("who", ["superuser", "editor"])
def test_menu_offers_generate_and_ai_drafts(as_user, who):
    # when
    response = as_user(who).get("/admin/")
    # then: the sidebar's menu (serialised for its script) has both items
    body = _text(response)
    assert response.status_code == 200
    assert '"Generate"' in body and f'"{GENERATE}"' in body
    assert '"AI drafts"' in body and f'"{DRAFTS}"' in body


def test_a_user_without_page_permissions_cannot_generate(client, django_user_model):
    # given: an admin user who may not add or edit any page
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="reader", password="x")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    # when
    menu = _text(client.get("/admin/"))
    response = client.get(GENERATE)
    # then
    assert f'"{GENERATE}"' not in menu
    assert response.status_code == 302 and response.url == "/admin/"


def test_brief_form_shows_validation_errors(as_user, library):
    # given
    client = as_user("editor")
    draft_article = ArticlePageFactory(section=library.section, publish=False)
    # when
    response = client.post(
        GENERATE,
        {
            "topic": "",
            "target_words": "10",
            "section": library.section.pk,
            "source_page_1": draft_article.pk,
        },
    )
    # then: the form again, with each error next to its field, and nothing stored
    body = _text(response)
    assert response.status_code == 200
    assert "The brief could not be submitted due to errors." in body
    assert "This field is required." in body
    assert "Ensure this value is greater than or equal to 100." in body
    assert "Choose a live article" in body
    assert not Brief.objects.exists() and not GenerationJob.objects.exists()


@pytest.mark.parametrize("who", ["superuser", "editor"])
def test_brief_submitted_in_the_admin_becomes_a_job_then_a_draft(
    as_user, who, library, django_capture_on_commit_callbacks
):
    # given
    client = as_user(who)
    source = library.articles["light-darkness-and-the-body-clock"]
    Audience.objects.create(key="night-owls", name="Night owls", kind="rule")
    form = client.get(GENERATE)
    assert form.status_code == 200
    assert f'<option value="{library.section.pk}">Health</option>' in _text(form)
    # when: the editor submits a brief
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            GENERATE,
            {
                "topic": "Sleep",
                "angle": "What the evidence says about naps",
                "keywords": "naps, light",
                "tone": "",
                "target_words": "600",
                "section": library.section.pk,
                "topics": [library.topics["sleep"].pk],
                "source_page_1": source.pk,
                "audience_key": "night-owls",
            },
        )
    # then: a brief and a queued job, enqueued for a worker after commit
    brief = Brief.objects.get()
    job = GenerationJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/admin/generation/jobs/{job.pk}/"
    assert (brief.topic, brief.keywords, brief.audience_key) == (
        "Sleep",
        ["naps", "light"],
        "night-owls",
    )
    assert brief.origin == "admin"
    assert brief.requested_by_id == int(client.session["_auth_user_id"])
    assert list(brief.source_pages.all()) == [source]
    assert job.status == GenerationJob.Status.QUEUED and len(callbacks) == 1
    # and the status page says so, and refreshes itself
    queued = _text(client.get(response.url))
    assert "Queued" in queued and 'data-finished="false"' in queued
    assert "Review draft" not in queued
    # when: the worker's task runs (here, inline)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    # then: the status page ends with a link to review the draft
    job.refresh_from_db()
    done = _text(client.get(response.url))
    assert "Succeeded" in done and 'data-finished="true"' in done
    assert f'href="{_edit_url(job.page)}"' in done and "Review draft" in done
    assert "composer / composer-2" in done
    fragment = _text(client.get(response.url, {"fragment": 1}))
    assert fragment.lstrip().startswith('<div id="generation-job-status"')
    assert "<html" not in fragment


def test_ai_drafts_lists_drafts_in_review_and_no_human_pages(as_user, library):
    # given
    page, job = _draft(library)
    client = as_user("editor")
    # when
    body = _text(client.get(DRAFTS))
    # then
    assert page.title in body
    assert f'href="{_edit_url(page)}"' in body
    assert "composer-2" in body and "In review" in body
    for human in library.articles.values():
        assert human.title not in body


def test_provenance_panel_shows_on_ai_drafts_only(as_user, library):
    # given
    page, job = _draft(library)
    client = as_user("editor")
    source_titles = [ArticlePage.objects.get(pk=pk).title for pk in job.sources]
    # when
    draft_edit = _text(client.get(_edit_url(page)))
    human = library.articles["why-naps-work-and-when-they-backfire"]
    human_edit = _text(client.get(_edit_url(human)))
    # then: brief, linked sources, prompt version, model, tokens and cost
    assert "AI provenance" in draft_edit and "data-generation-provenance" in draft_edit
    assert source_titles
    assert all(escape(title) in draft_edit for title in source_titles)
    for source_id in job.sources:
        assert f'href="/admin/pages/{source_id}/edit/"' in draft_edit
    assert "<strong>Sleep</strong>" in draft_edit and "Keywords: naps" in draft_edit
    number = prompt_revision_number(
        template_id=job.prompt_template_id, revision_id=job.prompt_revision_id
    )
    assert number and f", version {number}" in draft_edit  # per template, not an id
    assert "composer / composer-2" in draft_edit
    assert "Regenerate with this feedback" not in draft_edit
    # and nothing of it on a human article
    assert "AI provenance" not in human_edit
    assert "data-generation-provenance" not in human_edit


def test_reject_with_comment_then_regenerate_in_the_admin(
    as_user, library, django_capture_on_commit_callbacks
):
    # given: an Editor requests changes with a comment, as in the admin's modal
    page, first_job = _draft(library)
    client = as_user("editor")
    comment = "Say more about light and the body clock."
    response = _workflow_action(client, page, "reject", comment=comment)
    assert response.status_code == 302
    assert page.current_workflow_state.status == "needs_changes"
    # then: the edit view offers to regenerate with that comment
    regenerate_url = f"/admin/generation/drafts/{page.pk}/regenerate/"
    edit = _text(client.get(_edit_url(page)))
    assert comment in edit
    assert re.search(rf'formaction="{regenerate_url}"[^>]*formmethod="post"', edit)
    assert f'href="{regenerate_url}"' in edit  # the action menu's item
    confirm = _text(client.get(regenerate_url))
    assert re.search(rf">\s*{re.escape(comment)}</textarea>", confirm)
    # when: the panel's button posts the edit form to the regenerate view
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(regenerate_url, {"title": page.title})
    # then: a regeneration job for the same page, answering the comment
    job = GenerationJob.objects.get(kind=GenerationJob.Kind.REGENERATE)
    assert response.status_code == 302
    assert response.url == f"/admin/generation/jobs/{job.pk}/"
    assert (job.page_id, job.feedback, len(callbacks)) == (page.pk, comment, 1)
    # when: it runs
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    # then: a new revision of the same page, whose prompt held the comment, in review
    job.refresh_from_db()
    page = ArticlePage.objects.get(pk=page.pk)
    assert comment in job.prompt_text
    assert page.revisions.count() == 2
    assert page.latest_revision_id == job.revision_id != first_job.revision_id
    assert not page.live and page.current_workflow_state.status == "in_progress"
    assert ArticlePage.objects.filter(ai_generated=True).count() == 1
    edit = _text(client.get(_edit_url(page)))
    assert "Feedback this version answers" in edit and comment in edit
    assert "formaction=" + f'"{regenerate_url}"' not in edit


def test_regenerate_is_refused_while_the_draft_is_still_in_review(as_user, library):
    # given: a draft nobody has rejected
    page, _ = _draft(library)
    client = as_user("editor")
    # when
    response = client.post(f"/admin/generation/drafts/{page.pk}/regenerate/")
    # then
    assert response.status_code == 302 and response.url == _edit_url(page)
    assert not GenerationJob.objects.filter(kind="regenerate").exists()


def test_approving_in_the_admin_publishes_with_the_approver(as_user, library):
    # given
    page, _ = _draft(library)
    client = as_user("editor")
    # when: an Editor approves the draft through the workflow
    response = _workflow_action(client, page, "approve", comment="")
    # then: live, credited to the approving Editor, and off the AI drafts list
    page = ArticlePage.objects.get(pk=page.pk)
    assert response.status_code == 302
    assert page.live
    assert page.ai_disclosure["approved_by"] == "Ada Lovelace"
    assert page.title not in _text(client.get(DRAFTS))


def test_a_queued_job_can_be_cancelled_and_its_brief_tried_again(as_user, library):
    # given: a queued job
    client = as_user("editor")
    brief = brief_create(topic="Sleep", section=library.section)
    job = brief_submit(brief=brief, enqueue=False)
    # when: cancelled from its status page
    response = client.post(f"/admin/generation/jobs/{job.pk}/cancel/")
    # then
    job.refresh_from_db()
    assert response.status_code == 302
    assert job.status == GenerationJob.Status.CANCELLED
    page = _text(client.get(f"/admin/generation/jobs/{job.pk}/"))
    assert "Try again" in page and "Cancel job" not in page
    # when: tried again
    response = client.post(f"/admin/generation/jobs/{job.pk}/retry/")
    # then: a fresh queued job for the same brief
    retry = GenerationJob.objects.exclude(pk=job.pk).get()
    assert response.url == f"/admin/generation/jobs/{retry.pk}/"
    assert (retry.brief_id, retry.status) == (brief.pk, GenerationJob.Status.QUEUED)
