"""POST /api/v1/events: events validated one by one, stored once, keyed, throttled."""

import datetime
import threading

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from wagtail.models import Locale, Page

from cms.auth import ApiKeyThrottle
from recommend.api.events import EventBatchCreateApi
from recommend.models import Event, Reader
from tests.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


@pytest.fixture(autouse=True)
def _fresh_live_ids(monkeypatch):
    # The per-process live-id cache is keyed by a stamp that each test's rollback
    # resets, so a previous test's ids would otherwise look current.
    monkeypatch.setattr(
        "cms.selectors._live_ids_cache", {"version": None, "ids": frozenset()}
    )


@pytest.fixture
def articles():
    return [ArticlePageFactory(), ArticlePageFactory()]


@pytest.fixture
def client(keyed_client) -> APIClient:
    return keyed_client("events:write")


def _event(page_id: int, number: int = 0, **fields) -> dict:
    return {
        "event_id": f"e-{number}",
        "reader": f"reader-{number % 7}",
        "page": page_id,
        "type": "view",
        **fields,
    }


def _post(client: APIClient, events) -> object:
    return client.post(URL, {"events": events}, format="json")


def test_valid_batch_stores_events_and_creates_readers(client, articles):
    # given
    occurred = "2025-03-01T10:00:00+01:00"
    events = [
        _event(
            articles[0].pk,
            1,
            type="read",
            value=42.5,
            occurred_at=occurred,
            context={"feed_id": "feed-9", "placement": "home"},
        ),
        _event(articles[1].pk, 2),
    ]
    before = timezone.now()
    # when
    response = _post(client, events)
    # then
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    read = Event.objects.get(event_id="e-1")
    assert read.reader.external_id == "reader-1"
    assert (read.page_id, read.type, read.value) == (articles[0].pk, "read", 42.5)
    assert read.occurred_at == datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.UTC)
    assert read.feed_id == "feed-9"
    assert read.context == {"feed_id": "feed-9", "placement": "home"}
    view = Event.objects.get(event_id="e-2")
    assert (view.value, view.feed_id, view.context) == (1.0, "", {})
    assert before <= view.occurred_at <= timezone.now()
    assert set(Reader.objects.values_list("external_id", flat=True)) == {
        "reader-1",
        "reader-2",
    }


def _future(seconds: int) -> str:
    return (timezone.now() + datetime.timedelta(seconds=seconds)).isoformat()


BAD_EVENTS = {
    "unknown_page": ({"page": 999_999}, "unknown_page"),
    "page_not_integer": ({"page": "12"}, "invalid_page"),
    "bad_type": ({"type": "click"}, "invalid_type"),
    "future_timestamp": ({"occurred_at": _future(3600)}, "future_timestamp"),
    "naive_timestamp": ({"occurred_at": "2025-03-01T10:00:00"}, "naive_timestamp"),
    "invalid_timestamp": ({"occurred_at": "yesterday"}, "invalid_timestamp"),
    "timestamp_not_string": ({"occurred_at": 1700000000}, "invalid_timestamp"),
    "missing_event_id": ({"event_id": None}, "invalid_event_id"),
    "long_event_id": ({"event_id": "x" * 129}, "invalid_event_id"),
    "missing_reader": ({"reader": ""}, "invalid_reader"),
    "long_reader": ({"reader": "r" * 256}, "invalid_reader"),
    "value_not_numeric": ({"value": "12"}, "invalid_value"),
    "value_boolean": ({"value": True}, "invalid_value"),
    "value_negative": ({"value": -1}, "invalid_value"),
    "context_not_object": ({"context": ["home"]}, "invalid_context"),
    "feed_id_too_long": ({"context": {"feed_id": "f" * 65}}, "invalid_context"),
}


@pytest.mark.parametrize(
    ("fields", "code"), list(BAD_EVENTS.values()), ids=list(BAD_EVENTS)
)
def test_each_bad_event_is_rejected_with_its_index(client, articles, fields, code):
    # given: the bad event sits between two good ones
    page = articles[0].pk
    events = [_event(page, 0), _event(page, 1, **fields), _event(page, 2)]
    # when
    response = _post(client, events)
    # then
    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    assert len(body["rejected"]) == 1
    rejection = body["rejected"][0]
    assert rejection["index"] == 1
    assert rejection["error"]["code"] == code
    assert rejection["error"]["message"]
    assert isinstance(rejection["error"]["details"], dict)
    assert set(Event.objects.values_list("event_id", flat=True)) == {"e-0", "e-2"}


def test_rejections_name_the_field_and_list_allowed_types(client, articles):
    # given
    events = ["not an object", _event(articles[0].pk, 1, type="click")]
    # when
    body = _post(client, events).json()
    # then
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert body["rejected"][0]["error"]["code"] == "invalid_event"
    type_error = body["rejected"][1]["error"]
    assert type_error["details"]["field"] == "type"
    assert type_error["details"]["allowed"] == list(Event.Type.values)
    assert "view" in type_error["message"] and "dismiss" in type_error["message"]


