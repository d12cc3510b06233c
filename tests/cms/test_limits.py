"""Hostile input to any API is a JSON 4xx in the project's shape, never a 500."""

import json

import pytest
from rest_framework.test import APIClient

from cms.auth import ApiKeyThrottle
from cms.limits import MAX_ID, MAX_JSON_DEPTH, MAX_OFFSET
from tests.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db

BEYOND_64_BITS = [MAX_ID + 1, 2**64, 2**70, 10**30]
SEARCH_SYNTAX = ['"unbalanced', 'a "b', "(", "a AND", "*", "^x", "NEAR(a b", 'x:"']


@pytest.fixture
def client(keyed_client) -> APIClient:
    client = keyed_client()
    client.raise_request_exception = False
    return client


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def _post_json(client: APIClient, url: str, body: str):
    return client.generic("POST", url, body, content_type="application/json")


@pytest.mark.parametrize("number", BEYOND_64_BITS)
@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/pages/{}/similar",
        "/api/v1/pages/{}/performance",
        "/api/v1/jobs/{}",
        "/api/v2/pages/{}/",
        "/api/v2/images/{}/",
    ],
)
def test_ids_beyond_64_bits_in_paths_are_json_404(client, template, number):
    error = _error(client.get(template.format(number)), 404)
    assert error["code"] == "not_found"


@pytest.mark.parametrize("number", BEYOND_64_BITS)
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/jobs?brief={}",
        "/api/v2/pages/?id={}",
        "/api/v2/pages/?child_of={}",
        "/api/v2/pages/?offset={}",
        "/api/v2/pages/?limit={}",
        "/api/v1/feed?reader=r&n={}",
    ],
)
def test_ids_beyond_64_bits_in_query_strings_are_json_400(client, url, number):
    error = _error(client.get(url.format(number)), 400)
    assert error["code"] == "invalid_query"


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "x", "section": 2**70},
        {"topic": "x", "section": 1, "source_pages": [2**64]},
        {"topic": "x", "section": -(2**70)},
    ],
)
def test_ids_beyond_64_bits_in_bodies_are_json_400(client, body):
    error = _error(client.post("/api/v1/briefs", body, format="json"), 400)
    assert error["code"] == "bad_request"


@pytest.mark.parametrize("query", SEARCH_SYNTAX)
@pytest.mark.parametrize("endpoint", ["pages", "images", "documents"])
def test_search_syntax_in_queries_is_words_only(client, endpoint, query):
    # given an article whose title holds the words of the query
    ArticlePageFactory(title="Unbalanced a b x story")
    # when
    response = client.get(f"/api/v2/{endpoint}/", {"search": query})
    # then: an answer, not a search-engine syntax error
    assert response.status_code == 200, response.content[:300]
    assert "items" in response.json()


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "x\x07y"])
@pytest.mark.parametrize(
    "url", ["/api/v2/pages/?search={}", "/api/v1/feed?reader={}", "/api/v1/jobs?x={}"]
)
def test_nul_and_control_characters_in_query_strings_are_json_400(client, url, value):
    error = _error(client.get(url.format(value)), 400)
    assert error["code"] == "invalid_query"


@pytest.mark.parametrize(
    "path", ["/api/v1/readers/a%00b", "/api/v1/readers/a%01/digest"]
)
def test_nul_and_control_characters_in_paths_are_json_400(client, path):
    response = client.delete(path) if "digest" not in path else client.get(path)
    assert _error(response, 400)["code"] == "invalid_path"


def test_offset_past_the_cap_is_json_400(client):
    error = _error(client.get("/api/v2/pages/", {"offset": MAX_OFFSET + 1}), 400)
    assert error["details"] == {"offset": [error["message"]]}
    assert str(MAX_OFFSET) in error["message"]
    assert client.get("/api/v2/pages/", {"offset": MAX_OFFSET}).status_code == 200


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
@pytest.mark.parametrize("url", ["/api/v1/events", "/api/v1/briefs"])
def test_json_nested_too_deep_is_json_400(client, url, depth):
    body = '{"events": ' + "[" * depth + "]" * depth + "}"
    error = _error(_post_json(client, url, body), 400)
    assert "nested deeper" in error["message"]


@pytest.mark.parametrize(
    "text", ['"\\ud800"', '"a\\udfffb"', '"\\u0000"', '{"\\ud800": 1}']
)
@pytest.mark.parametrize("url", ["/api/v1/events", "/api/v1/briefs"])
def test_lone_surrogates_and_nul_in_json_are_json_400(client, url, text):
    body = '{"events": [{"event_id": ' + text + ', "context": {}}], "topic": 1}'
    error = _error(_post_json(client, url, body), 400)
    assert error["code"] == "parse_error"


