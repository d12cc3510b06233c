"""No unapproved or stale narration or clip reaches any public surface: API v2
(detail and listing), the article page, podcast feeds and a reader's briefing."""

import functools

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generation.media.ffmpeg import ffmpeg_run
from generation.media.models import MediaItem
from recommend.models import Audience
from tests.generation.media.conftest import needs_media_tools, short_article

pytestmark = pytest.mark.django_db
HIDDEN = [
    (MediaItem.Status.QUEUED, False),
    (MediaItem.Status.RUNNING, False),
    (MediaItem.Status.IN_REVIEW, False),
    (MediaItem.Status.REJECTED, False),
    (MediaItem.Status.FAILED, False),
    (MediaItem.Status.APPROVED, True),  # approved, but the article changed since
]


@functools.cache
def _silence_mp3() -> bytes:
    return ffmpeg_run(
        ["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "6"]
        + ["-c:a", "libmp3lame", "-f", "mp3", "pipe:1"]
    )


def _item(page, kind: str, status: str, stale: bool) -> MediaItem:
    stem = f"ai-media/leak/{page.pk}-{kind}-{status}-{int(stale)}"
    audio = default_storage.save(f"{stem}.mp3", ContentFile(_silence_mp3()))
    transcript = default_storage.save(f"{stem}.vtt", ContentFile(b"WEBVTT\n"))
    return MediaItem.objects.create(
        page=page,
        kind=kind,
        status=status,
        stale=stale,
        revision=page.live_revision,
        file=audio,
        transcript=transcript,
        mime_type="audio/mpeg",
        duration_seconds=12.0,
        chapters=[{"title": "Introduction", "start": 0, "end": 5}],
    )


def _public_text(client, keyed_client, page) -> str:
    Audience.objects.get_or_create(
        key="everyone",
        defaults={
            "name": "Everyone",
            "kind": "cluster",
            "top_topics": [{"id": 0, "slug": "sleep", "name": "Sleep", "share": 1}],
        },
    )
    surfaces = [
        client.get(f"/api/v2/pages/{page.pk}/"),
        client.get("/api/v2/pages/?type=cms.ArticlePage&fields=narration,clip"),
        client.get(page.url),
        client.get("/api/v1/podcasts/sections/health"),
        client.get("/api/v1/podcasts/audiences/everyone"),
        keyed_client("feed:read").get("/api/v1/readers/anyone/briefing"),
    ]
    assert [response.status_code for response in surfaces] == [200] * 6
    return "\n".join(response.content.decode() for response in surfaces)


@needs_media_tools
@pytest.mark.parametrize(("status", "stale"), HIDDEN)
@pytest.mark.parametrize("kind", MediaItem.Kind.values)
def test_media_not_approved_and_current_is_on_no_public_surface(
    kind, status, stale, section, client, keyed_client
):
    # given
    page = short_article(section=section)
    item = _item(page, kind, status, stale)
    # when
    public = _public_text(client, keyed_client, page)
    # then
    assert item.file.name not in public and item.transcript.name not in public
    assert '"narration": {' not in public.replace('"narration":{', '"narration": {')
    assert "<audio" not in public and "<video" not in public
    assert "<enclosure" not in public


@needs_media_tools
def test_the_same_media_once_approved_and_current_is_public(
    section, client, keyed_client
):
    # given: the control case, so the test above can fail
    page = short_article(section=section)
    item = _item(page, MediaItem.Kind.NARRATION, MediaItem.Status.APPROVED, False)
    # when
    public = _public_text(client, keyed_client, page)
    # then
    assert item.file.name in public and "<audio" in public and "<enclosure" in public
