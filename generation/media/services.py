"""Writes of AI media: asking for a narration or a clip, running its job, review.

- `media_request(page=..., kind=..., user=...)` -> a queued MediaItem, run by a
  worker after commit (or inline: `media_item_run(item_id=..., retry_inline=True)`);
  asking twice for the same live revision gives the same item.
- `media_item_approve(...)` / `media_item_reject(...)`: the Editor's review.
- `media_on_publish(page_id=...)`: a new live revision makes older media stale
  (and, with GENERATION_NARRATE_ON_PUBLISH, asks for a narration).
- `media_items_resume()`: the sweep that sends lost jobs again.

A run claims the item with one conditional UPDATE, like a generation job, so a
duplicated or retried task finds it taken or finished and does nothing.
"""

import logging
import tempfile
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from cms.covers import cover_render
from cms.models import ArticlePage
from cms.services import live_content_touch
from generation.media.clips import clip_render
from generation.media.ffmpeg import MediaToolError
from generation.media.models import MediaItem
from generation.media.narration import narration_render, webvtt_read, webvtt_write
from generation.media.script import key_sentences, narration_script
from generation.media.selectors import audio_seconds_today
from generation.providers.base import ProviderError
from generation.providers.speech import speech_provider_get
from generation.services import attempt_outcome

logger = logging.getLogger(__name__)

TASK = "generation.media.tasks.media_item_run"
OFFLINE_SPEECH = frozenset({"espeak"})
QUEUED_STALL_SECONDS = 600
Status = MediaItem.Status


class MediaRefused(Exception):
    """The request cannot be met; the message is for the editor."""


