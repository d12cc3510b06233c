"""HTTP caching: ETags and 304s on public content, no-store on personal answers."""

import pytest

from recommend.serving.state import serving_state_reset
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db

PAGES = "/api/v2/pages/"


def test_a_repeated_v2_request_with_its_etag_is_a_304(api_client):
    # given
    article = ArticlePageFactory(title="Cached")
    first = api_client.get(f"{PAGES}{article.pk}/")
    listing = api_client.get(PAGES, {"type": "cms.ArticlePage"})
    # when
    again = api_client.get(f"{PAGES}{article.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    listing_again = api_client.get(
        PAGES, {"type": "cms.ArticlePage"}, HTTP_IF_NONE_MATCH=listing["ETag"]
    )
    stale = api_client.get(f"{PAGES}{article.pk}/", HTTP_IF_NONE_MATCH='"other"')
    # then
    assert first.status_code == 200
    assert first["ETag"].startswith('"') and not first["ETag"].startswith("W/")
    assert first["Cache-Control"] == "public, max-age=30"
    assert "Authorization" in first["Vary"]
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert listing_again.status_code == 304
    assert listing["ETag"] != first["ETag"]
    assert stale.status_code == 200 and stale.json()["title"] == "Cached"


def test_a_publish_changes_every_etag(api_client, django_capture_on_commit_callbacks):
    # given
    article = ArticlePageFactory(title="Stays the same")
    before = api_client.get(f"{PAGES}{article.pk}/")
    # when another page is published (the live-content stamp moves on commit)
    with django_capture_on_commit_callbacks(execute=True):
        ArticlePageFactory(title="Something new")
    after = api_client.get(f"{PAGES}{article.pk}/", HTTP_IF_NONE_MATCH=before["ETag"])
    # then the same bytes, a new ETag: the old one no longer earns a 304
    assert after.status_code == 200
    assert after.content == before.content
    assert after["ETag"] != before["ETag"]


def test_an_unpublished_page_is_a_404_whatever_etag_is_sent(
    api_client, django_capture_on_commit_callbacks
):
    # given
    article = ArticlePageFactory()
    first = api_client.get(f"{PAGES}{article.pk}/")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        article.unpublish()
    again = api_client.get(f"{PAGES}{article.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    # then
    assert again.status_code == 404
    assert "ETag" not in again
    assert again["Cache-Control"] == "private, no-store"


def test_images_listing_is_public_and_revalidates(api_client):
    # given
    from cms.services import cover_image_create

    article = ArticlePageFactory()
    article.hero_image = cover_image_create(title="Cover")
    article.save_revision().publish()
    first = api_client.get("/api/v2/images/")
    # when
    again = api_client.get("/api/v2/images/", HTTP_IF_NONE_MATCH=first["ETag"])
    # then
    assert first.status_code == 200 and first.json()["meta"]["total_count"] == 1
    assert first["Cache-Control"].startswith("public")
    assert again.status_code == 304


def test_similar_items_are_public_and_feeds_are_personal(keyed_client, settings):
    # given
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()
    world = world_build(n_readers=40, n_events=1500)
    page_id = world.articles[0].pk
    client = keyed_client("feed:read")
    similar = client.get(f"/api/v1/pages/{page_id}/similar", {"n": 5})
    # when
    similar_again = client.get(
        f"/api/v1/pages/{page_id}/similar",
        {"n": 5},
        HTTP_IF_NONE_MATCH=similar["ETag"],
    )
    feed = client.get("/api/v1/feed", {"reader": "sim-1", "n": 5})
    feed_drf = client.get("/api/v1/feed", {"reader": " sim-1", "n": "5"})
    digest = client.get("/api/v1/readers/sim-1/digest", {"n": 3})
    digest_html = client.get("/api/v1/readers/sim-1/digest", {"format": "html"})
    # then
    assert similar.status_code == 200
    assert similar["Cache-Control"] == "public, max-age=30"
    assert similar_again.status_code == 304
    for personal in (feed, feed_drf, digest, digest_html):
        assert personal.status_code == 200
        assert personal["Cache-Control"] == "private, no-store"
        assert "ETag" not in personal
