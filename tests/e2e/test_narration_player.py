"""An editor narrates a published article from its edit view, approves it in
"AI media", and a reader plays it on the article page in a real browser."""

import re
from pathlib import Path

import pytest
from wagtail.models import Collection, Locale, Page

from generation.media.ffmpeg import media_duration
from generation.media.models import MediaItem
from generation.media.services import media_item_run
from tests.factories import ArticlePageFactory, SectionPageFactory
from tests.generation.media.conftest import needs_media_tools

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def article_committed(transactional_db, settings, tmp_path):
    settings.ROOT_URLCONF = "tests.e2e.media_urls"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.GENERATION_SPEECH_PROVIDER = "espeak"
    locale = Locale.objects.first() or Locale.objects.create(language_code="en")
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    section = SectionPageFactory(title="Health", slug="health")
    return ArticlePageFactory(
        section=section,
        title="Why naps work",
        standfirst="A short sleep can sharpen the mind.",
        body=[
            ("paragraph", "<p>Researchers found a twenty minute nap helps.</p>"),
            ("heading", "When naps backfire"),
            ("paragraph", "<p>Long naps late in the day can spoil the night.</p>"),
        ],
    )


@pytest.fixture
def superuser(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser(
        username="chief",
        email="chief@example.com",
        password="not-a-real-password",
        first_name="Grace",
        last_name="Hopper",
    )


@needs_media_tools
def test_editor_narrates_approves_and_reader_plays_it(
    article_committed, superuser, live_server, browser_page
):
    page, article = browser_page, article_committed
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    # given: an editor on the article's edit view
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", "not-a-real-password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto(f"{live_server.url}/admin/pages/{article.pk}/edit/")
    # when: they ask for a narration from the action menu and confirm
    page.click("footer .dropdown-toggle, footer [data-w-dropdown-target='toggle']")
    page.click("a:has-text('Narrate (AI)')")
    page.wait_for_url(re.compile(r"/media/request/\d+/narration/$"))
    page.click("form button:has-text('Narrate')")
    page.wait_for_url(re.compile(r"/admin/generation/media/$"))
    item = MediaItem.objects.get(page_id=article.pk)
    assert page.get_attribute(f"tr[data-media-id='{item.pk}']", "data-status") in (
        "queued",
        "running",
    )
    # and the worker's task runs (here, inline)
    assert media_item_run(item_id=item.pk) == MediaItem.Status.IN_REVIEW
    page.reload()
    row = f"tr[data-media-id='{item.pk}']"
    page.wait_for_selector(f"{row}[data-status='in_review'] audio")
    page.screenshot(path=str(ARTIFACTS / "ai_media_review.png"), full_page=True)
    page.click(f"{row} button:has-text('Approve')")
    page.wait_for_selector("text=approved")
    item.refresh_from_db()
    assert item.status == MediaItem.Status.APPROVED
    # then: a reader plays it on the article page
    page.goto(f"{live_server.url}{article.url}")
    audio = page.locator("audio")
    page.wait_for_function(
        "() => document.querySelector('audio').readyState >= 1", timeout=20_000
    )
    duration = page.evaluate("() => document.querySelector('audio').duration")
    file_duration = media_duration(Path(item.file.path))
    assert duration == pytest.approx(file_duration, rel=0.10)
    audio.click()  # a user gesture, so that play() is allowed
    page.evaluate("() => document.querySelector('audio').play()")
    page.wait_for_function(
        "() => document.querySelector('audio').currentTime > 0.5", timeout=20_000
    )
    assert "This narration was made by AI" in page.inner_text(".ai-disclosure")
    page.screenshot(path=str(ARTIFACTS / "narration_player.png"), full_page=True)
