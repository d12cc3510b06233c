"""GET /api/v1/feed and /api/v1/pages/{id}/similar over HTTP."""

import pytest

from recommend.serving.state import serving_state_reset
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()


def test_feed_response_shape(keyed_client):
    # given
    world = world_build(n_readers=40, n_events=1500)
    client = keyed_client("feed:read")
    # when
    response = client.get("/api/v1/feed", {"reader": "sim-1", "n": 5})
    # then
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "feed_id",
        "reader",
        "model_version",
        "strategy",
        "count",
        "next",
        "previous",
        "results",
    }
    assert body["reader"] == "sim-1"
    assert body["model_version"] == world.model_version.pk
    assert len(body["results"]) == 5
    assert body["count"] > 5 and body["previous"] is None
    assert body["next"].startswith("http://testserver/api/v1/feed?")
    assert "offset=5" in body["next"] and "reader=sim-1" in body["next"]
    item = body["results"][0]
    assert set(item) == {
        "id",
        "title",
        "url",
        "topics",
        "score",
        "reason",
        "standfirst",
        "published_at",
        "reading_time",
        "section",
        "hero_image_renditions",
    }
    assert item["url"].startswith("/world/")
    assert item["topics"][0]["slug"].startswith("subject-")


def test_feed_needs_feed_scope(keyed_client, api_client):
    assert api_client.get("/api/v1/feed", {"reader": "x"}).status_code == 401
    wrong = keyed_client("events:write").get("/api/v1/feed", {"reader": "x"})
    assert wrong.status_code == 403


def test_feed_bad_query_is_json_400(keyed_client):
    client = keyed_client("feed:read")
    missing = client.get("/api/v1/feed")
    too_many = client.get("/api/v1/feed", {"reader": "x", "n": 1000})
    unknown_topic = client.get("/api/v1/feed", {"reader": "x", "topic": "nope"})
    assert missing.status_code == 400
    assert "reader" in missing.json()["error"]["details"]
    assert too_many.status_code == 400
    assert unknown_topic.status_code == 400
    assert unknown_topic.json()["error"]["details"] == {
        "topic": ["Unknown topic 'nope'."]
    }


def test_similar_items_live_only(keyed_client):
    # given
    world_build(n_readers=40, n_events=1500)
    article = ArticlePageFactory(title="Other", standfirst="Astronomy tonight.")
    draft = ArticlePageFactory(title="Hidden", publish=False)
    client = keyed_client("feed:read")
    # when
    response = client.get(f"/api/v1/pages/{article.pk}/similar", {"n": 5})
    missing = client.get(f"/api/v1/pages/{draft.pk}/similar")
    # then
    assert response.status_code == 200
    body = response.json()
    ids = [item["id"] for item in body["results"]]
    assert body["count"] == 5 and body["next"] is None
    assert len(ids) == 5 and article.pk not in ids and draft.pk not in ids
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_section_filter_keeps_to_the_section(keyed_client):
    # given
    world_build(n_readers=40, n_events=1500)
    other = ArticlePageFactory(title="Elsewhere")
    client = keyed_client("feed:read")
    # when
    world = client.get("/api/v1/feed", {"reader": "sim-1", "section": "world"})
    unknown = client.get("/api/v1/feed", {"reader": "sim-1", "section": "nowhere"})
    # then
    ids = [item["id"] for item in world.json()["results"]]
    assert ids and other.pk not in ids
    assert all(item["url"].startswith("/world/") for item in world.json()["results"])
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"] == {
        "section": ["Unknown section 'nowhere'."]
    }


def test_fast_path_feed_carries_the_stacks_headers_and_skips_sessions(
    keyed_client, settings
):
    # given: a trained world; /api/v1/topics goes through the whole stack
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    world_build(n_readers=40, n_events=1500)
    client = keyed_client("feed:read")
    stacked = client.get("/api/v1/topics")
    # when
    feed = client.get("/api/v1/feed", {"reader": "sim-1", "n": 5})
    # then: answered by the fast path, with the security and frame headers
    assert feed.status_code == 200
    assert feed["X-Feed-Source"] in {"list", "computed"}
    for header in ("X-Frame-Options", "X-Content-Type-Options", "Cache-Control"):
        assert feed[header] == stacked[header]
    assert "Cookie" not in feed.get("Vary", "")
    assert len(feed.json()["results"]) == 5