def test_draft_and_unpublished_pages_are_unknown(client, articles):
    # given
    draft = ArticlePageFactory(publish=False)
    withdrawn = ArticlePageFactory()
    withdrawn.unpublish()
    events = [_event(draft.pk, 0), _event(withdrawn.pk, 1), _event(articles[0].pk, 2)]
    # when
    body = _post(client, events).json()
    # then
    assert body["accepted"] == 1
    assert [(r["index"], r["error"]["code"]) for r in body["rejected"]] == [
        (0, "unknown_page"),
        (1, "unknown_page"),
    ]
    assert list(Event.objects.values_list("page_id", flat=True)) == [articles[0].pk]


def test_slightly_future_timestamp_is_tolerated(client, articles, settings):
    # given: a client clock a minute fast, inside the allowed drift
    settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS = 300
    events = [_event(articles[0].pk, 0, occurred_at=_future(60))]
    # when
    body = _post(client, events).json()
    # then
    assert body == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_retrying_a_batch_stores_nothing_twice(client, articles):
    # given
    events = [_event(articles[i % 2].pk, i) for i in range(20)]
    first = _post(client, events).json()
    count = Event.objects.count()
    # when
    retry = _post(client, events)
    # then
    assert first == {"accepted": 20, "duplicates": 0, "rejected": []}
    assert retry.status_code == 200
    assert retry.json() == {"accepted": 0, "duplicates": 20, "rejected": []}
    assert Event.objects.count() == count == 20


@pytest.fixture
def committed_articles():
    # An earlier transactional test's flush may have removed the page tree root and
    # locale that Wagtail's migrations make; the factories build the rest.
    if Page.get_first_root_node() is None:
        Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
        Page.add_root(instance=Page(title="Root", slug="root"))
    yield [ArticlePageFactory(), ArticlePageFactory()]
    # Publishing committed a live-content stamp into the database cache table,
    # which the flush after a transactional test leaves in place.
    caches["shared"].clear()


# Committed for real, so that each thread's own connection sees the rows.
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_store_each_event_once(committed_articles, make_api_key):
    # given: three clients send the same batch at the same moment
    _, key = make_api_key("events:write")
    events = [_event(committed_articles[i % 2].pk, i) for i in range(200)]
    start = threading.Barrier(3)
    bodies: list[dict] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        start.wait()
        try:
            bodies.append(_post(client, events).json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted((body["accepted"], body["duplicates"]) for body in bodies) == [
        (0, 200),
        (0, 200),
        (200, 0),
    ]
    assert Event.objects.count() == 200
    assert Reader.objects.count() == 7


def test_repeats_inside_a_batch_are_duplicates(client, articles):
    # given: e-1 twice for the same reader; the same event id for another reader
    page = articles[0].pk
    events = [
        _event(page, 1),
        _event(page, 1, type="like"),
        _event(page, 1, reader="someone-else"),
    ]
    # when
    body = _post(client, events).json()
    # then
    assert body == {"accepted": 2, "duplicates": 1, "rejected": []}
    assert sorted(Event.objects.values_list("reader__external_id", "type")) == [
        ("reader-1", "view"),
        ("someone-else", "view"),
    ]


def test_a_full_batch_of_1000_is_accepted(client, articles, settings):
    # given
    assert settings.RECOMMEND_EVENTS_MAX_BATCH == 1000
    events = [_event(articles[i % 2].pk, i) for i in range(1000)]
    # when
    response = _post(client, events)
    # then
    assert response.status_code == 200
    assert response.json() == {"accepted": 1000, "duplicates": 0, "rejected": []}
    assert Event.objects.count() == 1000
    assert Reader.objects.count() == 7


def test_a_batch_of_1001_is_refused_whole(client, articles):
    # given
    events = [_event(articles[0].pk, i) for i in range(1001)]
    # when
    response = _post(client, events)
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "batch_too_large"
    assert error["details"] == {"max_events": 1000, "received": 1001}
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    ['{"events": [', "[]", '{"events": {"event_id": "e"}}', "{}", '"events"'],
    ids=["malformed", "list", "events_not_list", "no_events", "string"],
)
def test_unreadable_body_is_a_400_json_error(client, body):
    # when
    response = client.post(URL, body, content_type="application/json")
    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] in {"parse_error", "invalid_body"}
    assert error["message"]


def test_no_key_is_401(articles):
    # when
    response = _post(APIClient(), [_event(articles[0].pk)])
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Event.objects.count() == 0


def test_key_without_events_scope_is_403(keyed_client, articles):
    # when
    response = _post(keyed_client("feed:read", "content:read"), [_event(1)])
    # then
    assert response.status_code == 403
    assert "events:write" in response.json()["error"]["message"]


def test_requests_are_throttled_per_key(client, articles, monkeypatch):
    # given
    assert ApiKeyThrottle in [
        throttle.__class__ for throttle in EventBatchCreateApi().get_throttles()
    ]
    monkeypatch.setitem(ApiKeyThrottle.THROTTLE_RATES, "api_key", "2/min")
    # when
    statuses = [_post(client, [_event(articles[0].pk, i)]).status_code for i in (1, 2)]
    third = _post(client, [_event(articles[0].pk, 3)])
    # then
    assert statuses == [200, 200]
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "throttled"
    assert Event.objects.count() == 2
