"""The conventions every /api/v1/ endpoint shares: envelope, errors, times."""

import pytest

from cms.timestamps import rfc3339
from tests.factories import ArticlePageFactory, TopicFactory

pytestmark = pytest.mark.django_db


def test_topics_come_in_the_list_envelope(api_client):
    # given
    sleep = TopicFactory(name="Sleep", slug="sleep")
    ArticlePageFactory(topics=[sleep])
    # when
    body = api_client.get("/api/v1/topics").json()
    # then
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"]) == 1
    assert body["next"] is None and body["previous"] is None
    assert body["results"][0] == {
        "id": sleep.pk,
        "name": "Sleep",
        "slug": "sleep",
        "article_count": 1,
    }


def test_a_bad_query_parameter_is_reported_under_its_own_name(keyed_client):
    # given
    client = keyed_client("feed:read")
    # when
    response = client.get("/api/v1/feed", {"reader": "r", "section": "a\x01b"})
    # then
    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["details"]) == ["section"]
    assert error["details"]["section"] == [error["message"]]


def test_timestamps_are_utc_with_z():
    import datetime

    paris = datetime.timezone(datetime.timedelta(hours=1))
    moment = datetime.datetime(2026, 11, 28, 11, 0, 0, tzinfo=paris)
    assert rfc3339(moment) == "2026-11-28T10:00:00Z"
    assert rfc3339(moment.replace(microsecond=120000)) == "2026-11-28T10:00:00.120000Z"
    assert rfc3339(None) is None
