"""What a new editor tripped over in the admin, each fixed: job page, provenance,
cost, topics widget, who submitted an AI draft, avatars offline."""

import re

import pytest
from django.conf import settings

from generation.models import PromptTemplate
from generation.services import brief_create, brief_submit, generation_job_run
from tests.factories import TopicFactory
from tests.generation.test_admin import SUCCEEDED, _edit_url, _text

pytestmark = pytest.mark.django_db


@pytest.fixture
def requester(django_user_model):
    return django_user_model.objects.create_superuser(
        "chief", "chief@example.com", "x", first_name="Grace", last_name="Hopper"
    )


def _job(library, requester, **overrides):
    brief = brief_create(
        topic="Sleep",
        section=library.section,
        keywords=["naps"],
        topics=[library.topics["sleep"]],
        requested_by=requester,
        **overrides,
    )
    job = brief_submit(brief=brief, user=requester, enqueue=False)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    job.refresh_from_db()
    return job


def test_a_finished_job_page_no_longer_says_the_draft_is_being_written(
    client, library, requester
):
    # given: an editor submitted a brief through the form (its message follows)
    client.force_login(requester)
    response = client.post(
        "/admin/generation/",
        {
            "topic": "Sleep",
            "target_words": "600",
            "section": library.section.pk,
            "topics": [library.topics["sleep"].pk],
        },
        follow=True,
    )
    job = response.context["job"]
    # when: the job has run and the page is opened again
    generation_job_run(job_id=job.pk)
    page = _text(client.get(f"/admin/generation/jobs/{job.pk}/"))
    # then
    assert "being written" not in _text(response) + page
    assert "Writing the draft" not in page
    assert "waits in “AI review”" in page
    # and the brief names its topics and audience, and the cost its currency
    assert "Topics: Sleep" in page
    assert "Audience: general readers" in page
    assert re.search(r"cost estimate USD \d+\.\d{4}", page)


def test_the_provenance_panel_numbers_prompt_versions_per_template(
    client, library, requester
):
    # given: the article template saved three times (three revisions)
    template = PromptTemplate.objects.get(kind="article")
    for _ in range(3 - template.revisions.count()):
        template.save_revision(user=requester)
    assert template.revisions.count() == 3
    job = _job(library, requester)
    client.force_login(requester)
    # when
    html = _text(client.get(_edit_url(job.page)))
    panel = html[html.index("data-generation-provenance") :]
    # then: "version 3" of this template, not its database revision id
    assert ", version 3" in panel
    assert job.prompt_revision_id != 3  # the id would have read differently
    assert re.search(r"USD \d+\.\d{4}", panel)


def test_the_brief_form_filters_forty_topics_as_the_editor_types(client, requester):
    # given
    for _ in range(40):
        TopicFactory()
    client.force_login(requester)
    # when
    html = _text(client.get("/admin/generation/"))
    # then: a filter field above plain checkboxes (the form posts as before)
    widget = html[html.index("data-searchable-checkboxes") :]
    assert 'type="search"' in widget[:600]
    assert widget.count('type="checkbox" name="topics"') == 40


def test_an_ai_draft_in_review_shows_who_asked_for_it(client, library, requester):
    # given
    job = _job(library, requester)
    # then: the revision in review is the requester's ("Task submitted by")
    assert job.page.latest_revision.user == requester
    client.force_login(requester)
    dashboard = _text(client.get("/admin/"))
    table = dashboard[dashboard.index("Task submitted by") :]
    row = table[table.index(job.page.title) :]
    assert "Grace Hopper" in row[: row.index("</tr>")]


def test_avatars_are_never_fetched_from_gravatar(client, requester):
    assert settings.WAGTAIL_GRAVATAR_PROVIDER_URL is None
    client.force_login(requester)
    assert "gravatar" not in _text(client.get("/admin/")).lower()
