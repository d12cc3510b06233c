"""After a fresh demo setup the performance report shows real figures, in Chromium."""

import io
import re

import pytest
from django.core.management import call_command


@pytest.fixture
def demo_setup(transactional_db, settings, django_user_model):
    """What `make setup` does after migrating: demo site, readers, models, report."""
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    for command in (
        ("seed_demo", "--no-progress"),
        ("simulate_readers", "--no-progress"),
        ("train", "--unless-active", "--no-progress"),
        ("aggregate_performance", "--no-progress"),
    ):
        call_command(*command, stdout=io.StringIO(), stderr=io.StringIO())
    return django_user_model.objects.create_superuser(
        username="chief", email="chief@example.com", password="not-a-real-password"
    )


def _number(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text) or 0)


def test_performance_report_after_a_fresh_setup(
    demo_setup, live_server, browser_page, screenshot
):
    # given: an editor logged in on the freshly set-up demo
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", "not-a-real-password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))

    # when: they open the content performance report
    page.goto(f"{live_server.url}/admin/recommend/performance/?days=30")
    page.wait_for_selector('[data-testid="audience-chart"] svg')

    # then: every audience with impressions has clicks (CTR > 0)
    rows = page.locator('[data-testid="audience-table"] tbody tr')
    assert rows.count() >= 3
    for index in range(rows.count()):
        cells = rows.nth(index).locator("td")
        name = cells.nth(0)
        impressions, ctr = _number(cells.nth(1).inner_text()), cells.nth(3)
        if impressions:
            assert _number(ctr.inner_text()) > 0, name.inner_text()
        # and the full name is shown (wrapped, never cut) and in the tooltip
        assert name.get_attribute("title") == name.inner_text().strip()
        assert "…" not in name.inner_text()
    labels = page.locator('[data-testid="audience-chart"] svg g[data-label]')
    assert labels.count() == rows.count()
    for index in range(labels.count()):
        label = labels.nth(index)
        assert label.locator(":scope > title").text_content() == label.get_attribute(
            "data-label"
        )
        assert "…" not in label.locator(":scope > text").first.text_content()
    # and the model-quality chart has a point per promoted model, at least three
    points = page.locator('[data-testid="model-chart"] circle[data-series="Model"]')
    assert points.count() >= 3
    # and no article shows more clicks than impressions
    for row in page.locator('[data-testid="performance-articles"] tbody tr').all():
        cells = row.locator("td")
        assert _number(cells.nth(2).inner_text()) <= _number(cells.nth(1).inner_text())
    assert screenshot(page, "admin-performance", full_page=True).stat().st_size > 0
