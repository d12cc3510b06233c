"""DELETE /api/v1/readers/{id}: a reader's events are erased and stay refused."""

import re

import pytest
from rest_framework.test import APIClient

from recommend.models import Event, FeedImpression, Reader
from recommend.selectors import event_interaction_arrays
from recommend.serving.impressions import impressions_flush
from tests.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_live_ids(monkeypatch):
    # The per-process live-id cache is keyed by a stamp that each test's rollback
    # resets, so a previous test's ids would otherwise look current.
    monkeypatch.setattr(
        "cms.selectors._live_ids_cache", {"version": None, "ids": frozenset()}
    )


@pytest.fixture
def article():
    return ArticlePageFactory()


@pytest.fixture
def client(keyed_client) -> APIClient:
    return keyed_client("events:write", "readers:erase")


@pytest.mark.parametrize(
    "scopes", [("events:write",), ("feed:read", "events:write"), ("content:read",)]
)
def test_erasure_needs_the_readers_erase_scope(keyed_client, article, scopes):
    # given a reader with events, and a key without readers:erase
    _send(keyed_client("events:write"), "kept", article.pk, range(2))
    # when
    response = keyed_client(*scopes).delete("/api/v1/readers/kept")
    # then
    assert response.status_code == 403
    assert "readers:erase" in response.json()["error"]["message"]
    assert Event.objects.filter(reader__external_id="kept").count() == 2


def _send(client: APIClient, reader: str, page: int, numbers) -> dict:
    events = [
        {"event_id": f"{reader}-{n}", "reader": reader, "page": page, "type": "read"}
        for n in numbers
    ]
    response = client.post("/api/v1/events", {"events": events}, format="json")
    assert response.status_code == 200
    return response.json()


def test_erasure_deletes_every_event_of_the_reader_only(client, article):
    # given
    _send(client, "gone", article.pk, range(5))
    _send(client, "kept", article.pk, range(3))
    # when
    response = client.delete("/api/v1/readers/gone")
    # then
    assert response.status_code == 200
    assert response.json() == {"reader": "gone", "erased": True, "events_deleted": 5}
    gone = Reader.objects.get(external_id="gone")
    assert gone.erased is True
    assert gone.erased_at is not None
    assert not Event.objects.filter(reader=gone).exists()
    assert Event.objects.filter(reader__external_id="kept").count() == 3


def test_events_after_erasure_are_rejected(client, article):
    # given
    _send(client, "gone", article.pk, range(2))
    client.delete("/api/v1/readers/gone")
    # when: a retry of the old batch and new events, mixed with another reader's
    events = [
        {"event_id": "gone-0", "reader": "gone", "page": article.pk, "type": "view"},
        {"event_id": "new", "reader": "other", "page": article.pk, "type": "view"},
        {"event_id": "gone-9", "reader": "gone", "page": article.pk, "type": "like"},
    ]
    body = client.post("/api/v1/events", {"events": events}, format="json").json()
    # then
    assert body["accepted"] == 1
    assert body["duplicates"] == 0
    assert [(r["index"], r["error"]["code"]) for r in body["rejected"]] == [
        (0, "reader_erased"),
        (2, "reader_erased"),
    ]
    assert "erased" in body["rejected"][0]["error"]["message"]
    assert not Event.objects.filter(reader__external_id="gone").exists()


def test_training_data_has_none_of_the_erased_readers_events(client, article):
    # given
    _send(client, "gone", article.pk, range(4))
    _send(client, "kept", article.pk, range(2))
    gone_pk = Reader.objects.get(external_id="gone").pk
    kept_pk = Reader.objects.get(external_id="kept").pk
    # when
    client.delete("/api/v1/readers/gone")
    arrays = event_interaction_arrays()
    # then
    assert gone_pk not in set(arrays.reader_ids.tolist())
    assert arrays.reader_ids.tolist() == [kept_pk, kept_pk]


