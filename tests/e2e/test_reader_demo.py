"""The reader demo page in a real browser: a feed that adapts to clicks."""

import pytest

from cms.models import ArticlePage
from cms.services import cover_image_create, live_content_touch
from recommend.models import Event
from recommend.serving.state import serving_state_reset
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
    demo_world, live_server, browser_page, screenshot
):
    # given: the demo page open on the first simulated reader
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/demo/")
    page.select_option("#reader-select", "sim-0")
    first = _feed_ids(page)
    assert "personalised by model" in page.inner_text("#feed-strategy")
    assert page.inner_text("#feed li .reason").strip()
    screenshot(page, "reader-demo")
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


def test_demo_cards_draw_the_cover_and_standfirst(
    demo_world, live_server, browser_page
):
    # given: every article has a cover but the last (a card without a picture)
    covered = {article.pk for article in demo_world.articles[:-1]}
    for article in demo_world.articles[:-1]:
        ArticlePage.objects.filter(pk=article.pk).update(
            hero_image=cover_image_create(title=article.title)
        )
    live_content_touch()
    serving_state_reset()
    # when: a fresh reader's trending feed is drawn
    page = browser_page
    page.goto(f"{live_server.url}/demo/")
    page.click("#fresh-reader")
    shown = set(_feed_ids(page))
    # then: every card shows its standfirst; covered ones a loaded thumbnail
    assert len(page.query_selector_all("#feed li .standfirst")) == len(shown)
    page.wait_for_load_state("networkidle")
    images = page.eval_on_selector_all(
        "#feed li img.card-image",
        "images => images.map(image => [Number(image.closest('li').dataset.pageId),"
        " image.complete && image.naturalWidth])",
    )
    assert shown & covered
    assert {page_id for page_id, _ in images} == shown & covered
    assert all(width == 400 for _, width in images)


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
