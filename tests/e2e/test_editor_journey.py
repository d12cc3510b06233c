"""The editor's whole journey in Chromium: generate, request changes with the
issue's vaccine feedback, regenerate, approve, and the public page's AI label."""

import re

import pytest
from django.contrib.auth.models import Group
from wagtail.models import Collection, Locale, Page

from cms.models import ArticlePage
from generation.models import GenerationJob
from generation.services import generation_job_run
from tests.generation.conftest import FEEDBACK_LIBRARY_SLUGS, _library_build

VACCINE_FEEDBACK = (
    "the vaccines section has nothing to do with sleep. Focus on night-shift workers"
)
PASSWORD = "not-a-real-password"


@pytest.fixture
def feedback_library_committed(transactional_db):
    """The feedback library (sleep articles, vaccines, cell clocks) on a database
    the live server shares; roots come back first after an earlier flush."""
    locale = Locale.objects.first() or Locale.objects.create(language_code="en")
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    return _library_build(FEEDBACK_LIBRARY_SLUGS, quotes=True)


@pytest.fixture
def chief(transactional_db, django_user_model):
    user = django_user_model.objects.create_user(
        username="chief", password=PASSWORD, first_name="Grace", last_name="Hopper"
    )
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from wagtail.admin.models import Admin
    from wagtail.models import GroupPagePermission

    editors, _ = Group.objects.get_or_create(name="Editors")
    access, _ = Permission.objects.get_or_create(
        codename="access_admin",
        content_type=ContentType.objects.get_for_model(Admin),
        defaults={"name": "Can access Wagtail admin"},
    )
    editors.permissions.add(access)
    root = Page.objects.get(depth=1)
    for codename in ("add_page", "change_page"):
        GroupPagePermission.objects.get_or_create(
            group=editors,
            page=root,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            ),
        )
    user.groups.add(editors)
    return user


def _headings(page: ArticlePage) -> list[str]:
    latest = page.get_latest_revision_as_object()
    return [str(block.value) for block in latest.body if block.block_type == "heading"]


def _text(page: ArticlePage) -> str:
    latest = page.get_latest_revision_as_object()
    return " ".join(
        str(block.value) if block.block_type == "heading" else block.value.source
        for block in latest.body
        if block.block_type in ("heading", "paragraph")
    ).lower()


def _run_latest_job(page, browser):
    """The worker's part, inline: run the job the admin queued, then follow the
    job page until it offers the draft."""
    job = GenerationJob.objects.order_by("-pk").first()
    assert generation_job_run(job_id=job.pk) == GenerationJob.Status.SUCCEEDED
    browser.wait_for_selector('#generation-job-status[data-finished="true"]')
    browser.click("a:has-text('Review draft')")
    browser.wait_for_url(re.compile(r"/admin/pages/\d+/edit/$"))
    job.refresh_from_db()
    return job


def _workflow_action(browser, label: str) -> None:
    """A workflow button of the edit view's action menu (the menu opened first)."""
    menu = browser.locator(
        ".w-dropdown-button", has=browser.locator("[data-workflow-action-name]")
    )
    menu.get_by_role("button", name="More actions").click()
    menu.locator(f"button[data-workflow-action-name]:has-text('{label}')").first.click()


def test_editor_journey_from_brief_to_labelled_public_article(
    feedback_library_committed, chief, live_server, browser_page, screenshot
):
    library = feedback_library_committed
    browser = browser_page
    browser.set_viewport_size({"width": 1280, "height": 1000})
    # given: an Editor logged in
    browser.goto(f"{live_server.url}/admin/login/")
    browser.fill("input[name=username]", "chief")
    browser.fill("input[name=password]", PASSWORD)
    browser.click("button[type=submit]")
    browser.wait_for_url(re.compile(r"/admin/$"))

    # when: they ask for a sleep article drawing on sleep and biology
    browser.goto(f"{live_server.url}/admin/generation/")
    browser.fill("#id_topic", "Sleep")
    browser.select_option("#id_section", label="Health")
    browser.fill("#id_topics_filter", "slee")
    browser.get_by_label("Sleep", exact=True).check()
    browser.fill("#id_topics_filter", "biol")
    browser.get_by_label("Biology", exact=True).check()
    screenshot(browser, "journey-1-brief")
    browser.click("button:has-text('Generate draft')")
    browser.wait_for_url(re.compile(r"/admin/generation/jobs/\d+/$"))
    first = _run_latest_job(library, browser)
    draft = ArticlePage.objects.get(pk=first.page_id)
    # then: the first version drew on the vaccines article (the case)
    assert "vaccin" in _text(draft)
    screenshot(browser, "journey-2-first-draft")

    # when: they request changes with the comment
    draft_edit_url = browser.url
    _workflow_action(browser, "Request changes")
    browser.wait_for_selector("textarea[name=comment]")
    browser.fill("textarea[name=comment]", VACCINE_FEEDBACK)
    browser.locator(".modal button[type=submit]").click()
    browser.wait_for_url(re.compile(r"/admin/pages/\d+/$"))  # Wagtail's listing
    browser.goto(draft_edit_url)
    browser.wait_for_selector("[data-generation-regenerate]")
    screenshot(browser, "journey-3-changes-requested")
    # and regenerate with that feedback
    browser.click("[data-generation-regenerate]")
    browser.wait_for_url(re.compile(r"/admin/generation/jobs/\d+/$"))
    second = _run_latest_job(library, browser)

    # then: a new revision of the same page, with no vaccine section
    assert second.page_id == draft.pk and second.kind == "regenerate"
    draft.refresh_from_db()
    assert draft.latest_revision_id == second.revision_id != first.revision_id
    assert not any("vaccin" in heading.lower() for heading in _headings(draft))
    assert "vaccin" not in _text(draft)
    panel = browser.locator("[data-generation-provenance]")
    panel.wait_for()
    assert VACCINE_FEEDBACK in panel.inner_text()
    screenshot(browser, "journey-4-regenerated")
    # and the panel links Wagtail's comparison of the two AI versions
    compare = panel.locator("[data-generation-compare]")
    href = compare.get_attribute("href")
    assert href.endswith(f"/compare/{first.revision_id}...{second.revision_id}/")
    edit_url = browser.url
    compare.click()
    browser.wait_for_url(re.compile(r"/compare/"))
    assert "vaccin" in browser.locator("main").inner_text().lower()  # the removal
    screenshot(browser, "journey-5-compare")
    browser.goto(edit_url)

    # when: they approve it
    _workflow_action(browser, "Approve")
    browser.wait_for_load_state("networkidle")
    draft.refresh_from_db()
    assert draft.live

    # then: the public page carries the label under the byline, to the sources
    browser.goto(f"{live_server.url}{draft.url}")
    label = browser.locator("[data-ai-label]")
    assert (
        label.inner_text()
        .strip()
        .endswith("Drafted with AI from our reporting, reviewed by Grace Hopper")
    )
    assert (
        "vaccin"
        not in browser.locator("article").inner_text().lower().split("sources")[0]
    )
    screenshot(browser, "article-ai-label")
    label.locator("a").click()
    browser.wait_for_url(re.compile(r"#sources$"))
    # the body's "Sources" heading (AI drafts end with one), then links to them
    assert browser.locator("h2#sources ~ p a, #sources li a").count() >= 1