class MediaFailed(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class _Lost(Exception):
    """Another worker took the item over; this run's result is thrown away."""


# asking


def _enqueue(item: MediaItem) -> None:
    item_id = item.pk
    transaction.on_commit(
        lambda: async_task(TASK, item_id, task_name=f"media-item-{item_id}"),
        robust=True,
    )


def media_request(
    *, page: ArticlePage, kind: str, user=None, enqueue: bool = True
) -> MediaItem:
    """The narration or clip of the page's live (approved) revision, queued.

    Only published text is read: a page that is not live is refused. Asking again
    while one is queued, running, in review or approved returns that one.
    """
    if kind not in MediaItem.Kind.values:
        raise MediaRefused(f"Unknown kind of media {kind!r}.")
    page = ArticlePage.objects.get(pk=page.pk)
    if not page.live or page.live_revision_id is None:
        raise MediaRefused(
            f"“{page.title}” is not published: only approved (live) text is "
            "narrated. Publish it first."
        )
    active = MediaItem.objects.filter(
        page=page,
        kind=kind,
        revision_id=page.live_revision_id,
        status__in=MediaItem.ACTIVE,
    )
    existing = active.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            item = MediaItem.objects.create(
                page=page,
                kind=kind,
                revision_id=page.live_revision_id,
                requested_by=user,
            )
            if enqueue:
                _enqueue(item)
    except IntegrityError:
        # Asked twice at once: the other request made it.
        return active.get()
    return item


def media_on_publish(*, page_id: int) -> int:
    """Mark media of older revisions stale; maybe ask for a fresh narration.
    The number of items marked stale."""
    page = ArticlePage.objects.filter(pk=page_id).first()
    if page is None or page.live_revision_id is None:
        return 0
    marked = (
        MediaItem.objects.filter(page_id=page_id, stale=False)
        .exclude(revision_id=page.live_revision_id)
        .update(stale=True, updated_at=timezone.now())
    )
    if marked:
        live_content_touch()
    if settings.GENERATION_NARRATE_ON_PUBLISH:
        media_request(page=page, kind=MediaItem.Kind.NARRATION)
    return marked


def media_items_resume() -> int:
    """Send again the items whose task was lost (long queued, or claimed by a dead
    worker). Duplicates are harmless: the claim lets one run."""
    now = timezone.now()
    stale_claim = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    item_ids = list(
        MediaItem.objects.filter(
            Q(
                status=Status.QUEUED,
                updated_at__lt=now - timedelta(seconds=QUEUED_STALL_SECONDS),
            )
            | Q(status=Status.RUNNING, claimed_at__lt=stale_claim)
        ).values_list("pk", flat=True)
    )
    for item_id in item_ids:
        async_task(TASK, item_id, task_name=f"media-item-{item_id}")
    return len(item_ids)


# reviewing


def _review(*, item: MediaItem, user, status: str, comment: str = "") -> MediaItem:
    now = timezone.now()
    changed = MediaItem.objects.filter(pk=item.pk, status=Status.IN_REVIEW).update(
        status=status,
        reviewed_by=user,
        reviewed_at=now,
        review_comment=comment.strip(),
        updated_at=now,
    )
    item.refresh_from_db()
    if not changed:
        raise MediaRefused(
            f"This {item.get_kind_display().lower()} is "
            f"{item.get_status_display().lower()}, not in review."
        )
    # Caches of public surfaces (podcast feeds, briefings) follow the stamp.
    transaction.on_commit(live_content_touch)
    return item


def media_item_approve(*, item: MediaItem, user) -> MediaItem:
    """An Editor approves: the item is served wherever its page is public."""
    if item.stale:
        raise MediaRefused(
            "The article has changed since this was made: ask for a new one."
        )
    return _review(item=item, user=user, status=Status.APPROVED)


def media_item_reject(*, item: MediaItem, user, comment: str = "") -> MediaItem:
    return _review(item=item, user=user, status=Status.REJECTED, comment=comment)


# running


def _claim(*, item_id: int) -> tuple[MediaItem, str] | None:
    now = timezone.now()
    stale_claim = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    token = uuid.uuid4().hex
    claimed = (
        MediaItem.objects.filter(pk=item_id)
        .filter(
            Q(status=Status.QUEUED)
            | Q(status=Status.RUNNING, claimed_at__lt=stale_claim)
        )
        .update(
            status=Status.RUNNING,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
            progress=0,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return MediaItem.objects.select_related("page", "revision").get(pk=item_id), token


def media_item_run(*, item_id: int, retry_inline: bool = False) -> str:
    """Run one attempt; the item's status afterwards. Safe to repeat or duplicate.
    A failed attempt is queued again for a worker or, with `retry_inline`, retried
    here until it succeeds or runs out of attempts."""
    while True:
        status = _attempt(item_id=item_id, requeue=not retry_inline)
        if not retry_inline or status != Status.QUEUED:
            return status


def _attempt(*, item_id: int, requeue: bool) -> str:
    claim = _claim(item_id=item_id)
    if claim is None:
        status = MediaItem.objects.filter(pk=item_id).values_list("status", flat=True)
        return status.first() or "missing"
    item, token = claim
    try:
        if item.attempts > settings.GENERATION_MAX_ATTEMPTS:
            raise MediaFailed(
                "Its worker stopped before finishing too many times.", retryable=False
            )
        if item.revision is None:
            raise MediaFailed("The article revision is gone.", retryable=False)
        if item.kind == MediaItem.Kind.NARRATION:
            _narration_make(item=item, token=token)
        else:
            _clip_make(item=item, token=token)
        return Status.IN_REVIEW
    except _Lost:
        logger.warning("Media item %s lost its claim", item_id)
        return MediaItem.objects.get(pk=item_id).status
    except Exception as error:
        return _attempt_failed(item=item, token=token, error=error, requeue=requeue)


def _progress(*, item: MediaItem, token: str, percent: float) -> None:
    MediaItem.objects.filter(pk=item.pk, claim_token=token).update(
        progress=min(99, int(percent)), updated_at=timezone.now()
    )


def _cost_audio(seconds: float) -> Decimal:
    per_minute = Decimal(str(settings.GENERATION_COST_PER_AUDIO_MINUTE))
    return (per_minute * Decimal(str(seconds)) / 60).quantize(Decimal("0.000001"))


def _budget_check(*, provider_name: str) -> None:
    budget = settings.GENERATION_DAILY_AUDIO_SECONDS_BUDGET
    if provider_name in OFFLINE_SPEECH or budget <= 0:
        return
    used = audio_seconds_today()
    if used >= budget:
        raise MediaFailed(
            f"The daily speech budget ({budget:,} s) is used up: {used:,.0f} s were "
            "made today. Ask again tomorrow or raise "
            "GENERATION_DAILY_AUDIO_SECONDS_BUDGET.",
            retryable=False,
        )


def _store(name: str, data: bytes) -> str:
    return default_storage.save(name, ContentFile(data))


def _finish(*, item: MediaItem, token: str, files: list[str], **fields) -> None:
    now = timezone.now()
    page = ArticlePage.objects.filter(pk=item.page_id).first()
    stale = page is None or page.live_revision_id != item.revision_id
    finished = MediaItem.objects.filter(
        pk=item.pk, claim_token=token, status=Status.RUNNING
    ).update(
        status=Status.IN_REVIEW,
        stale=stale,
        claim_token="",
        error="",
        progress=100,
        finished_at=now,
        updated_at=now,
        **fields,
    )
    if not finished:
        for name in files:
            default_storage.delete(name)
        raise _Lost()


def _narration_make(*, item: MediaItem, token: str) -> None:
    started = time.perf_counter()
    version = item.revision.as_object()
    try:
        provider = speech_provider_get()
        _budget_check(provider_name=provider.name)
        rendered = narration_render(
            chapters=narration_script(page=version),
            provider=provider,
            audio_format=settings.GENERATION_AUDIO_FORMAT,
            progress=lambda share: _progress(
                item=item, token=token, percent=share * 95
            ),
        )
    except ProviderError as error:
        raise MediaFailed(str(error), retryable=error.retryable) from error
    stem = f"ai-media/narrations/{item.page_id}/{item.pk}-{token[:8]}"
    extension = "ogg" if rendered.mime_type == "audio/ogg" else "mp3"
    audio_name = _store(f"{stem}.{extension}", rendered.data)
    transcript_name = _store(f"{stem}.vtt", webvtt_write(rendered.cues).encode())
    _finish(
        item=item,
        token=token,
        files=[audio_name, transcript_name],
        file=audio_name,
        transcript=transcript_name,
        mime_type=rendered.mime_type,
        duration_seconds=round(rendered.duration, 3),
        chapters=rendered.chapters,
        provider=rendered.provider,
        model=rendered.model,
        voice=rendered.voice,
        audio_seconds=F("audio_seconds") + round(rendered.synthesised_seconds, 3),
        cost_estimate=F("cost_estimate") + _cost_audio(rendered.synthesised_seconds),
        timings={"narrate": round(time.perf_counter() - started, 3)},
    )


def _clip_narration(*, item: MediaItem) -> MediaItem:
    """The narration of the same revision the clip uses as sound (made if needed)."""
    narration = (
        MediaItem.objects.filter(
            page_id=item.page_id,
            kind=MediaItem.Kind.NARRATION,
            revision_id=item.revision_id,
            status__in=MediaItem.ACTIVE,
        )
        .order_by("-pk")
        .first()
    )
    if narration is None:
        narration = MediaItem.objects.create(
            page_id=item.page_id,
            kind=MediaItem.Kind.NARRATION,
            revision_id=item.revision_id,
            requested_by=item.requested_by,
        )
    if narration.status in MediaItem.UNFINISHED:
        media_item_run(item_id=narration.pk, retry_inline=True)
        narration.refresh_from_db()
    if narration.status not in (Status.IN_REVIEW, Status.APPROVED):
        raise MediaFailed(
            f"The narration the clip needs is {narration.get_status_display().lower()}"
            f"{': ' + narration.error if narration.error else '.'}",
            retryable=narration.status in MediaItem.UNFINISHED,
        )
    return narration


def _cover_bytes(version: ArticlePage) -> bytes:
    if version.hero_image is not None:
        try:
            with version.hero_image.file.open("rb") as cover:
                return cover.read()
        except (OSError, ValueError):
            logger.warning("Page %s: hero image file unreadable", version.pk)
    section = version.get_parent()
    return cover_render(title=version.title, label=section.title if section else "")


def _clip_make(*, item: MediaItem, token: str) -> None:
    started = time.perf_counter()
    version = item.revision.as_object()
    narration = _clip_narration(item=item)
    _progress(item=item, token=token, percent=30)
    with narration.transcript.open("rb") as transcript:
        cues = webvtt_read(transcript.read().decode())
    with tempfile.TemporaryDirectory(prefix="media-clip-audio-") as directory:
        audio_path = Path(directory) / Path(narration.file.name).name
        with narration.file.open("rb") as audio:
            audio_path.write_bytes(audio.read())
        rendered = clip_render(
            cover=_cover_bytes(version),
            audio_path=str(audio_path),
            title=version.title,
            key_sentences=key_sentences(narration_script(page=version)),
            cues=cues,
            max_seconds=settings.GENERATION_CLIP_MAX_SECONDS,
            size=settings.GENERATION_CLIP_SIZE,
        )
    seconds = round(time.perf_counter() - started, 3)
    name = _store(
        f"ai-media/clips/{item.page_id}/{item.pk}-{token[:8]}.mp4", rendered.data
    )
    _finish(
        item=item,
        token=token,
        files=[name],
        file=name,
        transcript=narration.transcript.name,
        mime_type="video/mp4",
        duration_seconds=round(rendered.duration, 3),
        chapters=[],
        narration=narration,
        provider="ffmpeg",
        model=f"libx264 {settings.GENERATION_CLIP_SIZE}",
        voice=narration.voice,
        render_seconds=F("render_seconds") + seconds,
        cost_estimate=F("cost_estimate")
        + Decimal(str(settings.GENERATION_COST_PER_CLIP)),
        timings={"render": seconds},
    )


def _attempt_failed(
    *, item: MediaItem, token: str, error: Exception, requeue: bool
) -> str:
    if isinstance(error, MediaFailed):
        reason, retryable = str(error), error.retryable
    elif isinstance(error, MediaToolError):
        reason, retryable = str(error), False
    else:
        logger.exception("Media item %s: unexpected error", item.pk)
        reason = f"Unexpected error: {error.__class__.__name__}: {error}"
        retryable = True
    with transaction.atomic():
        locked = MediaItem.objects.select_for_update().get(pk=item.pk)
        if locked.claim_token != token or locked.status != Status.RUNNING:
            return locked.status
        final, reason = attempt_outcome(
            attempts=locked.attempts, retryable=retryable, reason=reason
        )
        now = timezone.now()
        MediaItem.objects.filter(pk=item.pk).update(
            status=Status.FAILED if final else Status.QUEUED,
            error=reason,
            claim_token="",
            finished_at=now if final else None,
            updated_at=now,
        )
        if not final and requeue:
            _enqueue(locked)
    logger.warning("Media item %s: %s", item.pk, reason)
    return Status.FAILED if final else Status.QUEUED
