"""Public surfaces of AI media: podcast feeds, a reader's briefing and clips show
approved, current media only."""

import xml.etree.ElementTree as ET

import pytest
from django.core.files.storage import default_storage

from generation.media.ffmpeg import media_duration
from generation.media.models import MediaItem
from generation.media.services import media_item_approve
from recommend.models import Audience
from tests.factories import TopicFactory
from tests.generation.media.conftest import (
    command_report,
    narration_make,
    needs_media_tools,
    short_article,
)

pytestmark = [pytest.mark.django_db, needs_media_tools]
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"


@pytest.fixture
def two_narrations(section, editor):
    """Two narrated articles of the section: one approved, one still in review."""
    approved_page = short_article(section=section, title="Approved story")
    pending_page = short_article(section=section, title="Pending story")
    approved = media_item_approve(item=narration_make(approved_page), user=editor)
    pending = narration_make(pending_page)
    return approved, pending


def test_section_podcast_lists_approved_narrations_as_valid_rss(
    two_narrations, api_client
):
    # given
    approved, pending = two_narrations
    # when
    response = api_client.get("/api/v1/podcasts/sections/health")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") == "The Daily Engine: Health"
    items = channel.findall("item")
    assert [item.findtext("title") for item in items] == ["Approved story"]
    enclosure = items[0].find("enclosure")
    assert enclosure.get("url") == f"http://testserver{approved.file.url}"
    assert int(enclosure.get("length")) == approved.file.size
    assert enclosure.get("type") == "audio/mpeg"
    assert items[0].findtext(f"{ITUNES}duration")
    assert pending.file.url not in response.content.decode()


def test_audience_podcast_lists_approved_narrations_on_its_topics(
    two_narrations, api_client
):
    # given: the approved and the pending article are both on "sleep"
    approved, pending = two_narrations
    sleep = TopicFactory(name="Sleep", slug="sleep")
    for item in (approved, pending):
        item.page.topics.set([sleep])
        revision = item.page.save_revision()
        revision.publish()
        # the same words: the narration still stands for the new revision
        MediaItem.objects.filter(pk=item.pk).update(revision=revision, stale=False)
    Audience.objects.create(
        key="sleepers",
        name="Sleepers",
        kind="cluster",
        top_topics=[{"id": sleep.pk, "slug": "sleep", "name": "Sleep", "share": 1}],
    )
    Audience.objects.create(key="cooks", name="Cooks", kind="rule", rule={})
    # when
    sleepers = api_client.get("/api/v1/podcasts/audiences/sleepers")
    cooks = api_client.get("/api/v1/podcasts/audiences/cooks")
    missing = api_client.get("/api/v1/podcasts/audiences/nobody")
    # then
    titles = [i.findtext("title") for i in ET.fromstring(sleepers.content).iter("item")]
    assert titles == ["Approved story"]
    assert list(ET.fromstring(cooks.content).iter("item")) == []
    assert missing.status_code == 404 and missing.json()["error"]["code"]


def test_unknown_section_podcast_is_a_json_404(api_client, db):
    response = api_client.get("/api/v1/podcasts/sections/nowhere")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_briefing_plays_approved_narrations_only(two_narrations, keyed_client):
    # given
    approved, pending = two_narrations
    client = keyed_client("feed:read")
    # when
    response = client.get("/api/v1/readers/new-reader/briefing?n=5")
    again = client.get("/api/v1/readers/new-reader/briefing?n=5")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    narrated = {item["id"]: item["narration"] for item in body["items"]}
    assert narrated[approved.page_id] == approved.pk
    assert narrated[pending.page_id] is None  # read from its title, not its audio
    assert body["url"].startswith("http://testserver/media/ai-media/briefings/")
    path = default_storage.path(body["url"].removeprefix("http://testserver/media/"))
    assert media_duration(path) == pytest.approx(body["duration"], rel=0.02)
    # the approved narration's first chapter is in, so it lasts at least that long
    assert body["duration"] > approved.chapters[0]["end"]
    assert body["cached"] is False and again.json()["cached"] is True
    assert again.json()["url"] == body["url"]


def test_briefing_needs_the_digest_credentials(api_client, db):
    response = api_client.get("/api/v1/readers/someone/briefing")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_briefing_rejects_a_bad_length(keyed_client, db):
    response = keyed_client("feed:read").get("/api/v1/readers/r/briefing?n=99")
    assert response.status_code == 400
    assert "n" in response.json()["error"]["details"]


def test_clip_renders_vertical_video_served_only_after_approval(
    article, editor, client, capsys
):
    # when
    report = command_report(capsys, "render_clip", str(article.pk), "--sync")
    # then: a 9:16 MP4 with sound, in review, made from a narration in review
    clip = MediaItem.objects.get(page=article, kind=MediaItem.Kind.CLIP)
    assert report["status"] == "in_review" and report["media"] == "clip"
    assert report["url"] == f"http://testserver{clip.file.url}"
    assert clip.narration.status == MediaItem.Status.IN_REVIEW
    assert 1 < clip.duration_seconds <= 8.1 and clip.render_seconds > 0
    streams = _streams(default_storage.path(clip.file.name))
    assert ("h264", 540, 960) in streams and ("aac", None, None) in streams
    assert client.get(f"/api/v2/pages/{article.pk}/").json()["clip"] is None
    assert "<video" not in client.get(article.url).content.decode()
    # when approved
    media_item_approve(item=clip, user=editor)
    # then
    served = client.get(f"/api/v2/pages/{article.pk}/").json()["clip"]
    assert served["url"] == report["url"] and served["ai_disclosure"]["kind"] == "clip"
    assert "<video" in client.get(article.url).content.decode()


def _streams(path: str) -> list[tuple]:
    import json
    import subprocess

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
        capture_output=True,
        check=True,
    )
    return [
        (stream["codec_name"], stream.get("width"), stream.get("height"))
        for stream in json.loads(probe.stdout)["streams"]
    ]
