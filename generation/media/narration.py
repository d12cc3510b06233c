"""Reading chapters aloud: one speech request per paragraph, joined and encoded,
with chapter times and WebVTT cues (per sentence, timed within their paragraph
by length)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from generation.media.audio import Pcm, audio_encode, pcm_decode
from generation.media.script import ScriptChapter, sentences_split
from generation.providers.speech import SpeechProvider, SpeechRequest

PARAGRAPH_PAUSE = 0.35
CHAPTER_PAUSE = 0.8


@dataclass
class Cue:
    start: float
    end: float
    text: str


@dataclass
class RenderedAudio:
    data: bytes
    mime_type: str
    duration: float  # of the encoded file
    synthesised_seconds: float  # speech the provider made (what it may charge for)
    provider: str
    model: str
    voice: str
    chapters: list[dict] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)


def text_chunks(text: str, *, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at sentence ends."""
    chunks: list[str] = []
    for sentence in sentences_split(text) or [text]:
        while len(sentence) > limit:
            chunks.append(sentence[:limit])
            sentence = sentence[limit:]
        if chunks and len(chunks[-1]) + 1 + len(sentence) <= limit:
            chunks[-1] = f"{chunks[-1]} {sentence}"
        else:
            chunks.append(sentence)
    return chunks


def _timed_cues(text: str, *, start: float, seconds: float) -> list[Cue]:
    sentences = sentences_split(text) or [text]
    weights = [len(sentence) + 8 for sentence in sentences]
    total, cues, at = sum(weights), [], start
    for sentence, weight in zip(sentences, weights, strict=True):
        length = seconds * weight / total
        cues.append(Cue(start=at, end=at + length, text=sentence))
        at += length
    return cues


def chapters_speak(
    *,
    chapters: list[ScriptChapter],
    provider: SpeechProvider,
    progress: Callable[[float], None] = lambda share: None,
) -> tuple[Pcm, list[dict], list[Cue], str, str]:
    """The chapters as one PCM track: (pcm, chapter times, cues, model, voice)."""
    pcm, cues, times = Pcm(), [], []
    total = sum(len(chapter.paragraphs) for chapter in chapters) or 1
    done = 0
    model, voice = provider.model, provider.voice
    for number, chapter in enumerate(chapters):
        if number:
            pcm.silence(CHAPTER_PAUSE)
        start = pcm.seconds
        for paragraph in chapter.paragraphs:
            for chunk in text_chunks(paragraph, limit=provider.max_characters):
                speech = provider.synthesise(SpeechRequest(text=chunk))
                model, voice = speech.model, speech.voice
                piece = pcm_decode(speech.data)
                cues.extend(
                    _timed_cues(chunk, start=pcm.seconds, seconds=piece.seconds)
                )
                pcm.append(piece)
            pcm.silence(PARAGRAPH_PAUSE)
            done += 1
            progress(done / total)
        times.append(
            {
                "title": chapter.title,
                "start": round(start, 3),
                "end": round(pcm.seconds, 3),
            }
        )
    return pcm, times, cues, model, voice


def narration_render(
    *,
    chapters: list[ScriptChapter],
    provider: SpeechProvider,
    audio_format: str,
    progress: Callable[[float], None] = lambda share: None,
) -> RenderedAudio:
    pcm, times, cues, model, voice = chapters_speak(
        chapters=chapters, provider=provider, progress=progress
    )
    data, mime_type, duration = audio_encode(pcm, audio_format=audio_format)
    return RenderedAudio(
        data=data,
        mime_type=mime_type,
        duration=duration,
        synthesised_seconds=pcm.seconds,
        provider=provider.name,
        model=model,
        voice=voice,
        chapters=times,
        cues=cues,
    )


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def webvtt_write(cues: list[Cue]) -> str:
    """The cues as a WebVTT transcript."""
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(cues, start=1):
        text = cue.text.replace("-->", "→")
        lines += [
            str(number),
            f"{_timestamp(cue.start)} --> {_timestamp(cue.end)}",
            text,
            "",
        ]
    return "\n".join(lines)


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.strip().split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def webvtt_read(text: str) -> list[Cue]:
    """The cues of a WebVTT transcript written by `webvtt_write`."""
    cues: list[Cue] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line.strip()]
        timing = next((n for n, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = lines[timing].split("-->")
        cues.append(
            Cue(
                start=_seconds(start),
                end=_seconds(end.split()[0]),
                text=" ".join(lines[timing + 1 :]),
            )
        )
    return cues
