"""Shared fixtures: API clients, API keys and a clean shared cache."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from rest_framework.test import APIClient

from cms.models import ApiKey
from cms.models.api_keys import SCOPES


@pytest.fixture(autouse=True)
def _clear_caches():
    # A Redis shared cache outlives a test's transaction, so start each test clean;
    # the database cache lives in the test transaction and is rolled back anyway.
    caches["default"].clear()
    if not isinstance(caches["shared"], DatabaseCache):
        caches["shared"].clear()
    yield


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
