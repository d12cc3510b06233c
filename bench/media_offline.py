"""AI media offline: seconds of narration made per CPU second, and clip render time.

Run from the repository root:

    .venv/bin/python bench/media_offline.py [--articles 5] [--clips 2]

It migrates a throwaway SQLite database in a temporary directory (deleted at the
end) and creates `--articles` demo articles (text only). Then, in one run:

  (a) narration: each article is narrated inline by the job's own code
      (`media_request` + `media_item_run`: espeak-ng per paragraph, ffmpeg
      decode, join, loudnorm, MP3, WebVTT, storage). CPU time counts this
      process and its children (espeak-ng, ffmpeg), from getrusage;
  (b) baseline: bare espeak-ng reading the same text (title, standfirst, body)
      in one process to a WAV, no encoding: what the synthesiser alone costs;
  (c) clips: `--clips` of the narrated articles rendered (540x960, 30 s at
      most: zoompan, libass captions, x264 veryfast, AAC), wall and CPU time.

Prints human lines, then one JSON line.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _django_setup(directory: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
            "DATABASE_URL": f"sqlite:///{directory / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(directory / "media"),
            "DEBUG": "false",
            "GENERATION_SPEECH_PROVIDER": "espeak",
            "GENERATION_CLIP_MAX_SECONDS": "30",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)


def _articles(count: int) -> list:
    from django.utils.html import escape

    from cms.demo import demo_articles_read
    from cms.services import article_create, home_page_ensure, section_ensure

    home = home_page_ensure()
    section = section_ensure(home=home, slug="bench", title="Bench")
    pages = []
    for record in demo_articles_read()[:count]:
        body = [
            ("paragraph", f"<p>{escape(block['text'])}</p>")
            if block["type"] == "paragraph"
            else ("heading", block["text"])
            for block in record["body"]
            if block["type"] in ("paragraph", "heading")
        ]
        pages.append(
            article_create(
                section=section,
                slug=record["slug"],
                title=record["title"],
                standfirst=record["standfirst"],
                body=body,
            )
        )
    return pages


def _bare_espeak(pages: list, directory: Path) -> tuple[float, float]:
    """(audio seconds, CPU seconds) of espeak-ng alone on the same texts."""
    from generation.media.script import narration_script

    audio = cpu = 0.0
    for page in pages:
        text = "\n".join(
            paragraph
            for chapter in narration_script(page=page)
            for paragraph in chapter.paragraphs
        )
        target = directory / "bare.wav"
        started = _cpu()
        subprocess.run(
            ["espeak-ng", "-b", "1", "-v", "en-us", "-s", "165", "-w", str(target)],
            input=text.encode(),
            check=True,
        )
        cpu += _cpu() - started
        with wave.open(str(target)) as reader:
            audio += reader.getnframes() / reader.getframerate()
    return audio, cpu


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--articles", type=int, default=5)
    arguments.add_argument("--clips", type=int, default=2)
    options = arguments.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="media-bench-"))
    try:
        _django_setup(directory)
        from generation.media.models import MediaItem
        from generation.media.services import media_item_run, media_request

        pages = _articles(options.articles)
        narrated, narration_cpu, narration_wall = 0.0, 0.0, 0.0
        for page in pages:
            cpu, wall = _cpu(), time.perf_counter()
            item = media_request(page=page, kind="narration", enqueue=False)
            media_item_run(item_id=item.pk, retry_inline=True)
            narration_cpu += _cpu() - cpu
            narration_wall += time.perf_counter() - wall
            item.refresh_from_db()
            assert item.status == MediaItem.Status.IN_REVIEW, item.error
            narrated += item.duration_seconds
        print(
            f"narration: {len(pages)} articles, {narrated:.1f} s of audio in "
            f"{narration_cpu:.1f} CPU s ({narration_wall:.1f} s wall)"
        )
        bare_audio, bare_cpu = _bare_espeak(pages, directory)
        print(f"bare espeak-ng: {bare_audio:.1f} s of audio in {bare_cpu:.1f} CPU s")
        clip_walls, clip_cpus, clip_seconds = [], [], []
        for page in pages[: options.clips]:
            cpu, wall = _cpu(), time.perf_counter()
            item = media_request(page=page, kind="clip", enqueue=False)
            media_item_run(item_id=item.pk, retry_inline=True)
            clip_cpus.append(_cpu() - cpu)
            clip_walls.append(time.perf_counter() - wall)
            item.refresh_from_db()
            assert item.status == MediaItem.Status.IN_REVIEW, item.error
            clip_seconds.append(item.duration_seconds)
            print(
                f"clip of page {page.pk}: {item.duration_seconds:.1f} s video "
                f"rendered in {clip_walls[-1]:.1f} s wall, {clip_cpus[-1]:.1f} CPU s"
            )
        pipeline_rate = narrated / narration_cpu
        bare_rate = bare_audio / bare_cpu
        result = {
            "articles": len(pages),
            "audio_seconds": round(narrated, 1),
            "audio_seconds_per_cpu_second": round(pipeline_rate, 2),
            "bare_espeak_audio_seconds_per_cpu_second": round(bare_rate, 2),
            "ratio_pipeline_to_bare": round(pipeline_rate / bare_rate, 3),
            "narration_wall_seconds": round(narration_wall, 1),
            "clips": len(clip_walls),
            "clip_video_seconds": [round(value, 1) for value in clip_seconds],
            "clip_render_wall_seconds_median": round(statistics.median(clip_walls), 1)
            if clip_walls
            else None,
            "clip_render_wall_seconds_max": round(max(clip_walls), 1)
            if clip_walls
            else None,
            "clip_render_cpu_seconds_median": round(statistics.median(clip_cpus), 1)
            if clip_cpus
            else None,
            "load_average": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