def test_fast_path_declines_what_the_stack_must_answer(keyed_client, settings):
    # given
    settings.ALLOWED_HOSTS = ["testserver"]
    world_build(n_readers=40, n_events=1500)
    client = keyed_client("feed:read")
    # when: a disallowed host, a NUL in an unrelated parameter
    wrong_host = client.get(
        "/api/v1/feed", {"reader": "sim-1"}, HTTP_HOST="evil.example"
    )
    nul = client.get("/api/v1/feed", {"reader": "sim-1", "x": "a\x00b"})
    # then: the stack's JSON errors, as without the fast path
    assert wrong_host.status_code == 400
    assert nul.status_code == 400
    assert nul.json()["error"]["code"] == "invalid_query"


def test_feed_impressions_are_written_once_the_response_is_sent(keyed_client, settings):
    # given
    from recommend.models import FeedImpression
    from recommend.serving.impressions import impressions_flush

    world_build(n_readers=40, n_events=1500)
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 2
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SECONDS = 3600
    impressions_flush()
    client = keyed_client("feed:read")
    # when: two feeds (the second makes a flush due)
    first = client.get("/api/v1/feed", {"reader": "sim-1", "n": 5}).json()
    assert not FeedImpression.objects.exists()
    client.get("/api/v1/feed", {"reader": "sim-2", "n": 5, "section": "world"})
    # then: both rows, in the shape the API returned
    stored = FeedImpression.objects.get(feed_id=first["feed_id"])
    assert stored.page_ids == [item["id"] for item in first["results"]]
    assert stored.reader.external_id == "sim-1"
    assert FeedImpression.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_impressions_in_the_background_go_through_one_long_lived_flusher(
    keyed_client, settings
):
    # given: flushing in the background, as deployed, every 2 feeds
    import threading
    import time

    from recommend.models import FeedImpression
    from recommend.serving.impressions import impressions_flush

    world_build(n_readers=40, n_events=1500)
    settings.RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND = True
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 2
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SECONDS = 3600
    impressions_flush()
    client = keyed_client("feed:read")

    def flushers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "impressions-flush"]

    def stored_within(count: int, seconds: float = 30) -> int:
        deadline = time.monotonic() + seconds
        while FeedImpression.objects.count() < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return FeedImpression.objects.count()

    # when: three rounds of two feeds, each round making a flush due
    seen = []
    for round_number in range(3):
        for reader in (f"sim-{2 * round_number}", f"sim-{2 * round_number + 1}"):
            client.get("/api/v1/feed", {"reader": reader, "n": 5})
        # then: each round's rows arrive, written by the same one thread
        assert stored_within(2 * (round_number + 1)) == 2 * (round_number + 1)
        seen.append(flushers())
    assert len(seen[0]) == 1
    assert all(threads == seen[0] for threads in seen)


@pytest.mark.parametrize(
    "fields",
    [None, "title,reason,standfirst,hero_image_renditions", "score", "section,topics"],
)
def test_the_fast_paths_json_is_the_bodys_dicts(fields, rf, settings):
    # given: one feed with cards, written by both paths (the fast path from
    # per-item JSON parts kept per catalogue, the stack from dicts)
    import json

    import orjson

    from recommend.api.cards import fields_parse, media_base
    from recommend.api.feeds import (
        FEED_FIELDS,
        _feed_body,
        _results_json,
    )
    from recommend.serving.feeds import feed_for_reader

    world_build(n_readers=40, n_events=1500)
    settings.ALLOWED_HOSTS = ["cms.example"]
    request = rf.get(
        "/api/v1/feed", {"reader": "sim-1", "n": 8}, HTTP_HOST="cms.example"
    )
    chosen = fields_parse(fields, allowed=FEED_FIELDS)
    feed = feed_for_reader(external_id="sim-1", n=8, cards=True)
    base = media_base(request)
    # when: twice through the parts (the second from the memo)
    written = [
        orjson.dumps(
            _feed_body(
                feed,
                request,
                fields=chosen,
                offset=0,
                n=8,
                results=_results_json(feed, fields=chosen, base=base),
            )
        )
        for _ in range(2)
    ]
    expected = _feed_body(feed, request, fields=chosen, offset=0, n=8)
    # then: the same values, the same key order
    assert written[0] == written[1]
    parsed = json.loads(written[0])
    assert parsed == json.loads(json.dumps(expected))
    assert [list(item) for item in parsed["results"]] == [
        list(item) for item in expected["results"]
    ]
    assert len(parsed["results"]) == 8


def _wsgi_get(
    path: str, query: dict, *, django_only: bool = False, **headers
) -> tuple[str, dict, bytes]:
    """One request through the deployed WSGI application (cms/wsgi.py), or
    with ``django_only`` through Django's handler that it wraps."""
    from django.test import RequestFactory

    from cms.wsgi import application

    if django_only:
        application = application.application

    environ = RequestFactory().get(path, query, **headers).environ
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = status
        answer["headers"] = {name.lower(): value for name, value in response_headers}

    # As Django's test client does: the handler must not close the test
    # transaction's connection.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], body


