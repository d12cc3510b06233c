"""Narrations: read from the approved text, made once per revision, reviewed,
then served in API v2 and on the page; a newer revision makes them stale."""

import re

import pytest
from django.core.files.storage import default_storage

from cms.models import ArticlePage
from generation.media.ffmpeg import media_duration
from generation.media.models import MediaItem
from generation.media.script import narration_script
from generation.media.services import (
    MediaRefused,
    media_item_approve,
    media_item_reject,
    media_item_run,
    media_request,
)
from tests.factories import ArticlePageFactory
from tests.generation.media.conftest import command_report, needs_media_tools

pytestmark = [pytest.mark.django_db]


def test_script_reads_the_live_text_by_chapter_links_as_words(article):
    # given: a draft change not yet approved
    draft = ArticlePage.objects.get(pk=article.pk)
    draft.title = "UNAPPROVED TITLE"
    draft.save_revision()
    live = ArticlePage.objects.get(pk=article.pk).live_revision.as_object()
    # when
    chapters = narration_script(page=live)
    # then
    assert [chapter.title for chapter in chapters] == [
        "Introduction",
        "When naps backfire",
    ]
    spoken = " ".join(p for chapter in chapters for p in chapter.paragraphs)
    assert "UNAPPROVED" not in spoken and "Why naps work." in spoken
    assert "a twenty minute nap helps memory." in spoken
    assert "https://" not in spoken and "<a" not in spoken
    assert "Dr Lee said: Keep it short." in spoken


@needs_media_tools
def test_narration_writes_audio_chapters_and_transcript_for_review(narration):
    # then: in review, with a real file whose duration ffprobe confirms
    assert narration.status == MediaItem.Status.IN_REVIEW
    assert narration.provider == "espeak" and narration.voice == "en-us"
    path = default_storage.path(narration.file.name)
    assert narration.duration_seconds == pytest.approx(media_duration(path), rel=0.02)
    assert narration.duration_seconds > 3
    starts = [chapter["start"] for chapter in narration.chapters]
    assert starts[0] == 0 and starts == sorted(starts) and len(starts) == 2
    assert narration.chapters[-1]["end"] <= narration.duration_seconds + 0.5
    with narration.transcript.open("rb") as transcript:
        vtt = transcript.read().decode()
    assert vtt.startswith("WEBVTT")
    assert "Long naps late in the day can spoil the night." in vtt
    assert narration.audio_seconds > 3 and narration.progress == 100


@needs_media_tools
def test_asking_twice_and_running_twice_make_one_narration(narration, article):
    # when
    again = media_request(page=article, kind=MediaItem.Kind.NARRATION, enqueue=False)
    status = media_item_run(item_id=narration.pk)
    # then
    assert again.pk == narration.pk
    assert status == MediaItem.Status.IN_REVIEW
    assert MediaItem.objects.filter(page=article).count() == 1


def test_an_unpublished_article_is_not_narrated(section):
    # given
    draft = ArticlePageFactory(section=section, publish=False)
    # when / then
    with pytest.raises(MediaRefused, match="not published"):
        media_request(page=draft, kind=MediaItem.Kind.NARRATION, enqueue=False)
    assert not MediaItem.objects.exists()


def _v2(client, page) -> dict:
    return client.get(f"/api/v2/pages/{page.pk}/").json()


@needs_media_tools
def test_only_an_approved_narration_is_served_in_api_and_page(
    narration, article, editor, client
):
    # given: in review
    html = client.get(article.url).content.decode()
    assert _v2(client, article)["narration"] is None
    assert "<audio" not in html and narration.file.url not in html
    # when
    media_item_approve(item=narration, user=editor)
    # then
    served = _v2(client, article)["narration"]
    assert served["url"] == f"http://testserver{narration.file.url}"
    assert served["transcript_url"].endswith(".vtt")
    assert served["duration"] == pytest.approx(narration.duration_seconds, abs=0.01)
    assert [c["title"] for c in served["chapters"]] == [
        "Introduction",
        "When naps backfire",
    ]
    assert served["voice"] == "en-us" and served["provider"] == "espeak"
    assert served["ai_disclosure"]["approved_by"] == "Ada Lovelace"
    html = client.get(article.url).content.decode()
    assert re.search(r'<audio[^>]+src="http://testserver/media/ai-media/', html)
    assert "This narration was made by AI" in html


@needs_media_tools
def test_a_rejected_narration_is_never_served(narration, article, editor, client):
    # when
    media_item_reject(item=narration, user=editor, comment="Robotic")
    # then
    assert _v2(client, article)["narration"] is None
    assert "<audio" not in client.get(article.url).content.decode()
    with pytest.raises(MediaRefused):
        media_item_approve(item=narration, user=editor)


@needs_media_tools
def test_a_newly_published_revision_makes_the_narration_stale(
    narration, article, editor, client, django_capture_on_commit_callbacks
):
    # given
    media_item_approve(item=narration, user=editor)
    # when: the article changes
    page = ArticlePage.objects.get(pk=article.pk)
    page.standfirst = "A different summary."
    with django_capture_on_commit_callbacks(execute=True):
        page.save_revision().publish()
    # then
    narration.refresh_from_db()
    assert narration.stale is True
    assert _v2(client, article)["narration"] is None
    assert "<audio" not in client.get(article.url).content.decode()
    fresh = media_request(page=page, kind=MediaItem.Kind.NARRATION, enqueue=False)
    assert fresh.pk != narration.pk


def test_narrate_on_publish_setting_queues_a_narration(
    section, settings, django_capture_on_commit_callbacks
):
    # given
    settings.GENERATION_NARRATE_ON_PUBLISH = True
    # when
    with django_capture_on_commit_callbacks(execute=True):
        page = ArticlePageFactory(section=section)
    # then
    item = MediaItem.objects.get(page_id=page.pk)
    assert item.kind == MediaItem.Kind.NARRATION
    assert item.status == MediaItem.Status.QUEUED


@needs_media_tools
def test_narrate_command_reports_json_in_review(article, capsys):
    # when
    report = command_report(capsys, "narrate", str(article.pk), "--sync")
    # then
    item = MediaItem.objects.get(page=article)
    assert report == {
        "page": article.pk,
        "media": "narration",
        "url": f"http://testserver{item.file.url}",
        "duration_seconds": round(item.duration_seconds, 2),
        "status": "in_review",
    }


def test_narrate_command_without_sync_queues(article, capsys):
    # when
    report = command_report(capsys, "narrate", str(article.pk))
    # then
    assert report["status"] == "queued" and report["url"] is None
    assert MediaItem.objects.get(page=article).status == MediaItem.Status.QUEUED
