"""The reader demo page in a real browser: a feed that adapts to clicks."""

import pytest

from recommend.models import Event
from recommend.serving import serving_state_reset
from tests.recommend.scenario import world_build


@pytest.fixture
def demo_world(transactional_db, settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    world = world_build(n_readers=30, n_events=900)
    serving_state_reset()
    return world


def _feed_ids(page) -> list[int]:
    page.wait_for_selector("#feed li")
    return [
        int(entry.get_attribute("data-page-id"))
        for entry in page.query_selector_all("#feed li")
    ]


def test_demo_page_shows_feed_and_adapts_to_a_dismissal(
    demo_world, live_server, browser_page
):
    # given: the demo page open on the first simulated reader
    page = browser_page
    page.goto(f"{live_server.url}/demo/")
    page.select_option("#reader-select", "sim-0")
    first = _feed_ids(page)
    assert "personalised by model" in page.inner_text("#feed-strategy")
    assert page.inner_text("#feed li .reason").strip()
    # when: the reader dismisses the top item
    top = first[0]
    page.click(f'#feed li[data-page-id="{top}"] button[data-action="dismiss"]')
    page.wait_for_function(
        f"!document.querySelector('#feed li[data-page-id=\"{top}\"]')"
    )
    # then: the event went through the API and the item left the feed
    assert Event.objects.filter(
        reader__external_id="sim-0", page_id=top, type="dismiss"
    ).exists()
    assert top not in _feed_ids(page)


def test_fresh_anonymous_reader_starts_on_trending_then_personalises(
    demo_world, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/demo/")
    page.click("#fresh-reader")
    page.wait_for_function(
        "document.querySelector('#feed-strategy').textContent === 'trending'"
    )
    _feed_ids(page)
    page.click('#feed li button[data-action="read"]')
    page.wait_for_function(
        "document.querySelector('#feed-strategy').textContent.includes('model')"
    )
    assert len(_feed_ids(page)) == 10
