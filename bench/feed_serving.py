"""Feed serving under load, and the in-process cost of one feed.

Run from the repository root, after bench/train_end_to_end.py has built its
full-size database (100k readers, 50k items, 5M events):

    .venv/bin/python bench/feed_serving.py \
        [--source /tmp/bench-train-100000x50000x5000000.sqlite3]

It copies that SQLite database (the source is left alone), tags every item with one
of 40 topics, makes sure a model is active, and then measures:

1. The real server: gunicorn with 2 sync workers (what production runs), DEBUG off,
   on 127.0.0.1. wrk (Debian package) drives, for a fixed time each, a trivial JSON
   endpoint (`/healthz`) and the personalised top-20 feed (`/api/v1/feed`, a random
   reader of the 100k per request, every filter on: live-only, seen and dismissed
   removed, diversity cap). Reports requests/s of both, their ratio (target >= 0.6)
   and the feed's p50/p99 latency (target p99 <= 4 x p50).
2. In process: one `feed_for_reader` call (model scoring over all 50k items,
   filtering, re-ranking, reasons, history query) against one bare implicit
   `AlternatingLeastSquares.recommend` call on the same factors with the seen filter,
   as a ratio of mean times.
Prints human lines, then one JSON line.
"""

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = (
    Path(tempfile.gettempdir()) / "bench-train-100000x50000x5000000.sqlite3"
)
TOPICS = 40
LUA = """
math.randomseed(os.time())
request = function()
  local reader = "bench-" .. math.random(0, %(readers)d - 1)
  return wrk.format("GET", "/api/v1/feed?n=20&reader=" .. reader,
                    {["Authorization"] = "Api-Key %(key)s"})
end
"""


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--in-process-calls", type=int, default=300)
    return parser.parse_args()


def _database(source: Path) -> Path:
    if not source.exists():
        sys.exit(f"{source} not found: run bench/train_end_to_end.py first")
    target = Path(tempfile.gettempdir()) / "bench-feed.sqlite3"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        # SQLite's online backup: a consistent copy even of a database in WAL
        # mode whose recent pages still sit in its -wal file.
        with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
            origin.backup(copy)
    return target


def _prepare(readers: int) -> str:
    """Topics on every item, an active model, a feed key; returns the key."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from cms.models import ApiKey, ArticlePage, Topic
    from cms.services import live_content_touch
    from recommend.models import ModelVersion
    from recommend.services.training import model_version_train

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    topics = [
        Topic.objects.get_or_create(
            slug=f"bench-topic-{index}", defaults={"name": f"Bench topic {index}"}
        )[0]
        for index in range(TOPICS)
    ]
    through = ArticlePage.topics.through
    if not through.objects.filter(topic_id=topics[0].pk).exists():
        page_ids = list(ArticlePage.objects.values_list("pk", flat=True))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {through._meta.db_table} (articlepage_id, topic_id) "
                "VALUES (%s, %s)",
                [(pk, topics[pk % TOPICS].pk) for pk in page_ids],
            )
    if not ModelVersion.objects.filter(status="active").exists():
        model_version_train(algorithm="als", force=True)
    live_content_touch()
    _, key = ApiKey.objects.create_key(name="bench feed", scopes=["feed:read"])
    return key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = _free_port()


def _server(database: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": "10000000/min",
    }
    return subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "cms.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            # Building the serving state for 50k items takes seconds on a busy
            # machine: do not let gunicorn kill a worker for it.
            "--timeout",
            "300",
        ],
        cwd=ROOT,
        env=environment,
        start_new_session=True,
    )


def _get(path: str, key: str | None = None) -> float:
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}")
    if key:
        request.add_header("Authorization", f"Api-Key {key}")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def _wrk(url: str, *, seconds: int, connections: int, script: str | None) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def percentile(name: str) -> float:
        value, unit = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": rate,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _in_process(calls: int, readers: int) -> dict:
    import numpy as np
    from django.conf import settings
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from recommend.engine.matrix import build_matrix
    from recommend.feeds import feed_for_reader
    from recommend.selectors import event_interaction_arrays
    from recommend.serving import serving_state

    settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 10**9  # measure the feed, not inserts
    state = serving_state()
    model = state.model
    built = build_matrix(
        event_interaction_arrays(), weights=settings.RECOMMEND_EVENT_WEIGHTS
    )
    bare = AlternatingLeastSquares(factors=model.item_factors.shape[1])
    bare.user_factors = model.user_factors
    bare.item_factors = model.item_factors
    rng = np.random.default_rng(7)
    chosen = rng.integers(0, readers, size=calls)
    rows = built.id_map.reader_index(np.array([int(x) for x in chosen], dtype=np.int64))
    feed_times, bare_times = [], []
    with threadpool_limits(1, "blas"):
        for number, reader_row in zip(chosen.tolist(), rows.tolist(), strict=True):
            started = time.perf_counter()
            feed_for_reader(external_id=f"bench-{number}", n=20)
            feed_times.append(time.perf_counter() - started)
            row = max(reader_row, 0)
            started = time.perf_counter()
            bare.recommend(
                row, built.matrix[row], N=20, filter_already_liked_items=True
            )
            bare_times.append(time.perf_counter() - started)
    feed_ms = 1000 * float(np.mean(feed_times))
    bare_ms = 1000 * float(np.mean(bare_times))
    return {
        "feed_ms": round(feed_ms, 3),
        "bare_implicit_ms": round(bare_ms, 3),
        "ratio": round(feed_ms / bare_ms, 2),
    }


def main() -> None:
    args = _arguments()
    database = _database(args.source)
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")
    os.environ["DEBUG"] = "false"
    # Where bench/train_end_to_end.py stored the model artifacts.
    os.environ.setdefault(
        "MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "bench-train-media")
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    key = _prepare(args.readers)
    print(f"database {database}; key ready")

    server = _server(database)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        # Each worker builds its serving state on its first feed: warm both.
        warm = [_get(f"/api/v1/feed?n=20&reader=bench-{i}", key) for i in range(40)]
        print(f"warm-up feeds: first {warm[0]:.2f} s, last {warm[-1] * 1000:.1f} ms")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % {"readers": args.readers, "key": key})
        base = f"http://127.0.0.1:{PORT}"
        trivial = _wrk(
            f"{base}/healthz",
            seconds=args.seconds,
            connections=args.connections,
            script=None,
        )
        print(f"trivial /healthz: {trivial}")
        feed = _wrk(
            f"{base}/api/v1/feed",
            seconds=args.seconds,
            connections=args.connections,
            script=script.name,
        )
        print(f"feed /api/v1/feed: {feed}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    in_process = _in_process(args.in_process_calls, args.readers)
    print(f"in process: {in_process}")
    summary = {
        "bench": "feed_serving",
        "server": "gunicorn, 2 sync workers, SQLite",
        "trivial_rps": trivial["requests_per_s"],
        "feed_rps": feed["requests_per_s"],
        "throughput_ratio": round(
            feed["requests_per_s"] / trivial["requests_per_s"], 3
        ),
        "feed_p50_ms": feed["p50_ms"],
        "feed_p99_ms": feed["p99_ms"],
        "p99_over_p50": round(feed["p99_ms"] / feed["p50_ms"], 2),
        "feed_non_2xx": feed["non_2xx"],
        "in_process": in_process,
        "targets": {"throughput_ratio": 0.6, "p99_over_p50": 4.0},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
