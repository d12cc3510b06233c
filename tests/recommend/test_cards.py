"""Cards in one call: feed, similar and digest items carry what a card shows."""

import re
import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Collection

from cms.models import ArticlePage
from cms.services import cover_image_create, live_content_touch
from recommend.serving.cards import item_cards
from recommend.serving.state import serving_state, serving_state_reset
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
CARD = {"standfirst", "published_at", "reading_time", "section"}


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()


def _illustrated_world():
    world = world_build(n_readers=40, n_events=1500)
    if Collection.get_first_root_node() is None:
        # An earlier transactional test flushed the migrations' root collection.
        Collection.add_root(name="Root")
    # One cover on every live row (publishing 48 revisions would only be slower).
    cover = cover_image_create(title="World cover")
    ArticlePage.objects.update(hero_image=cover)
    live_content_touch()
    return world


def _assert_card(item: dict) -> None:
    assert CARD <= set(item)
    assert item["standfirst"]
    assert RFC3339_Z.match(item["published_at"]), item["published_at"]
    assert isinstance(item["reading_time"], int) and item["reading_time"] >= 1
    assert item["section"] == {"slug": "world", "title": "World"}
    renditions = item["hero_image_renditions"]
    assert set(renditions) == {"thumbnail", "medium", "large"}
    thumbnail = renditions["thumbnail"]
    assert (thumbnail["width"], thumbnail["height"]) == (400, 225)
    assert thumbnail["url"].startswith("http://testserver/media/")
    # The file behind the URL exists in storage.
    name = thumbnail["url"].removeprefix("http://testserver/media/")
    assert default_storage.exists(name)


def test_feed_items_carry_cards_on_the_fast_and_the_drf_path(keyed_client):
    # given
    _illustrated_world()
    client = keyed_client("feed:read")
    # when
    fast = client.get("/api/v1/feed", {"reader": "sim-1", "n": 5})
    through_drf = client.get("/api/v1/feed", {"reader": " sim-1", "n": "5"})
    # then
    assert fast.status_code == through_drf.status_code == 200
    for body in (fast.json(), through_drf.json()):
        assert len(body["results"]) == 5
        for item in body["results"]:
            _assert_card(item)
            page = ArticlePage.objects.get(pk=item["id"])
            assert item["standfirst"] == page.standfirst
            assert item["reading_time"] == page.reading_time


def test_cards_are_read_once_per_live_content_stamp(keyed_client):
    # given
    world = _illustrated_world()
    client = keyed_client("feed:read")
    client.get("/api/v1/feed", {"reader": "sim-1", "n": 10})
    # when the same items are served again
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/api/v1/feed", {"reader": "sim-2", "n": 48})
        client.get("/api/v1/feed", {"reader": "sim-2", "n": 48})
    article_reads = [
        query["sql"] for query in queries if "cms_articlepage" in query["sql"]
    ]
    # then: one batch for the items not seen yet, none the second time
    assert again.status_code == 200
    assert len(article_reads) <= 1
    # when an article's standfirst changes and is published
    page = ArticlePage.objects.get(pk=world.articles[0].pk)
    page.standfirst = "A brand new standfirst."
    page.save_revision().publish()
    live_content_touch()
    similar = client.get(f"/api/v1/pages/{world.articles[1].pk}/similar", {"n": 47})
    # then the card follows
    cards = {item["id"]: item for item in similar.json()["results"]}
    assert cards[page.pk]["standfirst"] == "A brand new standfirst."
    assert serving_state().catalogue.cards


def test_fields_trims_items_and_rejects_unknown_names(keyed_client):
    # given
    _illustrated_world()
    client = keyed_client("feed:read")
    # when
    trimmed = client.get(
        "/api/v1/feed",
        {"reader": "sim-1", "n": 3, "fields": "title,hero_image_renditions"},
    )
    plain = client.get("/api/v1/feed", {"reader": "sim-1", "fields": "title,score"})
    unknown = client.get("/api/v1/feed", {"reader": "sim-1", "fields": "title,nope"})
    similar_unknown = client.get(
        "/api/v1/pages/1/similar", {"fields": "reason"}
    )  # similar items have no reason
    # then
    items = trimmed.json()["results"]
    assert [set(item) for item in items] == [
        {"id", "title", "hero_image_renditions"}
    ] * 3
    assert items[0]["hero_image_renditions"]["medium"]["url"].startswith("http://")
    assert set(plain.json()["results"][0]) == {"id", "title", "score"}
    assert unknown.status_code == 400
    details = unknown.json()["error"]["details"]
    assert list(details) == ["fields"]
    assert "nope" in details["fields"][0]
    assert similar_unknown.status_code == 400
    assert list(similar_unknown.json()["error"]["details"]) == ["fields"]


def test_similar_and_digest_items_carry_cards(keyed_client):
    # given
    world = _illustrated_world()
    client = keyed_client("feed:read")
    # when
    similar = client.get(f"/api/v1/pages/{world.articles[0].pk}/similar", {"n": 3})
    digest = client.get("/api/v1/readers/sim-1/digest", {"n": 4})
    # then
    assert similar.status_code == 200
    for item in similar.json()["results"]:
        _assert_card(item)
    sections = digest.json()["sections"]
    assert sections
    for section in sections:
        for item in section["items"]:
            _assert_card(item)