@pytest.mark.parametrize("url", ["/api/v1/events", "/api/v1/briefs"])
def test_body_past_the_size_limit_is_json_413(client, settings, url):
    # given a limit of 1 KB
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    # when
    response = _post_json(client, url, json.dumps({"events": ["x" * 2048]}))
    # then
    error = _error(response, 413)
    assert error["code"] == "payload_too_large"
    assert error["details"]["max_bytes"] == 1024


def test_twenty_megabyte_body_is_json_413(client):
    body = '{"events": ["' + "x" * 20_000_000 + '"]}'
    assert _error(_post_json(client, "/api/v1/events", body), 413)["details"]


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
    ],
)
def test_datetimes_outside_the_window_are_rejected_events(client, moment):
    # given
    article = ArticlePageFactory()
    event = {
        "event_id": "e1",
        "reader": "r1",
        "page": article.pk,
        "type": "view",
        "occurred_at": moment,
    }
    # when
    response = client.post("/api/v1/events", {"events": [event]}, format="json")
    # then: the batch is read, the event refused with its reason
    assert response.status_code == 200
    (rejection,) = response.json()["rejected"]
    assert rejection["error"]["code"] in ("invalid_timestamp", "future_timestamp")
    assert response.json()["accepted"] == 0


@pytest.mark.parametrize("value", [1e7, 1e300, 2**80])
def test_absurd_event_values_are_rejected(client, value):
    article = ArticlePageFactory()
    event = {"event_id": "e", "reader": "r", "page": article.pk, "type": "read"}
    response = client.post(
        "/api/v1/events", {"events": [{**event, "value": value}]}, format="json"
    )
    assert response.json()["rejected"][0]["error"]["code"] == "invalid_value"


@pytest.mark.parametrize("reader", ["tab\there", "line\nbreak", "bell\x07", "del\x7f"])
def test_control_characters_in_event_ids_are_rejected(client, reader):
    article = ArticlePageFactory()
    event = {"event_id": "e", "reader": reader, "page": article.pk, "type": "view"}
    response = client.post("/api/v1/events", {"events": [event]}, format="json")
    assert response.json()["rejected"][0]["error"]["code"] == "invalid_reader"


@pytest.mark.parametrize("field", ["angle", "topic", "tone"])
def test_brief_fields_past_their_length_are_json_400(client, field):
    body = {"topic": "x", "section": 1, field: "a" * 1_000_000}
    error = _error(client.post("/api/v1/briefs", body, format="json"), 400)
    assert field in error["details"]


@pytest.mark.parametrize("path", ["/api/unknown", "/api/v1/nothing/", "/api/x/y"])
def test_unknown_api_paths_are_json_404_not_redirects(client, path):
    assert _error(client.get(path), 404)["code"] == "not_found"


def test_trailing_slash_on_a_v1_endpoint_is_json_404(client):
    response = client.post("/api/v1/events/", {"events": []}, format="json")
    assert _error(response, 404)["code"] == "not_found"


def test_v2_listing_without_slash_still_redirects_to_it(client):
    response = client.get("/api/v2/pages")
    assert response.status_code == 301
    assert response["Location"].endswith("/api/v2/pages/")


@pytest.mark.parametrize("url", ["/api/v1/topics", "/api/v2/pages/"])
def test_every_429_says_when_to_retry(client, monkeypatch, url):
    # given a rate of one request a minute
    monkeypatch.setitem(ApiKeyThrottle.THROTTLE_RATES, "api_key", "1/min")
    client.get(url)
    # when
    response = client.get(url)
    # then
    error = _error(response, 429)
    assert int(response["Retry-After"]) >= 1
    assert error["details"]["retry_after_seconds"] >= 1


def test_database_unavailable_is_json_503(client, monkeypatch):
    # given a database that refuses every query
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("cms.apis.topic_list_with_counts", refuse)
    # when
    response = client.get("/api/v1/topics")
    # then
    error = _error(response, 503)
    assert error["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0


def test_redis_unavailable_is_json_503(client, settings):
    # given a shared cache on a Redis nobody listens to
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    # when a request needs the shared cache (live content, model stamps)
    response = client.get("/api/v1/feed", {"reader": "someone"})
    # then
    error = _error(response, 503)
    assert error["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0
