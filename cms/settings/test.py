"""Test settings: the base settings with fast hashing and isolated media."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = env("MEDIA_ROOT", default="") or tempfile.mkdtemp(prefix="cms-test-media-")
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAILAPI_BASE_URL = "http://testserver"
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

# Live-server threads and worker processes must not keep connections open past a
# test: PostgreSQL refuses to drop a test database that still has sessions.
DATABASES["default"]["CONN_MAX_AGE"] = 0
