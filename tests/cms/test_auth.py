"""API keys: hashed, revocable, scoped per endpoint; content read by setting."""

import datetime
import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cms.models import ApiKey
from tests.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db


def _client(key: str | None) -> APIClient:
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_keys_are_stored_hashed(make_api_key):
    # given
    api_key, key = make_api_key("feed:read")
    # when
    stored = ApiKey.objects.get(pk=api_key.pk)
    # then
    assert key not in stored.hashed_key
    assert key.startswith(stored.prefix + ".")
    assert ApiKey.objects.is_valid(key)


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(None, 401), (("feed:read",), 403), (("content:read",), 200)],
)
def test_content_api_scope_when_setting_requires_a_key(
    settings, make_api_key, scopes, status
):
    # given
    settings.CONTENT_API_REQUIRES_KEY = True
    ArticlePageFactory()
    key = make_api_key(*scopes)[1] if scopes is not None else None
    # when
    pages = _client(key).get("/api/v2/pages/")
    topics = _client(key).get("/api/v1/topics")
    # then
    assert pages.status_code == status
    assert topics.status_code == status
    if status != 200:
        for response in (pages, topics):
            error = response.json()["error"]
            assert error["code"] in {"not_authenticated", "permission_denied"}
            assert error["message"]


def test_no_key_error_says_which_scope_and_header(settings):
    settings.CONTENT_API_REQUIRES_KEY = True
    response = APIClient().get("/api/v1/topics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    message = response.json()["error"]["message"]
    assert "content:read" in message and "Authorization" in message


def test_wrong_scope_error_names_the_missing_scope(settings, make_api_key):
    settings.CONTENT_API_REQUIRES_KEY = True
    _, key = make_api_key("events:write")
    response = _client(key).get("/api/v1/topics")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "This API key lacks the 'content:read' scope.",
        "details": {},
    }


def test_content_is_public_by_default(settings):
    settings.CONTENT_API_REQUIRES_KEY = False
    ArticlePageFactory()
    assert APIClient().get("/api/v2/pages/").status_code == 200
    assert APIClient().get("/api/v1/topics").status_code == 200


def test_revoked_key_is_401(settings, make_api_key):
    # given: no per-process cache of verified keys
    settings.CONTENT_API_REQUIRES_KEY = True
    settings.API_KEY_CACHE_SECONDS = 0
    api_key, key = make_api_key("content:read")
    assert _client(key).get("/api/v2/pages/").status_code == 200
    # when
    api_key.revoked = True
    api_key.save()
    response = _client(key).get("/api/v2/pages/")
    # then
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_revoked_key_stops_working_within_the_cache_ttl(settings, make_api_key):
    # given: a key verified (and cached) a moment ago, with a short cache TTL
    ttl = 2.0
    settings.CONTENT_API_REQUIRES_KEY = True
    settings.API_KEY_CACHE_SECONDS = ttl
    api_key, key = make_api_key("content:read")
    assert _client(key).get("/api/v2/pages/").status_code == 200
    verified_at = time.monotonic()
    # when: it is revoked
    ApiKey.objects.filter(pk=api_key.pk).update(revoked=True)
    within_ttl = _client(key).get("/api/v2/pages/").status_code
    asked_within_ttl = time.monotonic() - verified_at < ttl
    time.sleep(max(0.0, verified_at + ttl + 0.05 - time.monotonic()))
    after_ttl = _client(key).get("/api/v2/pages/")
    # then: served from the cache at most until the TTL ends (when the machine
    # was fast enough to ask within it), refused after it
    assert within_ttl == 200 or not asked_within_ttl
    assert after_ttl.status_code == 401
    assert after_ttl.json()["error"]["message"] == "This API key has been revoked."


def test_verified_key_is_not_looked_up_again(
    settings, make_api_key, django_assert_num_queries
):
    # given
    settings.API_KEY_CACHE_SECONDS = 30
    _, key = make_api_key("feed:read")
    client = _client(key)
    client.get("/api/v1/topics")
    # when / then: a cached key costs no query
    from cms.auth import api_key_verify

    with django_assert_num_queries(0):
        assert api_key_verify(key=key).has_scope("feed:read")


def test_expired_key_is_refused_even_when_cached(settings, make_api_key):
    # given
    settings.CONTENT_API_REQUIRES_KEY = True
    settings.API_KEY_CACHE_SECONDS = 30
    api_key, key = make_api_key("content:read")
    assert _client(key).get("/api/v2/pages/").status_code == 200
    # when: the cached object's expiry date passes
    from cms.auth import api_key_verify

    cached = api_key_verify(key=key)
    cached.expiry_date = timezone.now() - datetime.timedelta(seconds=1)
    response = _client(key).get("/api/v2/pages/")
    # then
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has expired."


def test_unknown_key_is_401_even_on_public_endpoints():
    response = _client("abc.def").get("/api/v2/pages/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_current_key_endpoint_describes_the_key(make_api_key):
    # given
    _, key = make_api_key("feed:read", "events:write", name="mobile app")
    # when
    data = _client(key).get("/api/v1/key").json()
    # then
    assert data["name"] == "mobile app"
    assert data["scopes"] == ["feed:read", "events:write"]
    assert _client(None).get("/api/v1/key").status_code == 401
