"""A short vertical clip: the cover with a slow zoom, the title and three key
sentences as captions, the narration as sound and its transcript burned in.

One ffmpeg run: a still image through zoompan (the slow pan), an ASS subtitle
file for every caption (libass renders them), H.264 + AAC in MP4 with faststart
so that browsers start playing before the end has arrived.
"""

import io
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from generation.media.ffmpeg import ffmpeg_run, media_duration
from generation.media.narration import Cue

FPS = 25
ZOOM = 0.12  # how far the pan zooms in over the whole clip


@dataclass
class RenderedClip:
    data: bytes
    duration: float


def _ass_time(seconds: float) -> str:
    centis = round(seconds * 100)
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6000)
    return f"{hours}:{minutes:02d}:{centis // 100:02d}.{centis % 100:02d}"


def _ass_text(text: str) -> str:
    return " ".join(text.replace("{", "(").replace("}", ")").split())


def subtitles_ass(
    *,
    width: int,
    height: int,
    title: str,
    key_sentences: list[str],
    cues: list[Cue],
    duration: float,
) -> str:
    """Title on top, the key sentences in turn mid-frame, the transcript below."""
    scale = width / 540
    styles = [
        ("Title", 40, "&H00FFFFFF", 8, 60),
        ("Key", 32, "&H0000E5FF", 5, 0),
        ("Subtitle", 28, "&H00FFFFFF", 2, 70),
    ]
    lines = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, OutlineColour, "
        "BackColour, Bold, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV",
    ]
    for name, size, colour, alignment, margin in styles:
        lines.append(
            f"Style: {name},DejaVu Sans,{round(size * scale)},{colour},&H00000000,"
            f"&H99000000,1,3,{round(3 * scale)},0,{alignment},{round(30 * scale)},"
            f"{round(30 * scale)},{round(margin * scale)}"
        )
    lines += [
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
        "Effect, Text",
        f"Dialogue: 0,{_ass_time(0)},{_ass_time(duration)},Title,,0,0,0,,"
        f"{_ass_text(title)}",
    ]
    if key_sentences:
        share = duration / len(key_sentences)
        for number, sentence in enumerate(key_sentences):
            lines.append(
                f"Dialogue: 0,{_ass_time(number * share)},"
                f"{_ass_time((number + 1) * share)},Key,,0,0,0,,{_ass_text(sentence)}"
            )
    for cue in cues:
        if cue.start >= duration:
            break
        lines.append(
            f"Dialogue: 1,{_ass_time(cue.start)},{_ass_time(min(cue.end, duration))},"
            f"Subtitle,,0,0,0,,{_ass_text(cue.text)}"
        )
    return "\n".join(lines) + "\n"


def _cover_vertical(cover: bytes, *, width: int, height: int) -> bytes:
    """The cover cropped to 9:16 around its centre, at the zoom's full size."""
    with Image.open(io.BytesIO(cover)) as image:
        image = image.convert("RGB")
        target = width / height
        if image.width / image.height > target:
            crop = round(image.height * target)
            left = (image.width - crop) // 2
            image = image.crop((left, 0, left + crop, image.height))
        else:
            crop = round(image.width / target)
            top = (image.height - crop) // 2
            image = image.crop((0, top, image.width, top + crop))
        # 1.5 times the output size, so the zoom stays sharp and zoompan's integer
        # steps do not make the picture shake.
        image = image.resize(
            (width * 3 // 2, height * 3 // 2), Image.Resampling.LANCZOS
        )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()


def clip_render(
    *,
    cover: bytes,
    audio_path: str,
    title: str,
    key_sentences: list[str],
    cues: list[Cue],
    max_seconds: float,
    size: str = "540x960",
) -> RenderedClip:
    width, height = (int(part) for part in size.lower().split("x"))
    duration = min(max_seconds, media_duration(audio_path))
    frames = max(1, math.ceil(duration * FPS))
    with tempfile.TemporaryDirectory(prefix="media-clip-") as directory:
        folder = Path(directory)
        (folder / "cover.jpg").write_bytes(
            _cover_vertical(cover, width=width, height=height)
        )
        (folder / "captions.ass").write_text(
            subtitles_ass(
                width=width,
                height=height,
                title=title,
                key_sentences=key_sentences,
                cues=cues,
                duration=duration,
            ),
            encoding="utf-8",
        )
        zoom = (
            f"zoompan=z='1+{ZOOM}*on/{frames}'"
            ":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
            f":d={frames}:s={width}x{height}:fps={FPS}"
        )
        fade = max(0.0, duration - 0.5)
        target = folder / "clip.mp4"
        ffmpeg_run(
            [
                "-i",
                "cover.jpg",
                "-i",
                str(Path(audio_path).resolve()),
                "-filter_complex",
                f"[0:v]{zoom},ass=captions.ass,format=yuv420p[v];"
                f"[1:a]afade=t=out:st={fade:.2f}:d=0.5[a]",
                "-map",
                "[v]",
                "-map",
                "[a]",
                "-t",
                f"{duration:.3f}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "27",
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-movflags",
                "+faststart",
                str(target),
            ],
            cwd=folder,
        )
        return RenderedClip(data=target.read_bytes(), duration=media_duration(target))