def test_the_wsgi_application_answers_a_plain_feed_before_djangos_handler(
    make_api_key, settings, monkeypatch
):
    # given: a trained world, an allowed front-end origin, impressions due at once
    import json

    from django.core.signals import request_started

    from recommend.models import FeedImpression
    from recommend.serving.impressions import impressions_flush

    world_build(n_readers=40, n_events=1500)
    settings.CORS_ALLOWED_ORIGINS = ["https://front.example"]
    settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 1
    impressions_flush()
    _, key = make_api_key("feed:read")
    started = []
    request_started.connect(started.append)
    try:
        # when
        status, headers, body = _wsgi_get(
            "/api/v1/feed",
            {"reader": "sim-1", "n": 5},
            HTTP_AUTHORIZATION=f"Api-Key {key}",
            HTTP_ORIGIN="https://front.example",
        )
    finally:
        request_started.disconnect(started.append)
    # then: answered without Django's handler, with what its stack would add
    feed = json.loads(body)
    assert status == "200 OK" and not started
    assert headers["x-feed-source"] in {"list", "computed"}
    assert headers["content-length"] == str(len(body))
    assert headers["access-control-allow-origin"] == "https://front.example"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "private, no-store"
    assert len(feed["results"]) == 5
    assert FeedImpression.objects.filter(feed_id=feed["feed_id"]).exists()


def test_the_wsgi_application_hands_what_it_declines_to_django_once(
    make_api_key, monkeypatch
):
    # given: a bad key and a bad query, each tried by the fast path
    from recommend.api.feeds import FeedRetrieveApi

    world_build(n_readers=40, n_events=1500)
    _, key = make_api_key("feed:read")
    tried = []
    plain = FeedRetrieveApi._plain_response

    def counted(self, request):
        tried.append(request.get_full_path())
        return plain(self, request)

    monkeypatch.setattr(FeedRetrieveApi, "_plain_response", counted)
    # when
    bad_key = _wsgi_get(
        "/api/v1/feed", {"reader": "sim-1"}, HTTP_AUTHORIZATION="Api-Key nope.nope"
    )
    bad_query = _wsgi_get(
        "/api/v1/feed",
        {"reader": "sim-1", "n": "0"},
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    # then: the stack's documented JSON errors, the fast path tried once each
    assert bad_key[0].startswith("401") or bad_key[0].startswith("403")
    assert bad_query[0].startswith("400")
    assert b'"error"' in bad_key[2] and b'"error"' in bad_query[2]
    assert len(tried) == 2


def test_item_json_kept_for_a_few_kinds_of_fields_and_hosts_only():
    # given: one feed written for six different `fields` values
    import orjson

    from recommend.api.feeds import _ITEM_JSON_KINDS, _results_json
    from recommend.serving.feeds import feed_for_reader

    world_build(n_readers=40, n_events=1500)
    feed = feed_for_reader(external_id="sim-1", n=5)
    kinds = [("id", name) for name in ("title", "url", "topics", "score", "reason")]
    kinds.append(("id", "title", "score"))
    # when
    written = [_results_json(feed, fields=fields, base="http://h") for fields in kinds]
    # then: memory stays bounded, answers stay whole
    assert len(feed.page.catalogue.item_json) <= _ITEM_JSON_KINDS
    assert all(len(orjson.loads(orjson.dumps(results))) == 5 for results in written)


@pytest.mark.parametrize(
    "origin", [None, "https://front.example", "https://other.example"]
)
def test_the_wsgi_application_gives_the_stacks_cors_headers(
    make_api_key, settings, origin
):
    # given: a trained world, one allowed origin, a request with or without Origin
    world_build(n_readers=40, n_events=1500)
    settings.CORS_ALLOWED_ORIGINS = ["https://front.example"]
    _, key = make_api_key("feed:read")
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    query = {"reader": "sim-1", "n": 5}
    # when: the WSGI application's fast answer, and the stack's (Django's handler,
    # its middleware chain and CorsMiddleware in it)
    _, fast, _ = _wsgi_get("/api/v1/feed", query, **headers)
    _, stacked, _ = _wsgi_get("/api/v1/feed", query, django_only=True, **headers)
    # then: the same CORS headers either way
    cors = ("vary", "access-control-allow-origin", "access-control-expose-headers")
    assert {name: fast.get(name) for name in cors} == {
        name: stacked.get(name) for name in cors
    }
    assert fast["vary"] == "origin"
    assert ("access-control-allow-origin" in fast) == (
        origin == "https://front.example"
    )
