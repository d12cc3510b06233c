"""/api/docs/ and /api/redoc/ render every operation with no network outside."""

from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def offline_page(browser_page):
    """The browser with every request off 127.0.0.1/localhost aborted (recorded)."""
    blocked = []

    def route(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    browser_page.route("**/*", route)
    browser_page.blocked = blocked
    return browser_page


def _operation_count() -> int:
    schema = APIClient().get("/api/schema/?format=json").json()
    return sum(
        1
        for item in schema["paths"].values()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def test_swagger_ui_renders_every_operation_offline(
    transactional_db, live_server, offline_page, screenshot
):
    # given
    expected = _operation_count()
    page = offline_page
    page.set_viewport_size({"width": 1280, "height": 900})
    # when
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    # then: one block per operation, and nothing was fetched from outside
    assert page.locator(".opblock").count() == expected
    assert "reader-tokens" in page.inner_text("body")
    assert page.blocked == []
    screenshot(page, "api-docs-offline")


def test_redoc_renders_offline(transactional_db, live_server, offline_page):
    expected = _operation_count()
    page = offline_page
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("[data-section-id^='operation/']", timeout=30_000)
    assert page.locator("[data-section-id^='operation/']").count() == expected
    # Only ReDoc's own "powered by" logo is fetched from outside (and not needed).
    assert [url for url in page.blocked if not url.endswith("logo-mini.svg")] == []
