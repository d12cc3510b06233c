"""Real django-q2 clusters for fault tests: started, waited on, killed."""

import os
import signal
import subprocess
import sys
import time

from django.db import connection
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from tests.conftest import _database_url

# Small bounds for the tests; production defaults are in docs/reliability.md.
FAULT_ENV = {"Q_TIMEOUT": "20", "Q_RETRY": "25", "GENERATION_JOB_LEASE_SECONDS": "4"}


def cluster_start(settings, **env) -> subprocess.Popen:
    """`manage.py qcluster` in its own process group, on the test database."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cms.settings.test",
            "DATABASE_URL": _database_url(connection.settings_dict),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "FEEDS_CACHE_DIR": str(settings.CACHES["feeds"]["LOCATION"]),
            "Q_WORKERS": "1",
            **FAULT_ENV,
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(condition, *, seconds: float, what: str, every: float = 0.25):
    """The first truthy value of ``condition()``, or TimeoutError naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what} not within {seconds} s")


def cluster_stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """Signal the whole cluster (master and workers); SIGKILL after 20 s."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def queued_tasks() -> list[dict]:
    """The task packages waiting in the broker (ORM or Redis), oldest first."""
    broker = get_broker()
    if isinstance(broker, ORM):
        packages = [package.payload for package in OrmQ.objects.order_by("id")]
    else:
        packages = broker.connection.lrange(broker.list_key, 0, -1)
    return [SignedPackage.loads(package) for package in packages]


def queue_purge() -> None:
    """Empty the broker's queue: a Redis queue outlives a test's transaction."""
    get_broker().purge_queue()
