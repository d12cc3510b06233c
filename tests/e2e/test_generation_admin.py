"""An editor generates a draft in a real browser: brief, status page, provenance."""

import re

import pytest

from cms.models import ArticlePage
from generation.models import GenerationJob
from generation.services import generation_job_run
from tests.generation.conftest import library_committed  # noqa: F401 - a fixture


@pytest.fixture
def superuser(transactional_db, django_user_model):
    # A transactional test starts from a flushed database: no users, no groups.
    return django_user_model.objects.create_superuser(
        username="chief",
        email="chief@example.com",
        password="not-a-real-password",
        first_name="Grace",
        last_name="Hopper",
    )


def test_editor_generates_a_draft_and_sees_its_provenance(
    library_committed,  # noqa: F811 - the fixture imported above
    superuser,
    live_server,
    browser_page,
    screenshot,
):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    # given: an editor logged in to the admin
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", "not-a-real-password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    # when: they open Generate from the menu and submit a brief
    page.click('a[href="/admin/generation/"]')
    page.wait_for_url(re.compile(r"/admin/generation/$"))
    page.fill("#id_topic", "Sleep")
    page.fill("#id_keywords", "naps, light")
    page.select_option("#id_section", label="Health")
    page.get_by_label("Sleep", exact=True).check()
    page.click("button:has-text('Generate draft')")
    page.wait_for_url(re.compile(r"/admin/generation/jobs/\d+/$"))
    job = GenerationJob.objects.get()
    assert page.get_attribute("#generation-job-status", "data-status") == "queued"
    # and the worker's task runs (here, inline)
    assert generation_job_run(job_id=job.pk) == GenerationJob.Status.SUCCEEDED
    # then: the status page refreshes itself to "Succeeded", then links the draft
    page.wait_for_selector('#generation-job-status[data-finished="true"]')
    assert "succeeded" in page.inner_text("#generation-job-status").lower()
    page.click("a:has-text('Review draft')")
    draft = ArticlePage.objects.get(ai_generated=True)
    page.wait_for_url(re.compile(rf"/admin/pages/{draft.pk}/edit/$"))
    # and the edit view shows where the draft came from
    panel = page.locator("[data-generation-provenance]")
    panel.wait_for()
    text = panel.inner_text()
    job.refresh_from_db()
    source_titles = list(
        ArticlePage.objects.filter(pk__in=job.sources).values_list("title", flat=True)
    )
    assert source_titles and all(title in text for title in source_titles)
    assert "composer / composer-2" in text
    panel.scroll_into_view_if_needed()
    assert screenshot(page, "admin-ai-draft-review").stat().st_size > 0
    # and the draft waits in the "AI drafts" listing, in review
    page.goto(f"{live_server.url}/admin/generation/drafts/")
    row = page.locator("table tbody tr", has_text=draft.title)
    assert "in review" in row.inner_text().lower()
    listing = {"x": 0, "y": 0, "width": 1280, "height": 420}
    assert screenshot(page, "admin-ai-drafts", clip=listing).stat().st_size > 0
