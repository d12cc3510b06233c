"""Absolute URLs in the APIs follow the host, port and proxy the request came by."""

import json
import urllib.request

import pytest
from rest_framework.test import APIClient

from cms.services import cover_image_create
from tests.factories import ArticlePageFactory


@pytest.fixture
def article(db):
    image = cover_image_create(title="A cover", label="Science")
    return ArticlePageFactory(title="Anywhere", hero_image=image)


def _urls(body: dict) -> list[str]:
    """Every absolute URL in a v2 page detail."""
    renditions = body["hero_image_renditions"].values()
    return [
        body["meta"]["detail_url"],
        body["meta"]["html_url"],
        body["meta"]["parent"]["meta"]["detail_url"],
        body["meta"]["parent"]["meta"]["html_url"],
        body["hero_image"]["meta"]["detail_url"],
        *[rendition["full_url"] for rendition in renditions],
    ]


def test_v2_urls_follow_the_host_and_port_asked(article):
    # when
    body = (
        APIClient()
        .get(f"/api/v2/pages/{article.pk}/", HTTP_HOST="cms.example.org:8100")
        .json()
    )
    # then
    urls = _urls(body)
    assert len(urls) == 8
    assert all(url.startswith("http://cms.example.org:8100/") for url in urls), urls
    assert body["meta"]["html_url"] == f"http://cms.example.org:8100{article.url}"


def test_behind_a_proxy_urls_use_the_forwarded_host_and_scheme(article, settings):
    # given: production's proxy settings
    settings.USE_X_FORWARDED_HOST = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # when
    body = (
        APIClient()
        .get(
            f"/api/v2/pages/{article.pk}/",
            HTTP_HOST="10.0.0.5:8000",
            HTTP_X_FORWARDED_HOST="news.example.com",
            HTTP_X_FORWARDED_PROTO="https",
        )
        .json()
    )
    # then
    assert all(url.startswith("https://news.example.com/") for url in _urls(body))


def test_a_fixed_public_base_url_wins_for_detail_urls(article, settings):
    settings.WAGTAILAPI_BASE_URL = "https://api.example.com"
    body = APIClient().get(f"/api/v2/pages/{article.pk}/").json()
    assert body["meta"]["detail_url"].startswith("https://api.example.com/api/v2/")


def test_v2_urls_name_the_port_of_a_real_server(
    transactional_db, live_server, settings
):
    # given: an article; the live server (with media, as under make run) listens
    # on a random port
    settings.ROOT_URLCONF = "tests.e2e.media_urls"
    image = cover_image_create(title="Port", label="Science")
    article = ArticlePageFactory(title="On this port", hero_image=image)
    # when
    with urllib.request.urlopen(f"{live_server.url}/api/v2/pages/{article.pk}/") as r:
        body = json.load(r)
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json") as r:
        servers = json.load(r)["servers"]
    # then: every URL names that port, as the schema's server does
    assert all(url.startswith(live_server.url + "/") for url in _urls(body))
    assert servers[0]["url"] == live_server.url
    with urllib.request.urlopen(body["hero_image_renditions"]["thumbnail"]["full_url"]):
        pass  # the rendition loads from that address (200)


def test_a_remembered_base_url_follows_the_proxy_settings_and_allowed_hosts(
    rf, settings
):
    # given: the same headers under changing settings (base URLs are kept
    # between requests, per headers and settings)
    from django.core.exceptions import DisallowedHost

    from cms.request_urls import request_base_url

    settings.ALLOWED_HOSTS = ["10.0.0.5", "news.example.com"]
    headers = {
        "HTTP_HOST": "10.0.0.5:8000",
        "HTTP_X_FORWARDED_HOST": "news.example.com",
        "HTTP_X_FORWARDED_PROTO": "https",
    }

    def base() -> str:
        return request_base_url(rf.get("/api/v1/feed", **headers))

    # when / then: direct, then behind the proxy, then direct again
    assert base() == "http://10.0.0.5:8000"
    settings.USE_X_FORWARDED_HOST = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert base() == "https://news.example.com"
    settings.USE_X_FORWARDED_HOST = False
    settings.SECURE_PROXY_SSL_HEADER = None
    assert base() == "http://10.0.0.5:8000"
    # and a host no longer allowed is refused, though its base was remembered
    settings.ALLOWED_HOSTS = ["news.example.com"]
    with pytest.raises(DisallowedHost):
        base()
