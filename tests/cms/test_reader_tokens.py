"""Reader tokens: minted with a `readers:issue` key, good for one reader only."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cms.reader_tokens import reader_token_issue
from recommend.models import Event
from recommend.serving.state import serving_state_reset
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()


@pytest.fixture
def world():
    return world_build(n_readers=20, n_events=600)


def reader_client(token: str, **headers) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Reader {token}", **headers)
    return client


def mint(keyed_client, **body) -> dict:
    response = keyed_client("readers:issue").post(
        "/api/v1/reader-tokens", body, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_key_with_readers_issue_mints_a_token_for_the_reader(keyed_client, settings):
    # given
    settings.READER_TOKEN_TTL_SECONDS = 900
    before = timezone.now()
    # when
    body = mint(keyed_client, reader="sim-1")
    # then
    assert set(body) == {"reader", "token", "expires_at"}
    assert body["reader"] == "sim-1"
    assert body["expires_at"].endswith("Z")
    expires_at = datetime.datetime.fromisoformat(body["expires_at"])
    assert before + datetime.timedelta(seconds=898) <= expires_at
    assert expires_at <= timezone.now() + datetime.timedelta(seconds=900)


def test_no_reader_mints_a_new_anonymous_id_each_time(keyed_client):
    first = mint(keyed_client)
    second = mint(keyed_client)
    assert first["reader"].startswith("anon-")
    assert second["reader"].startswith("anon-")
    assert first["reader"] != second["reader"]


def test_minting_needs_a_key_with_the_scope(keyed_client, api_client):
    # given a token, a key without the scope and no credential at all
    token = reader_token_issue(reader="sim-1").token
    body = {"reader": "sim-2"}
    # when
    without_key = api_client.post("/api/v1/reader-tokens", body, format="json")
    wrong_scope = keyed_client("feed:read", "events:write").post(
        "/api/v1/reader-tokens", body, format="json"
    )
    by_reader = reader_client(token).post("/api/v1/reader-tokens", body, format="json")
    # then
    assert without_key.status_code == 401
    assert wrong_scope.status_code == 403
    assert "readers:issue" in wrong_scope.json()["error"]["message"]
    assert by_reader.status_code == 403
    assert by_reader.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    "body",
    [
        {"reader": ""},
        {"reader": "x" * 256},
        {"reader": "bad\x00id"},
        {"origin": "not an origin"},
        {"ttl_seconds": 5},
        ["not", "an", "object"],
    ],
)
def test_bad_mint_requests_are_json_400(keyed_client, body):
    response = keyed_client("readers:issue").post(
        "/api/v1/reader-tokens", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"bad_request", "parse_error"}


def test_a_reader_token_reads_its_own_feed_and_no_other(world, keyed_client):
    # given
    token = mint(keyed_client, reader="sim-1")["token"]
    client = reader_client(token)
    # when
    own = client.get("/api/v1/feed", {"n": 5})
    own_named = client.get("/api/v1/feed", {"n": 5, "reader": "sim-1"})
    other = client.get("/api/v1/feed", {"n": 5, "reader": "sim-2"})
    # then
    assert own.status_code == 200
    assert own.json()["reader"] == "sim-1"
    assert len(own.json()["results"]) == 5
    assert own_named.status_code == 200
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "other_reader"


def test_a_reader_token_reads_its_own_digest_and_similar_items(world, keyed_client):
    token = mint(keyed_client, reader="sim-1")["token"]
    client = reader_client(token)
    own = client.get("/api/v1/readers/sim-1/digest")
    other = client.get("/api/v1/readers/sim-2/digest")
    similar = client.get(f"/api/v1/pages/{world.articles[0].pk}/similar")
    assert own.status_code == 200
    assert own.json()["reader"] == "sim-1"
    assert other.status_code == 403
    assert similar.status_code == 200
    assert similar.json()["results"]


def test_a_reader_token_records_its_own_events_only(world, keyed_client):
    # given
    token = mint(keyed_client, reader="anon-me")["token"]
    client = reader_client(token)
    page = world.articles[0].pk
    own = {"event_id": "tok-1", "page": page, "type": "read", "value": 30}
    other = {"event_id": "tok-2", "reader": "sim-2", "page": page, "type": "like"}
    # when
    accepted = client.post("/api/v1/events", {"events": [own]}, format="json")
    refused = client.post(
        "/api/v1/events",
        {"events": [{**own, "event_id": "tok-3"}, other]},
        format="json",
    )
    # then: the first is stored for the token's reader, the mixed batch not at all
    assert accepted.status_code == 200
    assert accepted.json()["accepted"] == 1
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "other_reader"
    stored = Event.objects.filter(event_id__in=["tok-1", "tok-2", "tok-3"])
    assert list(stored.values_list("event_id", "reader__external_id")) == [
        ("tok-1", "anon-me")
    ]


def test_expired_and_tampered_tokens_are_json_401(world, settings):
    # given
    settings.READER_TOKEN_TTL_SECONDS = 60
    expired = reader_token_issue(
        reader="sim-1", issued_at=timezone.now() - datetime.timedelta(seconds=61)
    ).token
    good = reader_token_issue(reader="sim-1").token
    payload, _, signature = good.partition(":")
    tampered = (
        reader_token_issue(reader="sim-2").token.partition(":")[0] + ":" + (signature)
    )
    # when
    answers = {
        name: reader_client(token).get("/api/v1/feed")
        for name, token in [("expired", expired), ("tampered", tampered)]
    }
    # then
    assert answers["expired"].status_code == 401
    assert answers["expired"].json()["error"]["code"] == "reader_token_expired"
    assert answers["tampered"].status_code == 401
    assert answers["tampered"].json()["error"]["code"] == "invalid_reader_token"
    assert answers["tampered"].has_header("WWW-Authenticate")
    assert reader_client(good).get("/api/v1/feed").status_code == 200


def test_an_origin_bound_token_works_from_that_origin_only(world, keyed_client):
    token = mint(keyed_client, reader="sim-1", origin="https://app.example.com")[
        "token"
    ]
    right = reader_client(token, HTTP_ORIGIN="https://app.example.com")
    wrong = reader_client(token, HTTP_ORIGIN="https://evil.example.net")
    assert right.get("/api/v1/feed").status_code == 200
    assert wrong.get("/api/v1/feed").status_code == 401
    assert reader_client(token).get("/api/v1/feed").status_code == 401


def test_a_reader_token_cannot_use_server_endpoints(world):
    client = reader_client(reader_token_issue(reader="sim-1").token)
    assert client.get("/api/v1/audiences").status_code == 403
    assert client.delete("/api/v1/readers/sim-1").status_code == 403
    assert client.get("/api/v1/key").status_code == 401
    assert client.get("/api/v1/topics").status_code == 200
