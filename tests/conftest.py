"""Shared fixtures: API clients, API keys, a clean shared cache, a real worker."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from rest_framework.test import APIClient

from cms.auth import api_key_cache_clear
from cms.models import ApiKey
from cms.models.api_keys import SCOPES
from recommend.serving.impressions import impressions_discard
from recommend.serving.trending import trending_reset


@pytest.fixture(autouse=True)
def _clear_caches():
    # A Redis shared cache outlives a test's transaction, so start each test clean;
    # the database cache lives in the test transaction and is rolled back anyway.
    caches["default"].clear()
    if not isinstance(caches["shared"], DatabaseCache):
        caches["shared"].clear()
    caches["feeds"].clear()
    api_key_cache_clear()
    impressions_discard()
    trending_reset()  # per-process counts: one test's events are not another's
    yield


@pytest.fixture(autouse=True)
def _no_event_snapshot_between_tests():
    """Test databases reuse event ids; one test's snapshot is not another's."""
    yield
    from recommend.events.snapshot import event_snapshot_discard

    event_snapshot_discard()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_api_key(db):
    def make(*scopes: str, name: str = "test key") -> tuple[ApiKey, str]:
        return ApiKey.objects.create_key(name=name, scopes=list(scopes))

    return make


@pytest.fixture
def keyed_client(make_api_key):
    """An API client whose key carries the given scopes (all of them by default)."""

    def make(*scopes: str) -> APIClient:
        _, key = make_api_key(*(scopes or SCOPES))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client

    return make


def _database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{settings_dict['NAME']}"


@pytest.fixture
def q_worker(transactional_db, settings):
    """A real django-q2 cluster (`manage.py qcluster`) on the test database.

    Yields once the cluster has reported itself, and stops it afterwards.
    """
    from django.db import connection
    from django_q.status import Stat

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cms.settings.test",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "Q_WORKERS": "1",
        "FEEDS_CACHE_DIR": str(settings.CACHES["feeds"]["LOCATION"]),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    try:
        while not Stat.get_all():
            if process.poll() is not None:
                raise RuntimeError(
                    f"qcluster exited: {process.stderr.read().decode()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError("qcluster did not report within 60 s")
            time.sleep(0.25)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
