"""Publishes against serving: catalogue updated in place versus rebuilt, one run.

Run from the repository root (on a fresh machine too):

    .venv/bin/python bench/catalogue_updates.py          # 50k items
    .venv/bin/python bench/catalogue_updates.py --small  # 2k items
    .venv/bin/python bench/catalogue_updates.py --items 50000 --readers 5000 \
        --events 200000                                  # 50k items, fewer events

Uses bench/feed_serving.py's database, model, candidate lists and wrk (built or
installed when missing), then, for each mode (RECOMMEND_CATALOGUE_UPDATES on,
then off: a full catalogue build per change):
1. In process: the time for a process to take in one publish (update, or build).
2. Across processes: gunicorn (2 sync workers) serving; an article is published
   from this process and `/api/v1/pages/<id>/similar` polled until it answers
   200 four times in a row (both workers serve it): publish-to-visible time,
   --publishes times; then one unpublish each, polled until 404.
3. The feed under wrk (every filter on) for --seconds quietly, then for
   --seconds while a burst of --burst publishes goes out: feed p99 in both.
Prints human lines, then one JSON line: publish_to_visible_p50_ms/p99_ms,
feed_p99_ms quiet and during the burst, per mode, and their ratios.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import feed_serving  # noqa: E402


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run")
    parser.add_argument("--publishes", type=int, default=8)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--readers", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--events", type=int)
    args = parser.parse_args()
    sizes = (
        {"readers": 2_000, "items": 2_000, "events": 100_000}
        if args.small
        else {"readers": 100_000, "items": 50_000, "events": 5_000_000}
    )
    for name, value in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.cold = 0
    return args


def _publish(number: int) -> int:
    from cms.models import SectionPage, Topic
    from cms.services import article_create

    section = SectionPage.objects.get(slug="bench")
    topic = Topic.objects.get(slug=f"bench-topic-{number % feed_serving.TOPICS}")
    article = article_create(
        section=section,
        title=f"Update bench {number}: {topic.name} news",
        standfirst=f"What changed in {topic.name} today, number {number}.",
        body=[("paragraph", "<p>Words.</p>")],
        topics=[topic],
    )
    return article.pk


def _unpublish(page_id: int) -> None:
    from cms.models import ArticlePage

    ArticlePage.objects.get(pk=page_id).unpublish()


def _status(port: int, path: str, key: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Authorization", f"Api-Key {key}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _until(port: int, key: str, page_id: int, status: int) -> float:
    """Seconds until similar/<page_id> answers ``status`` four times in a row."""
    started = time.perf_counter()
    streak = 0
    while streak < 4:
        if time.perf_counter() - started > 300:
            raise TimeoutError(f"page {page_id} never answered {status}")
        if _status(port, f"/api/v1/pages/{page_id}/similar?n=1", key) == status:
            streak += 1
        else:
            streak = 0
            time.sleep(0.01)
    return time.perf_counter() - started


def _in_process(repeats: int) -> dict:
    """One process taking in a publish: update in place versus full build."""
    from django.conf import settings

    from cms.selectors import live_content_version
    from recommend.serving.state import (
        serving_state,
        serving_state_build,
        serving_state_reset,
        serving_state_update,
    )

    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()
    state = serving_state()
    updates, builds, added = [], [], []
    for number in range(repeats):
        added.append(_publish(900_000 + number))
        version = live_content_version()
        started = time.perf_counter()
        updated = serving_state_update(state, live_version=version)
        updates.append(time.perf_counter() - started)
        assert (
            updated is not None and len(updated.catalogue) == len(state.catalogue) + 1
        )
        started = time.perf_counter()
        serving_state_build(live_version=version, stamp=state.model_stamp)
        builds.append(time.perf_counter() - started)
        state = updated
    for page_id in added:
        _unpublish(page_id)
    serving_state_reset()
    return {
        "items": len(state.catalogue),
        "update_ms": round(1000 * statistics.median(updates), 1),
        "full_build_ms": round(1000 * statistics.median(builds), 1),
    }


def _mode(args, database: Path, key: str, values: dict, *, updates: bool) -> dict:
    os.environ["RECOMMEND_CATALOGUE_UPDATES"] = "true" if updates else "false"
    port = feed_serving._free_port()
    server = feed_serving._server(database, port)
    result: dict = {"catalogue_updates": updates}
    wrk = {"seconds": args.seconds, "connections": args.connections}
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                feed_serving._get(port, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for index in range(40):  # both workers build their state
            feed_serving._get(
                port, f"/api/v1/feed?n=20&reader=bench-{args.readers - 1 - index}", key
            )
        visible, gone = [], []
        serial = 1_000_000 * (2 if updates else 1)
        for number in range(args.publishes):
            page_id = _publish(serial + number)
            visible.append(_until(port, key, page_id, 200))
            _unpublish(page_id)
            gone.append(_until(port, key, page_id, 404))
        result["publish_to_visible_ms"] = {
            "p50": round(1000 * statistics.median(visible), 1),
            "p99": round(1000 * feed_serving._percentile(visible, 0.99), 1),
        }
        result["unpublish_to_gone_ms"] = {
            "p50": round(1000 * statistics.median(gone), 1),
            "p99": round(1000 * feed_serving._percentile(gone, 0.99), 1),
        }
        print(f"  publish to visible: {result['publish_to_visible_ms']}")
        print(f"  unpublish to gone: {result['unpublish_to_gone_ms']}")
        script = feed_serving._script(feed_serving.LUA_FEED, {**values, "offsets": "0"})
        url = f"http://127.0.0.1:{port}/api/v1/feed"
        result["feed_quiet"] = feed_serving._wrk(url, threads=1, script=script, **wrk)
        print(f"  feed, quiet: {result['feed_quiet']}")
        published: list[int] = []

        def burst() -> None:
            from django.db import connections

            time.sleep(1.0)
            gap = max(args.seconds - 2.0, 1.0) / args.burst
            for number in range(args.burst):
                published.append(_publish(serial + 500_000 + number))
                time.sleep(gap)
            connections.close_all()

        publisher = threading.Thread(target=burst)
        publisher.start()
        result["feed_burst"] = feed_serving._wrk(url, threads=1, script=script, **wrk)
        publisher.join()
        result["burst_publishes"] = len(published)
        print(f"  feed, {len(published)} publishes meanwhile: {result['feed_burst']}")
        for page_id in published:
            _unpublish(page_id)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    result["burst_p99_over_quiet_p99"] = round(
        result["feed_burst"]["p99_ms"] / result["feed_quiet"]["p99_ms"], 2
    )
    return result


def main() -> None:
    args = _arguments()
    feed_serving._wrk_ensure()
    database = feed_serving._database_path(args)
    import train_end_to_end as loader

    os.environ["DEBUG"] = "false"
    loader._django_setup(f"sqlite:///{database}")
    feed_serving._database_fill(args)
    key, pages = feed_serving._prepare(args)
    in_process = _in_process(repeats=5)
    print(f"in process, one publish: {in_process}")
    values = {
        "key": key,
        "first": 0,
        "last": args.readers - 1,
        "filters": feed_serving.FILTERS,
        "pages": ", ".join(str(page) for page in pages),
    }
    modes = {}
    for updates in (True, False):
        print(f"catalogue updates {'on' if updates else 'off (full builds)'}:")
        modes["updates" if updates else "full_builds"] = _mode(
            args, database, key, values, updates=updates
        )
    on, off = modes["updates"], modes["full_builds"]
    summary = {
        "bench": "catalogue_updates",
        "items": in_process["items"],
        "in_process_update_ms": in_process["update_ms"],
        "in_process_full_build_ms": in_process["full_build_ms"],
        "publish_to_visible_p50_ms": on["publish_to_visible_ms"]["p50"],
        "publish_to_visible_p99_ms": on["publish_to_visible_ms"]["p99"],
        "feed_p99_quiet_ms": on["feed_quiet"]["p99_ms"],
        "feed_p99_burst_ms": on["feed_burst"]["p99_ms"],
        "burst_p99_over_quiet_p99": on["burst_p99_over_quiet_p99"],
        "full_builds": {
            "publish_to_visible_p50_ms": off["publish_to_visible_ms"]["p50"],
            "publish_to_visible_p99_ms": off["publish_to_visible_ms"]["p99"],
            "feed_p99_quiet_ms": off["feed_quiet"]["p99_ms"],
            "feed_p99_burst_ms": off["feed_burst"]["p99_ms"],
            "burst_p99_over_quiet_p99": off["burst_p99_over_quiet_p99"],
        },
        "modes": modes,
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "targets": {"burst_p99_over_quiet_p99": 2.0},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
