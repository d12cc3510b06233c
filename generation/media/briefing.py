"""A reader's audio briefing: their digest read as a short programme.

Only approved words are spoken: the section intros are built from a template
and the approved titles; an article with an approved, current narration is
heard through its first chapter (title, standfirst, opening), any other
through its title and standfirst. ffmpeg cuts the chapters and encodes the
whole once; the file is cached per digest (same articles, same narrations:
same file), in Django storage.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generation.media.audio import Pcm, audio_encode, pcm_decode
from generation.media.models import MediaItem
from generation.media.selectors import media_served_by_page
from generation.providers.speech import SpeechProvider, SpeechRequest
from recommend.audiences.digests import reader_digest

PAUSE = 0.6


@dataclass
class BriefingItem:
    id: int
    title: str
    section: str
    narration: int | None  # the narration heard, if any


@dataclass
class Briefing:
    reader: str
    feed_id: str
    file_name: str
    mime_type: str
    duration: float
    cached: bool
    items: list[BriefingItem] = field(default_factory=list)
    url: str = ""  # absolute, set by the endpoint


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1:] in ".!?" else f"{text}."


def briefing_plan(*, external_id: str, n: int) -> tuple[object, list, list]:
    """The digest, the programme (("say", text) | ("play", narration)) and items."""
    digest = reader_digest(external_id=external_id, n=n)
    ids = [item.id for section in digest.sections for item in section.items]
    narrations = media_served_by_page(page_ids=ids, kind=MediaItem.Kind.NARRATION)
    plan: list[tuple[str, object]] = [("say", "Your briefing from The Daily Engine.")]
    items: list[BriefingItem] = []
    for section in digest.sections:
        titles = [item.title for item in section.items]
        count = "one story" if len(titles) == 1 else f"{len(titles)} stories"
        plan.append(("say", f"{section.topic['name']}: {count}."))
        for item in section.items:
            narration = narrations.get(item.id)
            if narration is not None:
                plan.append(("play", narration))
            else:
                plan.append(
                    ("say", f"{_sentence(item.title)} {_sentence(item.standfirst)}")
                )
            items.append(
                BriefingItem(
                    id=item.id,
                    title=item.title,
                    section=section.topic["name"],
                    narration=narration.pk if narration else None,
                )
            )
    plan.append(("say", "That is your briefing. Thank you for listening."))
    return digest, plan, items


def _plan_key(plan: list, provider: SpeechProvider, audio_format: str) -> str:
    parts = [provider.name, provider.voice, audio_format]
    for action, value in plan:
        if action == "say":
            parts.append(f"say:{value}")
        else:
            parts.append(f"play:{value.pk}:{value.file.name}")
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def _first_chapter_end(narration: MediaItem) -> float:
    chapters = narration.chapters or []
    return float(chapters[0]["end"]) if chapters else narration.duration_seconds


def briefing_render(*, plan: list, provider: SpeechProvider) -> Pcm:
    pcm = Pcm()
    for action, value in plan:
        if action == "say":
            speech = provider.synthesise(SpeechRequest(text=value))
            pcm.append(pcm_decode(speech.data))
        else:
            with value.file.open("rb") as audio:
                pcm.append(
                    pcm_decode(audio.read(), seconds=_first_chapter_end(value) + 0.2)
                )
        pcm.silence(PAUSE)
    return pcm


def reader_briefing(
    *, external_id: str, provider: SpeechProvider, n: int = 6
) -> Briefing:
    """The reader's briefing, made now or taken from the cache."""
    digest, plan, items = briefing_plan(external_id=external_id, n=n)
    audio_format = settings.GENERATION_AUDIO_FORMAT
    key = _plan_key(plan, provider, audio_format)
    extension = "ogg" if audio_format == "opus" else "mp3"
    name = f"ai-media/briefings/{key}.{extension}"
    meta_name = f"ai-media/briefings/{key}.json"
    cached = default_storage.exists(name) and default_storage.exists(meta_name)
    if cached:
        with default_storage.open(meta_name, "rb") as meta_file:
            meta = json.loads(meta_file.read())
    else:
        data, mime_type, duration = audio_encode(
            briefing_render(plan=plan, provider=provider), audio_format=audio_format
        )
        meta = {"mime_type": mime_type, "duration": round(duration, 3)}
        # Saved under the key; a concurrent request may have saved it first.
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(data))
        if not default_storage.exists(meta_name):
            default_storage.save(meta_name, ContentFile(json.dumps(meta).encode()))
    return Briefing(
        reader=digest.reader,
        feed_id=digest.feed_id,
        file_name=name,
        mime_type=meta["mime_type"],
        duration=meta["duration"],
        cached=cached,
        items=items,
    )