def test_erasing_twice_deletes_nothing_more(client, article):
    # given
    _send(client, "gone", article.pk, range(2))
    client.delete("/api/v1/readers/gone")
    first_erased_at = Reader.objects.get(external_id="gone").erased_at
    # when
    again = client.delete("/api/v1/readers/gone")
    # then
    assert again.status_code == 200
    assert again.json()["events_deleted"] == 0
    assert Reader.objects.get(external_id="gone").erased_at == first_erased_at


def test_reader_ids_with_slashes_can_be_erased(client, article):
    # given
    _send(client, "tenant/42", article.pk, range(1))
    # when
    response = client.delete("/api/v1/readers/tenant/42")
    # then
    assert response.status_code == 200
    assert response.json()["events_deleted"] == 1


def test_unknown_reader_is_404_json(client):
    # when
    response = client.delete("/api/v1/readers/nobody")
    # then
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "nobody" in error["message"]


def test_erasure_needs_an_events_key(keyed_client, client, article):
    # given
    _send(client, "gone", article.pk, range(1))
    # when
    anonymous = APIClient().delete("/api/v1/readers/gone")
    wrong_scope = keyed_client("feed:read").delete("/api/v1/readers/gone")
    # then
    assert anonymous.status_code == 401
    assert wrong_scope.status_code == 403
    assert wrong_scope.json()["error"]["code"] == "permission_denied"
    assert Event.objects.filter(reader__external_id="gone").count() == 1


def test_erasure_also_forgets_what_the_reader_was_shown(client, article, settings):
    # given: the reader was served a feed (impressions written at once)
    from recommend.models import FeedImpression
    from recommend.serving.feeds import feed_for_reader
    from recommend.serving.impressions import impressions_flush

    settings.RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 1
    _send(client, "watched", article.pk, range(2))
    feed_for_reader(external_id="watched", n=5)
    impressions_flush()
    assert FeedImpression.objects.filter(reader_external_id="watched").exists()
    # when
    client.delete("/api/v1/readers/watched")
    # then
    assert not FeedImpression.objects.filter(reader_external_id="watched").exists()


def test_the_demo_page_hands_out_no_key_that_can_erase(client, article, settings):
    # given the reader demo page and a reader with events
    settings.RECOMMEND_DEMO_PAGE = True
    _send(client, "sim-1", article.pk, range(2))
    page = APIClient().get("/demo/").content.decode()
    keys = set(re.findall(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}", page))
    # when any key the page holds tries to erase
    statuses = [
        APIClient(HTTP_AUTHORIZATION=f"Api-Key {key}")
        .delete("/api/v1/readers/sim-1")
        .status_code
        for key in keys
    ]
    # then
    assert all(status == 403 for status in statuses)
    assert Event.objects.filter(reader__external_id="sim-1").count() == 2


@pytest.mark.parametrize(
    "reader, path",
    [
        ("team/alice", "team/alice"),
        ("team/alice", "team%2Falice"),
        ("a/b/c/", "a/b/c/"),
        ("x/digest/y", "x/digest/y"),
    ],
)
def test_ids_with_slashes_can_be_erased(client, article, reader, path):
    # given events accepted for an id holding slashes
    assert _send(client, reader, article.pk, range(2))["accepted"] == 2
    # when
    response = client.delete(f"/api/v1/readers/{path}")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["reader"] == reader
    assert not Event.objects.filter(reader__external_id=reader).exists()


@pytest.mark.parametrize(
    "url", ["/api/v1/feed?reader=gone", "/api/v1/readers/gone/digest"]
)
def test_erased_readers_get_410_and_no_impression_is_written(
    client, keyed_client, article, url
):
    # given an erased reader
    _send(client, "gone", article.pk, range(2))
    client.delete("/api/v1/readers/gone")
    # when
    response = keyed_client("feed:read").get(url)
    impressions_flush()
    # then
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "reader_erased"
    assert not FeedImpression.objects.filter(reader_external_id="gone").exists()
