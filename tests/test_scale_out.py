"""Two web servers and two worker clusters on one PostgreSQL, Redis and database.

The production shape in small: two gunicorn processes on two ports and two
django-q2 clusters consuming the same Redis queue. A publish or unpublish through
one server reaches the feeds of both within the documented bound; a promotion by
whichever cluster trains is served by both; each generation job runs once; a due
schedule runs once. Runs only on PostgreSQL with REDIS_URL set (CI's second pass).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from cms.models import ApiKey, ArticlePage
from cms.models.api_keys import SCOPES
from tests.conftest import _database_url
from tests.generation.conftest import library_committed  # noqa: F401 - fixture
from tests.recommend.scenario import world_build

# What docs/operations.md promises: a visibility change or a promotion is served by
# every process within this many seconds (stamps are checked per request; a
# promotion is picked up on the next request after the stamp moves).
CONVERGENCE_SECONDS = 5

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL")
        or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cms.settings.test",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "Q_WORKERS": "1",
    }


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def fleet(transactional_db, tmp_path):
    """Two gunicorn servers and two qclusters; yields the servers' base URLs."""
    from django_q.status import Stat

    environment = _environment()
    processes, urls = [], []
    try:
        for name in ("web-a", "web-b"):
            port = _free_port()
            log = (tmp_path / f"{name}.log").open("w")
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "cms.wsgi",
                        "--config",
                        "cms/gunicorn_conf.py",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--threads",
                        "2",
                    ],
                    cwd=settings.BASE_DIR,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for name in ("cluster-a", "cluster-b"):
            log = (tmp_path / f"{name}.log").open("w")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "qcluster"],
                    cwd=settings.BASE_DIR,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 90
        while True:
            clusters = len(Stat.get_all())
            up = sum(_answers(url) for url in urls)
            if clusters >= 2 and up == 2:
                break
            if time.monotonic() > deadline or any(
                p.poll() is not None for p in processes
            ):
                logs = "\n".join(
                    f"== {path.name}\n{path.read_text()[-1500:]}"
                    for path in sorted(Path(tmp_path).glob("*.log"))
                )
                raise RuntimeError(f"fleet did not start ({clusters} clusters)\n{logs}")
            time.sleep(0.5)
        yield urls
    finally:
        for process in processes:
            _stop(process)
        # Shown by pytest when the test failed.
        for path in sorted(Path(tmp_path).glob("*.log")):
            print(f"== {path.name}\n{path.read_text()[-3000:]}")


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _feed(url: str, key: str, reader: str) -> dict:
    response = requests.get(
        f"{url}/api/v1/feed",
        params={"reader": reader, "n": 50},
        headers={"Authorization": f"Api-Key {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _feed_ids(url: str, key: str, reader: str) -> set[int]:
    return {item["id"] for item in _feed(url, key, reader)["results"]}


def _wait_for(condition, *, seconds: float) -> float:
    """Seconds until condition() held; fails after `seconds`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not converged within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - start


class _Admin(requests.Session):
    """A logged-in admin browser: relative paths, no redirects followed."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, self.base_url + url, *args, **kwargs)


def _admin_session(url: str, username: str, password: str) -> "_Admin":
    client = _Admin(url)
    client.get("/admin/login/")
    response = client.post(
        "/admin/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:500]
    return client


def _admin_post(client: _Admin, path: str, data: dict | None = None):
    page = client.get(path)
    assert page.status_code == 200, f"{path}: {page.status_code}"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    response = client.post(
        path, data={"csrfmiddlewaretoken": token.group(1), **(data or {})}
    )
    assert response.status_code in (200, 302), f"{path}: {response.status_code}"
    return response


def test_two_servers_and_two_clusters_converge(
    fleet,
    library_committed,  # noqa: F811 - page and collection roots
    django_user_model,
):
    from django_q.models import Schedule, Success
    from django_q.tasks import async_task

    from generation.models import GenerationJob
    from generation.services import brief_create, brief_submit

    server_a, server_b = fleet
    world = world_build(
        n_topics=3, per_topic=6, n_readers=60, n_events=2500, train=False
    )
    _, key = ApiKey.objects.create_key(name="fleet", scopes=list(SCOPES))
    reader = world.readers[0].external_id

    # Promotion: with no model yet both serve trending; one cluster trains and
    # promotes, and both servers serve that version.
    assert _feed(server_a, key, reader)["model_version"] is None
    # force: this small world's model need not beat popularity to be promoted.
    async_task(
        "recommend.training.service.model_version_train", algorithm="als", force=True
    )
    _wait_for(
        lambda: _feed(server_a, key, reader)["model_version"] is not None,
        seconds=120,
    )
    promoted = _feed(server_a, key, reader)["model_version"]
    waited = _wait_for(
        lambda: _feed(server_b, key, reader)["model_version"] == promoted,
        seconds=CONVERGENCE_SECONDS,
    )
    assert waited <= CONVERGENCE_SECONDS
    trainings = Success.objects.filter(
        func="recommend.training.service.model_version_train"
    )
    assert trainings.count() == 1

    # Unpublish through server A's admin: gone from both servers' feeds.
    shown = _feed_ids(server_a, key, reader) & _feed_ids(server_b, key, reader)
    article = ArticlePage.objects.filter(pk__in=shown).first()
    assert article is not None
    django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-1")
    admin_a = _admin_session(server_a, "ops", "pw-ops-1")
    _admin_post(admin_a, f"/admin/pages/{article.pk}/unpublish/")
    for server in (server_a, server_b):
        _wait_for(
            lambda server=server: article.pk not in _feed_ids(server, key, reader),
            seconds=CONVERGENCE_SECONDS,
        )

    # Publish it again through server B's admin: back in both servers' answers.
    admin_b = _admin_session(server_b, "ops", "pw-ops-1")
    _admin_post(
        admin_b, f"/admin/bulk/wagtailcore/page/publish/?id={article.pk}&next=/admin/"
    )
    article.refresh_from_db()
    assert article.live
    for server in (server_a, server_b):
        _wait_for(
            lambda server=server: (
                requests.get(
                    f"{server}/api/v1/pages/{article.pk}/similar",
                    headers={"Authorization": f"Api-Key {key}"},
                    timeout=30,
                ).status_code
                == 200
            ),
            seconds=CONVERGENCE_SECONDS,
        )

    # Generation jobs: each claimed and run exactly once across both clusters.
    ai_pages_before = ArticlePage.objects.filter(ai_generated=True).count()
    jobs = []
    for topic in ("Sleep", "Night shifts", "Naps"):
        brief = brief_create(
            topic=topic,
            section=library_committed.section,
            keywords=["rest"],
            topics=[library_committed.topics["sleep"]],
        )
        jobs.append(brief_submit(brief=brief))
    _wait_for(
        lambda: (
            GenerationJob.objects.filter(
                pk__in=[job.pk for job in jobs], status=GenerationJob.Status.SUCCEEDED
            ).count()
            == len(jobs)
        ),
        seconds=120,
    )
    for job in jobs:
        job.refresh_from_db()
        assert ArticlePage.objects.filter(pk=job.page_id, live=False).exists()
        # A task may be delivered twice (a retry after a transient failure, the
        # sweep): the claim lets one run; the other finds the job taken.
        tasks = Success.objects.filter(name=f"generation-job-{job.pk}").count()
        assert tasks >= job.attempts >= 1
    # One draft per job, whichever cluster ran it, however often it was sent.
    ai_pages = ArticlePage.objects.filter(ai_generated=True).count()
    assert ai_pages - ai_pages_before == len(jobs)

    # A due schedule runs once, although both clusters run a scheduler.
    from django.utils import timezone

    created = time.monotonic()
    Schedule.objects.create(
        name="fleet-once",
        func="recommend.tasks.content_gap_refresh_task",
        schedule_type=Schedule.ONCE,
        next_run=timezone.now(),
        repeats=1,
    )
    _wait_for(lambda: Success.objects.filter(group="fleet-once").exists(), seconds=90)
    # Each cluster's scheduler ticks every 30 s: by then both have seen it due.
    time.sleep(max(0.0, 32 - (time.monotonic() - created)))
    assert Success.objects.filter(group="fleet-once").count() == 1
