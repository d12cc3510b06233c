"""Readers see who reviewed an AI draft: a byline label on the page and in API v2."""

import re

import pytest
from django.contrib.auth.models import Group
from django.utils.html import escape

from cms.models import ArticlePage
from generation.services import brief_create, brief_submit, generation_job_run

pytestmark = pytest.mark.django_db

PAGES = "/api/v2/pages/"


def _draft(library) -> ArticlePage:
    brief = brief_create(
        topic="Sleep",
        section=library.section,
        keywords=["naps"],
        topics=[library.topics["sleep"]],
    )
    job = brief_submit(brief=brief, enqueue=False)
    generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    return ArticlePage.objects.get(pk=job.page_id)


def _approve(page: ArticlePage, user) -> ArticlePage:
    state = page.current_workflow_task_state
    state.task.specific.on_action(state, user, "approve")
    page.refresh_from_db()
    return page


def test_an_approved_ai_article_carries_the_label_at_its_byline(
    library, editor, api_client, client
):
    # given
    page = _approve(_draft(library), editor)
    expected = "Drafted with AI from our reporting, reviewed by Ada Lovelace"

    # when
    served = api_client.get(f"{PAGES}{page.pk}/").json()["ai_disclosure"]
    html = client.get(page.url).content.decode()

    # then: API v2 serves the label
    assert served["label"] == expected
    # and the page shows it right under the byline, linking to the sources list
    byline = html.index('class="meta"', html.index("<h1>"))
    label = re.search(r'<p class="ai-label" data-ai-label>.*?</p>', html, re.S)
    assert label and label.start() > byline
    assert label.start() < html.index("<h2")  # before the article's first heading
    assert '<a href="#sources">' + expected + "</a>" in label.group(0)
    sources = html[html.index('id="sources"') :]
    for source in served["sources"]:
        assert f'<a href="{source["url"]}">{escape(source["title"])}</a>' in sources
    assert served["sources"]


def test_a_human_article_has_no_label(library, api_client, client):
    human = library.articles["why-naps-work-and-when-they-backfire"]
    assert (
        api_client.get(f"{PAGES}{human.pk}/").json()["ai_disclosure"]["label"] is None
    )
    assert "data-ai-label" not in client.get(human.url).content.decode()


def test_a_superuser_publish_of_a_draft_in_review_is_recorded_as_its_approval(
    library, django_user_model, client, api_client
):
    # given: a superuser (not in Editors) and an AI draft waiting in AI review
    boss = django_user_model.objects.create_superuser(
        "boss", "boss@example.com", "pw", first_name="Grace", last_name="Hopper"
    )
    assert not boss.groups.filter(name="Editors").exists()
    page = _draft(library)
    state = page.current_workflow_state
    client.force_login(boss)
    edit = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()

    # when: they post the edit form with plain "Publish"
    form = _edit_form(client, page)
    response = client.post(
        f"/admin/pages/{page.pk}/edit/", {**form, "action-publish": "Publish"}
    )

    # then: the menu offered "Approve and publish" only
    assert 'name="action-publish"' not in edit
    assert "approve and publish" in edit.lower()
    # and the post went through the AI review's approval, recorded as theirs
    assert response.status_code == 302
    page.refresh_from_db()
    state.refresh_from_db()
    assert page.live
    assert state.status == "approved"
    task_state = state.task_states.get()
    assert (task_state.status, task_state.finished_by) == ("approved", boss)
    disclosure = api_client.get(f"{PAGES}{page.pk}/").json()["ai_disclosure"]
    assert disclosure["approved_by"] == "Grace Hopper"
    assert disclosure["label"].endswith("reviewed by Grace Hopper")


def test_a_publisher_outside_editors_cannot_skip_the_review(
    library, django_user_model, client
):
    # given: a user who may publish the section but does not approve AI drafts
    from wagtail.models import GroupPagePermission

    publishers = Group.objects.create(name="Publishers")
    from django.contrib.auth.models import Permission

    for codename in ("add_page", "change_page", "publish_page"):
        GroupPagePermission.objects.create(
            group=publishers,
            page=library.section,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            ),
        )
    from django.contrib.contenttypes.models import ContentType
    from wagtail.admin.models import Admin

    access, _ = Permission.objects.get_or_create(
        codename="access_admin",
        content_type=ContentType.objects.get_for_model(Admin),
        defaults={"name": "Can access Wagtail admin"},
    )
    publishers.permissions.add(access)
    user = django_user_model.objects.create_user("pub", password="pw")
    user.groups.add(publishers)
    page = _draft(library)
    client.force_login(user)

    # when
    form = _edit_form(client, page)
    response = client.post(
        f"/admin/pages/{page.pk}/edit/", {**form, "action-publish": "Publish"}
    )

    # then: nothing is published and the review goes on (Wagtail's workflow lock
    # refuses the form; the before_publish_page hook would refuse it too)
    page.refresh_from_db()
    assert response.status_code in (200, 302)
    assert not page.live
    assert page.current_workflow_state.status == "in_progress"


def _edit_form(client, page) -> dict:
    """The edit form's fields for the draft's latest revision, as a browser posts."""
    from wagtail.test.utils.form_data import (
        inline_formset,
        nested_form_data,
        rich_text,
        streamfield,
    )

    latest = page.get_latest_revision_as_object()
    body = [
        (
            block.block_type,
            rich_text(block.value.source)
            if block.block_type == "paragraph"
            else block.value,
        )
        for block in latest.body
        if block.block_type in ("heading", "paragraph")
    ]
    return nested_form_data(
        {
            "title": latest.title,
            "slug": latest.slug,
            "standfirst": latest.standfirst,
            "body": streamfield(body),
            "topics": [topic.pk for topic in latest.topics.all()],
            "comments": inline_formset([]),
        }
    )
