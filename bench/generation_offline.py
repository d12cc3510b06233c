"""Generation: offline draft time, and the job system's overhead with a real worker.

Run from the repository root:

    .venv/bin/python bench/generation_offline.py [--drafts 20] [--worker-jobs 10]

It migrates a throwaway SQLite database in a temporary directory (deleted at the
end) and loads the 104 demo articles (text only, no covers; about 10 s). Then:

  (a) offline drafts: `--drafts` briefs, one per demo topic, each run inline
      with `generation_job_run` and the offline providers (composer text and a
      Pillow cover): the whole job, from claim to a saved draft in "AI review";
  (b) the job system: a real `manage.py qcluster` (one worker, ORM broker) on the
      same database; `--worker-jobs` briefs are submitted one at a time, each
      waited for. Overhead = (job finished_at - created_at) - the pipeline's own
      time measured inside the worker: the broker hand-off, the claim and the
      finishing writes. One warm-up job is not counted.

Prints human lines, then one JSON line.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=20)
    parser.add_argument("--worker-jobs", type=int, default=10)
    return parser.parse_args()


def _django_setup(directory: Path) -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
        "DATABASE_URL": f"sqlite:///{directory / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(directory / "media"),
        "DEBUG": "false",  # DEBUG would keep every query in memory
        "GENERATION_TEXT_PROVIDER": "composer",
        "GENERATION_IMAGE_PROVIDER": "cover",
        "Q_WORKERS": "1",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    return env


def _articles_load() -> int:
    """The demo articles as live pages, without covers (retrieval reads text)."""
    from django.utils.html import escape

    from cms.demo import DEMO_DATA_DIR, demo_articles_read
    from cms.services import (
        article_create,
        home_page_ensure,
        section_ensure,
        topic_ensure,
    )

    home = home_page_ensure()
    sections = {
        record["slug"]: section_ensure(
            home=home, slug=record["slug"], title=record["title"]
        )
        for record in json.loads((DEMO_DATA_DIR / "sections.json").read_text())
    }
    topics = {
        record["slug"]: topic_ensure(name=record["name"], slug=record["slug"])
        for record in json.loads((DEMO_DATA_DIR / "topics.json").read_text())
    }
    records = demo_articles_read()
    for record in records:
        body = [
            ("paragraph", f"<p>{escape(block['text'])}</p>")
            if block["type"] == "paragraph"
            else ("heading", block["text"])
            for block in record["body"]
            if block["type"] in ("paragraph", "heading")
        ]
        article_create(
            section=sections[record["section"]],
            slug=record["slug"],
            title=record["title"],
            standfirst=record["standfirst"],
            body=body,
            topics=[topics[slug] for slug in record["topics"] if slug in topics],
        )
    return len(records)


def _briefs(count: int) -> list:
    from cms.demo import DEMO_DATA_DIR
    from cms.models import SectionPage, Topic
    from generation.services import brief_create

    records = json.loads((DEMO_DATA_DIR / "topics.json").read_text())
    sections = {section.slug: section for section in SectionPage.objects.all()}
    briefs = []
    for number in range(count):
        record = records[number % len(records)]
        briefs.append(
            brief_create(
                topic=record["name"],
                section=sections[record["section"]],
                topics=[Topic.objects.get(slug=record["slug"])],
                # Repeated topics take another angle, as `generate --count` does.
                angle="" if number < len(records) else "what has changed recently",
                origin="bench",
            )
        )
    return briefs


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _offline_drafts(count: int) -> dict:
    from generation.models import GenerationJob
    from generation.services import brief_submit, generation_job_run

    walls, pipelines, steps = [], [], {}
    for brief in _briefs(count):
        job = brief_submit(brief=brief, enqueue=False)
        started = time.perf_counter()
        status = generation_job_run(job_id=job.pk)
        walls.append(time.perf_counter() - started)
        job = GenerationJob.objects.get(pk=job.pk)
        if status != "succeeded":
            raise SystemExit(f"offline draft failed: {job.error}")
        pipelines.append(job.timings["pipeline"])
        for step in ("retrieve", "write", "media", "check", "save"):
            steps.setdefault(step, []).append(job.timings[step])
    return {
        "drafts": count,
        "draft_median_s": statistics.median(walls),
        "draft_p90_s": _percentile(walls, 0.9),
        "pipeline_median_s": statistics.median(pipelines),
        "step_median_s": {step: statistics.median(v) for step, v in steps.items()},
    }


def _worker_start(env: dict) -> subprocess.Popen:
    from django_q.status import Stat

    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not Stat.get_all():
        if process.poll() is not None:
            raise SystemExit(f"qcluster exited: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            raise SystemExit("qcluster did not report within 60 s")
        time.sleep(0.1)
    return process


def _worker_stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _through_worker(env: dict, count: int) -> dict:
    from generation.models import GenerationJob
    from generation.services import brief_submit

    process = _worker_start(env)
    overheads, pipelines, round_trips = [], [], []
    try:
        for number, brief in enumerate(_briefs(count + 1)):
            started = time.perf_counter()
            job = brief_submit(brief=brief)  # enqueued on commit, i.e. now
            deadline = time.monotonic() + 120
            while True:
                job.refresh_from_db()
                if job.is_finished:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"job {job.pk} did not finish within 120 s")
                time.sleep(0.005)
            seen = time.perf_counter() - started
            if job.status != GenerationJob.Status.SUCCEEDED:
                raise SystemExit(f"worker job failed: {job.error}")
            if number == 0:
                continue  # warm-up: the worker's first imports
            total = (job.finished_at - job.created_at).total_seconds()
            pipeline = job.timings["pipeline"]
            overheads.append(total - pipeline)
            pipelines.append(pipeline)
            round_trips.append(seen)
    finally:
        _worker_stop(process)
    return {
        "worker_jobs": count,
        "overhead_median_s": statistics.median(overheads),
        "overhead_p90_s": _percentile(overheads, 0.9),
        "worker_pipeline_median_s": statistics.median(pipelines),
        "submit_to_seen_median_s": statistics.median(round_trips),
    }


def main() -> None:
    arguments = _arguments()
    directory = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    try:
        env = _django_setup(directory)
        started = time.perf_counter()
        articles = _articles_load()
        print(
            f"loaded {articles} live articles in {time.perf_counter() - started:.1f} s"
        )
        offline = _offline_drafts(arguments.drafts)
        steps = ", ".join(
            f"{step} {seconds * 1000:.0f}"
            for step, seconds in offline["step_median_s"].items()
        )
        print(
            f"offline draft (text + cover, saved in review), {offline['drafts']} "
            f"drafts: median {offline['draft_median_s']:.3f} s, "
            f"p90 {offline['draft_p90_s']:.3f} s"
        )
        print(f"  median per step (ms): {steps}")
        worker = _through_worker(env, arguments.worker_jobs)
        print(
            f"job system overhead with a real worker, {worker['worker_jobs']} jobs: "
            f"median {worker['overhead_median_s']:.3f} s, "
            f"p90 {worker['overhead_p90_s']:.3f} s "
            f"(pipeline in the worker: median "
            f"{worker['worker_pipeline_median_s']:.3f} s; submit to seen done: "
            f"{worker['submit_to_seen_median_s']:.3f} s)"
        )
        result = {
            "articles": articles,
            **{key: value for key, value in offline.items() if key != "step_median_s"},
            "step_median_s": offline["step_median_s"],
            **worker,
        }
        print(json.dumps({key: _rounded(value) for key, value in result.items()}))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


if __name__ == "__main__":
    main()
