"""Test settings: the base settings with fast hashing and isolated media."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _xdist_worker_isolate() -> None:
    """One Redis database and one django-q2 cluster name per pytest-xdist worker.

    Tests clear the Redis caches (FLUSHDB) and read the broker's queue, so two
    workers must never share them. The environment is changed before the base
    settings read it, once (real workers a test starts inherit the result).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or os.environ.get("TEST_XDIST_ISOLATED") == worker:
        return
    index = int(worker.removeprefix("gw") or 0)
    if os.environ.get("REDIS_URL"):
        url = urlsplit(os.environ["REDIS_URL"])
        database = int(url.path.strip("/") or 0) + index
        os.environ["REDIS_URL"] = urlunsplit(url._replace(path=f"/{database}"))
    os.environ["Q_CLUSTER_NAME"] = (
        f"{os.environ.get('Q_CLUSTER_NAME', 'content-engine')}-{worker}"
    )
    os.environ["TEST_XDIST_ISOLATED"] = worker


_xdist_worker_isolate()

from .base import *  # noqa: E402, F403
from .base import DATABASES, env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = env("MEDIA_ROOT", default="") or tempfile.mkdtemp(prefix="cms-test-media-")
WAGTAILADMIN_BASE_URL = "http://testserver"
ALLOWED_HOSTS = ["*"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that real worker processes can share the test database;
    # one per test process, so that parallel runs never share one.
    DATABASES["default"]["TEST"] = {
        "NAME": env(
            "TEST_SQLITE_PATH",
            default=str(
                Path(tempfile.gettempdir()) / f"cms-test-{os.getpid()}.sqlite3"
            ),
        )
    }
RECOMMEND_DEMO_PAGE = True
# Tests look at the serving state right after a change (threads would also hold
# database connections past a test).
RECOMMEND_STATE_REFRESH_IN_BACKGROUND = env.bool(
    "RECOMMEND_STATE_REFRESH_IN_BACKGROUND", default=False
)
RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND = env.bool(
    "RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND", default=False
)
# No background card reads racing a test's transaction (tests/recommend/test_cards.py
# turns it on where it is the subject).
RECOMMEND_CARDS_WARM = False

# Live-server threads and worker processes must not keep connections open past a
# test: PostgreSQL refuses to drop a test database that still has sessions.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# One feeds disk cache per test process (a real worker started by a test is told
# the same directory through FEEDS_CACHE_DIR).
if "DiskCache" in CACHES["feeds"]["BACKEND"]:  # noqa: F405
    CACHES["feeds"]["LOCATION"] = env("FEEDS_CACHE_DIR", default="") or str(  # noqa: F405
        Path(tempfile.gettempdir()) / f"cms-test-feeds-{os.getpid()}"
    )
