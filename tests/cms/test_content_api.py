"""The Wagtail API v2 serves live, public content only, with every content field."""

import datetime

import pytest
from django.utils import timezone
from wagtail.models import PageViewRestriction

from cms.models import ArticlePage
from cms.services import cover_image_create
from tests.factories import ArticlePageFactory, SectionPageFactory, TopicFactory

pytestmark = pytest.mark.django_db

PAGES = "/api/v2/pages/"


def _hidden_articles() -> dict[str, ArticlePage]:
    """One article in each state that readers must never see, all titled 'Secret'."""
    section = SectionPageFactory()
    draft = ArticlePageFactory(section=section, title="Secret draft", publish=False)
    unpublished = ArticlePageFactory(section=section, title="Secret unpublished")
    unpublished.unpublish()
    expired = ArticlePageFactory(section=section, title="Secret expired")
    # Expired but not yet swept by publish_scheduled: still live=True in the table.
    ArticlePage.objects.filter(pk=expired.pk).update(
        expire_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    restricted = ArticlePageFactory(section=section, title="Secret restricted")
    PageViewRestriction.objects.create(
        page=restricted, restriction_type=PageViewRestriction.PASSWORD, password="x"
    )
    restricted_section = SectionPageFactory(title="Members", slug="members")
    below_restricted = ArticlePageFactory(
        section=restricted_section, title="Secret members only"
    )
    PageViewRestriction.objects.create(
        page=restricted_section,
        restriction_type=PageViewRestriction.LOGIN,
    )
    return {
        "draft": draft,
        "unpublished": unpublished,
        "expired": expired,
        "restricted": restricted,
        "below_restricted": below_restricted,
    }


def test_listing_search_and_detail_never_show_hidden_pages(api_client):
    # given
    visible = ArticlePageFactory(title="Secret visible article")
    hidden = _hidden_articles()
    # when
    listing = api_client.get(PAGES, {"type": "cms.ArticlePage", "limit": 100}).json()
    search = api_client.get(PAGES, {"search": "Secret", "limit": 100}).json()
    typed_search = api_client.get(
        PAGES, {"type": "cms.ArticlePage", "search": "Secret"}
    ).json()
    # then
    listed_ids = {item["id"] for item in listing["items"]}
    assert listed_ids == {visible.pk}
    assert {item["id"] for item in search["items"]} == {visible.pk}
    assert {item["id"] for item in typed_search["items"]} == {visible.pk}
    for name, page in hidden.items():
        response = api_client.get(f"{PAGES}{page.pk}/")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"
    assert api_client.get(f"{PAGES}{visible.pk}/").status_code == 200


def test_find_by_path_does_not_reveal_a_draft(api_client):
    # given
    draft = ArticlePageFactory(title="Draft to find", publish=False)
    # when
    response = api_client.get(f"{PAGES}find/", {"html_path": draft.url_path})
    # then
    assert response.status_code == 404


def test_article_detail_exposes_every_content_field(api_client):
    # given
    topic = TopicFactory(name="Oceans", slug="oceans")
    linked = ArticlePageFactory(title="Linked piece")
    image = cover_image_create(title="A cover", label="Science")
    article = ArticlePageFactory(
        title="Full article",
        standfirst="Summary here.",
        topics=[topic],
        hero_image=image,
        attribution="Wire service",
        source_url="https://example.com/original",
        body=[
            ("heading", "First part"),
            ("paragraph", "<p>Text with <b>bold</b>.</p>"),
            ("quote", {"text": "Quoted.", "attribution": "A person"}),
            ("image", {"image": image, "caption": "Cap", "alt_text": "Alt"}),
            ("article_link", {"page": linked, "label": "More"}),
        ],
    )
    # when
    data = api_client.get(f"{PAGES}{article.pk}/").json()
    # then
    assert data["standfirst"] == "Summary here."
    assert data["topics"] == [{"id": topic.pk, "name": "Oceans", "slug": "oceans"}]
    assert data["author"]["name"] == article.author.name
    assert data["reading_time"] == 1
    assert data["attribution"] == "Wire service"
    assert data["source_url"] == "https://example.com/original"
    assert data["published_date"] == article.published_date.isoformat()
    assert [block["type"] for block in data["body"]] == [
        "heading",
        "paragraph",
        "quote",
        "image",
        "article_link",
    ]
    assert data["body"][1]["value"] == "<p>Text with <b>bold</b>.</p>"
    assert data["body"][2]["value"] == {"text": "Quoted.", "attribution": "A person"}
    assert data["body"][3]["value"]["alt_text"] == "Alt"
    assert data["body"][4]["value"] == {
        "page": linked.pk,
        "title": "Linked piece",
        "label": "More",
    }
    assert data["hero_image"]["id"] == image.pk
    renditions = data["hero_image_renditions"]
    assert set(renditions) == {"thumbnail", "medium", "large"}
    assert renditions["thumbnail"]["width"] == 400
    assert renditions["thumbnail"]["height"] == 225
    assert renditions["thumbnail"]["url"].endswith(".jpg")


def test_images_endpoint_gives_rendition_urls(api_client):
    # given
    image = cover_image_create(title="Rendered", label="Food")
    ArticlePageFactory(title="Rendered", hero_image=image)
    # when
    data = api_client.get(f"/api/v2/images/{image.pk}/").json()
    # then
    assert data["thumbnail"]["width"] == 400
    assert data["medium"]["width"] == 800
    assert data["meta"]["download_url"].startswith("/media/")


def test_documents_endpoint_lists_as_json(api_client):
    response = api_client.get("/api/v2/documents/")
    assert response.status_code == 200
    assert response.json()["meta"]["total_count"] == 0


def test_bad_query_parameter_is_a_json_400(api_client):
    # given / when
    unknown_type = api_client.get(PAGES, {"type": "cms.NoSuchPage"})
    bad_limit = api_client.get(PAGES, {"limit": "lots"})
    bad_field = api_client.get(PAGES, {"fields": "no_such_field"})
    # then
    for response in (unknown_type, bad_limit, bad_field):
        assert response.status_code == 400
        body = response.json()
        assert body["error"]["code"] == "bad_request"
        assert body["error"]["message"]
        assert body["error"]["details"] == {}
