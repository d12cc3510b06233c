"""Soak: mixed feed, events, content and generation traffic against gunicorn + a worker.

    .venv/bin/python bench/soak.py [--seconds 300] [--clients 4]

Builds a fresh database (SQLite in a temporary directory, or --database-url),
with synthetic articles, simulated readers and a trained model, then starts
gunicorn (2 sync workers, DEBUG off) and a django-q2 cluster on 127.0.0.1 and
drives them for --seconds with --clients threads: personalised feeds (50%),
event batches (25%), Wagtail API v2 listings and pages (20%) and AI briefs
(5%, drafted by the offline composer in the worker). Every 5 s it samples the
resident memory (RSS) of the web and worker process groups.

Pass criteria (exit 1 otherwise): 0 errors (5xx, connection failures, or a
refused event), 0 lost events (events accepted == events stored), every brief's
job finished, and memory flat (last minute's RSS within 1.5x the first's).
Prints human lines, then one JSON line.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = uuid.uuid4().hex[:8]
READER_PREFIX = f"soak-{RUN}-"
EVENT_TYPES = ("view", "read", "like", "dismiss")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--readers", type=int, default=2_000)
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(database_url: str, media: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": "10000000/min",
        "Q_CLUSTER_NAME": f"soak-{RUN}",
        "Q_WORKERS": "1",
        "GENERATION_TEXT_PROVIDER": "composer",
        "GENERATION_IMAGE_PROVIDER": "cover",
    }


def _prepare(environment: dict, *, articles: int) -> tuple[str, int, list[int]]:
    """Migrate, content, readers, a model; returns (key, section id, page ids)."""
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from cms.demo import demo_synthetic_add
    from cms.models import ApiKey
    from cms.models.api_keys import SCOPES
    from cms.selectors import article_live_ids
    from cms.services import home_page_ensure, section_ensure, topic_ensure

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    home = home_page_ensure()
    section = section_ensure(home=home, slug="news", title="News", intro="")
    for name in ("Science", "Cities", "Music", "Food"):
        topic_ensure(name=name)
    demo_synthetic_add(count=articles)
    call_command("simulate_readers", readers=500, events=20_000, verbosity=0)
    call_command("train", verbosity=0)
    _, key = ApiKey.objects.create_key(name=f"soak {RUN}", scopes=list(SCOPES))
    return key, section.pk, sorted(article_live_ids())


def _start(command: list[str], environment: dict) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _group_rss_mb(group: int) -> float:
    """Resident memory of every process in a process group, in MB."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) != group:  # pgrp
                continue
            total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # rss pages
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e6