def test_an_article_without_a_hero_image_has_a_null_rendition_card(keyed_client):
    # given
    world = world_build(n_readers=40, n_events=1500)
    client = keyed_client("feed:read")
    # when
    similar = client.get(f"/api/v1/pages/{world.articles[0].pk}/similar", {"n": 2})
    # then
    for item in similar.json()["results"]:
        assert item["hero_image_renditions"] is None
        assert item["section"]["slug"] == "world"


def test_v2_pages_by_several_ids_keeps_visibility(api_client):
    # given
    first, second = ArticlePageFactory(), ArticlePageFactory()
    draft = ArticlePageFactory(publish=False)
    ids = f"{first.pk},{second.pk},{draft.pk}"
    # when
    listing = api_client.get(
        "/api/v2/pages/",
        {"id": ids, "type": "cms.ArticlePage", "fields": "standfirst,reading_time"},
    )
    untyped = api_client.get("/api/v2/pages/", {"id": ids})
    single = api_client.get("/api/v2/pages/", {"id": str(first.pk)})
    bad = api_client.get("/api/v2/pages/", {"id": "1,two"})
    # then
    body = listing.json()
    assert listing.status_code == 200
    assert {item["id"] for item in body["items"]} == {first.pk, second.pk}
    assert body["meta"]["total_count"] == 2
    assert body["items"][0]["reading_time"] >= 1
    assert {item["id"] for item in untyped.json()["items"]} == {first.pk, second.pk}
    assert [item["id"] for item in single.json()["items"]] == [first.pk]
    assert bad.status_code == 400
    assert list(bad.json()["error"]["details"]) == ["id"]


@pytest.mark.django_db(transaction=True)
def test_every_card_is_read_in_the_background_after_the_first_feed(
    keyed_client, settings
):
    # given
    settings.RECOMMEND_CARDS_WARM = True
    _illustrated_world()
    serving_state_reset()
    client = keyed_client("feed:read")
    # when one feed of three items is served
    client.get("/api/v1/feed", {"reader": "sim-1", "n": 3})
    catalogue = serving_state().catalogue
    deadline = time.monotonic() + 30
    while len(catalogue.cards) < len(catalogue) and time.monotonic() < deadline:
        time.sleep(0.1)
    # then every live item has its card, as a request would have read it
    assert len(catalogue.cards) == len(catalogue) == 48
    row = len(catalogue) - 1
    warmed = catalogue.cards.pop(row)
    (read_now,) = item_cards(catalogue, [row])
    # Rendition files may have been made twice (two threads, first use): the
    # same sizes, maybe another file name.
    for card in (warmed, read_now):
        for rendition in card.pop("hero_image_renditions").values():
            assert rendition["width"] > 0
            assert default_storage.exists(rendition["url"].removeprefix("/media/"))
    assert read_now == warmed


def test_a_catalogue_update_keeps_the_cards_of_unchanged_articles(
    keyed_client, settings
):
    # given: every card read once
    settings.RECOMMEND_CATALOGUE_UPDATES = True
    world = _illustrated_world()
    client = keyed_client("feed:read")
    client.get(f"/api/v1/pages/{world.articles[1].pk}/similar", {"n": 47})
    before = serving_state().catalogue
    assert len(before.cards) == len(before) - 1 == 47  # all but the page itself
    # when one article is edited and published again
    page = ArticlePage.objects.get(pk=world.articles[0].pk)
    page.standfirst = "Edited since."
    page.save_revision().publish()
    live_content_touch()
    with CaptureQueriesContext(connection) as queries:
        similar = client.get(f"/api/v1/pages/{world.articles[1].pk}/similar", {"n": 47})
    # then: a new catalogue, the other cards carried over, the edited one re-read
    after = serving_state().catalogue
    assert after is not before
    cards = {item["id"]: item for item in similar.json()["results"]}
    assert cards[page.pk]["standfirst"] == "Edited since."
    other_row = int(after.positions([world.articles[2].pk])[0])
    before_row = int(before.positions([world.articles[2].pk])[0])
    assert after.cards[other_row] is before.cards[before_row]
    card_reads = [q for q in queries if "body_json" in q["sql"]]
    assert len(card_reads) == 1


def test_each_host_gets_its_own_absolute_image_urls_on_the_fast_path(
    keyed_client, settings
):
    # given: the same reader's feed asked on two hosts (item JSON is kept per
    # catalogue, media base and fields between requests)
    settings.ALLOWED_HOSTS = ["one.example", "two.example"]
    _illustrated_world()
    client = keyed_client("feed:read")
    query = {"reader": "sim-1", "n": 5}
    # when
    one = client.get("/api/v1/feed", query, HTTP_HOST="one.example")
    two = client.get("/api/v1/feed", query, HTTP_HOST="two.example")
    again = client.get("/api/v1/feed", query, HTTP_HOST="one.example")
    # then
    assert one["X-Feed-Source"] and one.status_code == two.status_code == 200
    for response, host in ((one, "one"), (two, "two"), (again, "one")):
        for item in response.json()["results"]:
            for rendition in item["hero_image_renditions"].values():
                assert rendition["url"].startswith(f"http://{host}.example/media/")
