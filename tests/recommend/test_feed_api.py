"""GET /api/v1/feed and /api/v1/pages/{id}/similar over HTTP."""

import pytest

from recommend.serving import serving_state_reset
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
    assert set(body) == {"feed_id", "reader", "model_version", "strategy", "items"}
    assert body["reader"] == "sim-1"
    assert body["model_version"] == world.model_version.pk
    assert len(body["items"]) == 5
    item = body["items"][0]
    assert set(item) == {"id", "title", "url", "topics", "score", "reason"}
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
        "filter": ["Unknown topic 'nope'."]
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
    ids = [item["id"] for item in response.json()]
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
    ids = [item["id"] for item in world.json()["items"]]
    assert ids and other.pk not in ids
    assert all(item["url"].startswith("/world/") for item in world.json()["items"])
    assert unknown.status_code == 400