class Traffic:
    """Client threads' shared tallies."""

    def __init__(self, *, port: int, key: str, section: int, pages: list[int]):
        self.port, self.key, self.section, self.pages = port, key, section, pages
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.events_sent = self.events_accepted = 0
        self.briefs: list[int] = []
        self.last_brief = 0.0

    def request(self, kind: str, method: str, path: str, body=None) -> dict | None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Api-Key {self.key}"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = response.status
        except OSError as exc:
            with self.lock:
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return None
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
            if status >= 500 or status not in (200, 202):
                self.errors.append(f"{kind}: HTTP {status}: {data[:200]!r}")
                return None
        return json.loads(data) if data else {}

    def one(self, generator: random.Random, number: int) -> None:
        roll = generator.random()
        if roll < 0.5:
            reader = f"{READER_PREFIX}{generator.randrange(2_000)}"
            self.request("feed", "GET", f"/api/v1/feed?reader={reader}&n=20")
        elif roll < 0.75:
            self._events(generator, number)
        elif roll < 0.95:
            if generator.random() < 0.5:
                self.request("content", "GET", "/api/v2/pages/?limit=20")
            else:
                page = generator.choice(self.pages)
                self.request("content", "GET", f"/api/v2/pages/{page}/")
        else:
            self._brief(generator)

    def _events(self, generator: random.Random, number: int) -> None:
        events = [
            {
                "event_id": f"{RUN}-{threading.get_ident()}-{number}-{position}",
                "reader": f"{READER_PREFIX}{generator.randrange(2_000)}",
                "page": generator.choice(self.pages),
                "type": generator.choice(EVENT_TYPES),
                "value": float(generator.randrange(5, 120)),
            }
            for position in range(10)
        ]
        with self.lock:
            self.events_sent += len(events)
        answer = self.request("events", "POST", "/api/v1/events", {"events": events})
        if answer is None:
            return
        with self.lock:
            self.events_accepted += answer["accepted"]
            if answer["rejected"] or answer["duplicates"]:
                self.errors.append(f"events: refused {answer['rejected'][:2]}")

    def _brief(self, generator: random.Random) -> None:
        with self.lock:  # at most one brief every 10 s: drafting is heavy work
            if time.monotonic() - self.last_brief < 10:
                return
            self.last_brief = time.monotonic()
        body = {
            "topic": generator.choice(("Science", "Cities", "Music", "Food")),
            "section": self.section,
            "source_pages": generator.sample(self.pages, 2),
        }
        answer = self.request("generation", "POST", "/api/v1/briefs", body)
        if answer is not None:
            with self.lock:
                self.briefs.append(answer["job"])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    arguments = _arguments()
    directory = Path(tempfile.mkdtemp(prefix="soak-"))
    database_url = arguments.database_url or f"sqlite:///{directory / 'soak.sqlite3'}"
    environment = _environment(database_url, directory / "media")
    print(f"preparing {database_url} ...", flush=True)
    key, section, pages = _prepare(environment, articles=arguments.articles)
    port = _free_port()
    web = _start(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "cms.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
        ],
        environment,
    )
    worker = _start([sys.executable, "manage.py", "qcluster"], environment)
    traffic = Traffic(port=port, key=key, section=section, pages=pages)
    memory: dict[str, list[tuple[float, float]]] = {"web": [], "worker": []}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        traffic.request("warm-up", "GET", "/healthz")
        traffic.latencies.clear()
        started = time.monotonic()
        end = started + arguments.seconds

        def client(seed: int) -> None:
            generator = random.Random(seed)
            number = 0
            while time.monotonic() < end:
                traffic.one(generator, number)
                number += 1

        threads = [
            threading.Thread(target=client, args=(seed,), daemon=True)
            for seed in range(arguments.clients)
        ]
        for thread in threads:
            thread.start()
        while time.monotonic() < end:
            elapsed = time.monotonic() - started
            memory["web"].append((elapsed, _group_rss_mb(web.pid)))
            memory["worker"].append((elapsed, _group_rss_mb(worker.pid)))
            time.sleep(5)
        for thread in threads:
            thread.join(timeout=120)
        # Let the worker finish the briefs' drafts.
        from generation.models import GenerationJob

        drain = time.monotonic() + 120
        while time.monotonic() < drain:
            jobs = GenerationJob.objects.filter(pk__in=traffic.briefs)
            if all(job.is_finished for job in jobs):
                break
            time.sleep(1)
        jobs = list(GenerationJob.objects.filter(pk__in=traffic.briefs))
    finally:
        _stop(web)
        _stop(worker)

    from recommend.models import Event

    stored = Event.objects.filter(reader__external_id__startswith=READER_PREFIX).count()
    lost = traffic.events_accepted - stored
    all_latencies = [value for values in traffic.latencies.values() for value in values]
    window = max(1, min(len(memory["web"]) // 5, 12))  # about the first/last minute

    def growth(samples: list[tuple[float, float]]) -> float:
        values = [value for _, value in samples]
        first = sum(values[:window]) / window
        last = sum(values[-window:]) / window
        return round(last / first, 3) if first else 0.0

    result = {
        "bench": "soak",
        "seconds": arguments.seconds,
        "clients": arguments.clients,
        "requests": len(all_latencies),
        "requests_per_second": round(len(all_latencies) / arguments.seconds, 1),
        "errors": len(traffic.errors),
        "error_samples": traffic.errors[:5],
        "events_sent": traffic.events_sent,
        "events_accepted": traffic.events_accepted,
        "events_stored": stored,
        "events_lost": lost,
        "briefs": len(jobs),
        "briefs_succeeded": sum(job.status == "succeeded" for job in jobs),
        "p50_ms": round(_percentile(all_latencies, 0.5) * 1000, 1),
        "p99_ms": round(_percentile(all_latencies, 0.99) * 1000, 1),
        "p99_ms_by_kind": {
            kind: round(_percentile(values, 0.99) * 1000, 1)
            for kind, values in sorted(traffic.latencies.items())
        },
        "web_rss_mb": [round(value) for _, value in memory["web"][:: max(1, window)]],
        "worker_rss_mb": [
            round(value) for _, value in memory["worker"][:: max(1, window)]
        ],
        "web_rss_growth": growth(memory["web"]),
        "worker_rss_growth": growth(memory["worker"]),
    }
    passed = (
        result["errors"] == 0
        and lost == 0
        and traffic.events_sent == stored
        and result["briefs_succeeded"] == result["briefs"]
        and result["web_rss_growth"] <= 1.5
        and result["worker_rss_growth"] <= 1.5
    )
    result["passed"] = passed
    print(
        f"{result['requests']} requests in {arguments.seconds} s, "
        f"{result['errors']} errors, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms"
    )
    print(
        f"events: {traffic.events_sent} sent, {traffic.events_accepted} accepted, "
        f"{stored} stored; briefs {result['briefs_succeeded']}/{result['briefs']}"
    )
    print(
        f"RSS growth: web x{result['web_rss_growth']}, "
        f"worker x{result['worker_rss_growth']}"
    )
    print(json.dumps(result))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
