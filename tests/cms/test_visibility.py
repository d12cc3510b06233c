"""One definition of "publicly visible now", honoured by every public surface.

Each test names the class of page that must vanish (expired, not yet live, moved
under a restriction, under a restricted ancestor, an unpublished or in-review link
target, the image of a restricted or draft page) and asserts it is gone from the
API, the feeds, events and the site HTML, with the live-content stamp moved by
the change itself (on commit) or by the clock, never by a test helper.
"""

import datetime
import time

import pytest
from django.utils import timezone
from wagtail.models import PageViewRestriction, Revision

from cms.models import ArticlePage
from cms.schedules import PUBLISH_SCHEDULE_NAME, publish_schedule_ensure
from cms.selectors import article_live_ids, live_content_version
from cms.services import cover_image_create, live_content_touch
from cms.tasks import pages_publish_scheduled_task
from generation.workflow import draft_review_start
from recommend.serving.state import serving_state_reset
from tests.factories import ArticlePageFactory, SectionPageFactory, page_reload
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()


@pytest.fixture
def client(keyed_client):
    return keyed_client()


def _ids(response) -> list[int]:
    if response.status_code != 200:
        return []
    body = response.json()
    items = body["results"] if "results" in body else body["items"]
    return [item["id"] for item in items]


def _surfaces(client, page: ArticlePage, *, other: ArticlePage) -> set[str]:
    """The public surfaces on which `page` shows up now."""
    found = set()
    listing = client.get("/api/v2/pages/", {"type": "cms.ArticlePage", "limit": 100})
    if page.pk in _ids(listing):
        found.add("v2 listing")
    if client.get(f"/api/v2/pages/{page.pk}/").status_code == 200:
        found.add("v2 detail")
    search = client.get("/api/v2/pages/", {"search": page.title, "limit": 100})
    if page.pk in _ids(search):
        found.add("v2 search")
    if any(
        page.pk in _ids(client.get("/api/v1/feed", {"reader": f"sim-{n}", "n": 50}))
        for n in range(5)
    ):
        found.add("feed")
    if page.pk in _ids(client.get(f"/api/v1/pages/{other.pk}/similar", {"n": 50})):
        found.add("similar")
    if client.get(f"/api/v1/pages/{page.pk}/performance").status_code == 200:
        found.add("performance")
    event = {"event_id": f"probe-{time.monotonic()}", "reader": "probe", "type": "view"}
    posted = client.post(
        "/api/v1/events", {"events": [{**event, "page": page.pk}]}, format="json"
    )
    if posted.json()["accepted"] == 1:
        found.add("events")
    html = client.get(page_reload(page).url)
    if html.status_code == 200 and page.title in html.content.decode():
        found.add("html page")
    section = page_reload(page).get_parent()
    if page.title in client.get(section.url).content.decode():
        found.add("html section")
    return found


ALL_SURFACES = {
    "v2 listing",
    "v2 detail",
    "v2 search",
    "feed",
    "similar",
    "performance",
    "events",
    "html page",
    "html section",
}


@pytest.fixture
def world():
    return world_build(n_readers=30, n_events=1200)


def _featured(client, world) -> tuple[ArticlePage, ArticlePage]:
    """An article that sim-0's feed shows, and another to ask for similar items."""
    first = _ids(client.get("/api/v1/feed", {"reader": "sim-0", "n": 5}))[0]
    page = ArticlePage.objects.get(pk=first)
    other = next(article for article in world.articles if article.pk != page.pk)
    return page, other


def test_expired_article_leaves_every_surface_by_the_clock(
    client, world, django_capture_on_commit_callbacks
):
    # given: a featured article given an expiry two seconds from now
    page, other = _featured(client, world)
    assert _surfaces(client, page, other=other) == ALL_SURFACES
    page.expire_at = timezone.now() + datetime.timedelta(seconds=2)
    with django_capture_on_commit_callbacks(execute=True):
        page.save_revision().publish()
    # when: the moment passes, no task run, the row still says live
    time.sleep(max(0.0, (page.expire_at - timezone.now()).total_seconds()) + 0.2)
    # then
    assert page_reload(page).live is True
    assert _surfaces(client, page, other=other) == set()


def test_expired_row_is_unpublished_by_the_per_minute_task(
    client, world, django_capture_on_commit_callbacks
):
    # given: an article whose expiry passed while nothing ran
    page, other = _featured(client, world)
    past = timezone.now() - datetime.timedelta(minutes=5)
    ArticlePage.objects.filter(pk=page.pk).update(expire_at=past)
    stamp = live_content_version()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        pages_publish_scheduled_task()
    # then
    assert page_reload(page).live is False
    assert page_reload(page).expired is True
    assert live_content_version() != stamp
    assert _surfaces(client, page, other=other) == set()


def test_not_yet_live_article_stays_hidden_until_its_moment(client, world):
    # given: a live row whose go-live moment is two seconds away, written
    # directly (as an import does, which then moves the stamp itself)
    page, other = _featured(client, world)
    go_live_at = timezone.now() + datetime.timedelta(seconds=2)
    ArticlePage.objects.filter(pk=page.pk).update(go_live_at=go_live_at)
    live_content_touch()
    # when / then: hidden now, everywhere
    assert _surfaces(client, page, other=other) == set()
    # when: the moment passes (no task run, no signal)
    time.sleep(max(0.0, (go_live_at - timezone.now()).total_seconds()) + 0.2)
    # then
    assert _surfaces(client, page, other=other) == ALL_SURFACES


def test_scheduled_revision_is_published_by_the_task(
    client, django_capture_on_commit_callbacks
):
    # given: a draft whose approved go-live moment has passed
    page = ArticlePageFactory(title="Scheduled for this morning", publish=False)
    revision = page.save_revision()
    Revision.objects.filter(pk=revision.pk).update(
        approved_go_live_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert page.pk not in article_live_ids()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        pages_publish_scheduled_task()
    # then
    assert page_reload(page).live is True
    assert page.pk in article_live_ids()
    assert client.get(f"/api/v2/pages/{page.pk}/").status_code == 200


def test_moved_under_restricted_section_leaves_every_surface(
    client, world, django_capture_on_commit_callbacks
):
    # given
    page, other = _featured(client, world)
    members = SectionPageFactory(title="Members", slug="members")
    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(
            page=members, restriction_type=PageViewRestriction.LOGIN
        )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        page_reload(page).move(members, pos="last-child")
    # then: every surface drops it; the site asks for a login instead
    assert _surfaces(client, page, other=other) == set()
    assert client.get(page_reload(page).url).status_code == 302


@pytest.mark.parametrize(
    "restriction_type", [PageViewRestriction.LOGIN, PageViewRestriction.PASSWORD]
)
def test_restricted_ancestor_hides_its_articles_until_lifted(
    client, world, django_capture_on_commit_callbacks, restriction_type
):
    # given: similar items asked of an article in another, open section
    page, _ = _featured(client, world)
    section = page_reload(page).get_parent()
    other = ArticlePageFactory(title="Elsewhere", standfirst=page.standfirst)
    # when: the section becomes private
    with django_capture_on_commit_callbacks(execute=True):
        restriction = PageViewRestriction.objects.create(
            page=section, restriction_type=restriction_type, password="pw"
        )
    hidden = _surfaces(client, page, other=other)
    home = client.get(section.get_parent().url).content.decode()
    # then
    assert hidden == set()
    assert section.title not in home
    # when: the restriction is lifted
    with django_capture_on_commit_callbacks(execute=True):
        restriction.delete()
    # then
    assert _surfaces(client, page, other=other) == ALL_SURFACES


def _linking_article(target: ArticlePage) -> ArticlePage:
    return ArticlePageFactory(
        title="The article that links",
        body=[
            ("paragraph", f'<p>See <a linktype="page" id="{target.pk}">this</a>.</p>'),
            ("article_link", {"page": target, "label": ""}),
        ],
    )


def _unpublished(target: ArticlePage) -> None:
    target.unpublish()


def _in_review(target: ArticlePage) -> None:
    target.unpublish()
    draft_review_start(page=page_reload(target))


def _restricted(target: ArticlePage) -> None:
    PageViewRestriction.objects.create(
        page=target, restriction_type=PageViewRestriction.PASSWORD, password="x"
    )


def _expired(target: ArticlePage) -> None:
    ArticlePage.objects.filter(pk=target.pk).update(
        expire_at=timezone.now() - datetime.timedelta(seconds=1)
    )


@pytest.mark.parametrize(
    "make_hidden",
    [_unpublished, _in_review, _restricted, _expired],
    ids=["unpublished", "draft-in-review", "restricted", "expired"],
)
def test_link_to_a_non_public_page_shows_no_title_or_url(
    client, django_capture_on_commit_callbacks, make_hidden
):
    # given
    target = ArticlePageFactory(title="Confidential target headline")
    target_url = target.url
    linking = _linking_article(target)
    with django_capture_on_commit_callbacks(execute=True):
        make_hidden(target)
    # when
    body = client.get(f"/api/v2/pages/{linking.pk}/").json()["body"]
    html = client.get(linking.url).content.decode()
    # then
    link = next(block for block in body if block["type"] == "article_link")
    assert link["value"] == {"page": None, "title": None, "label": ""}
    paragraph = next(block for block in body if block["type"] == "paragraph")
    assert paragraph["value"] == "<p>See <a>this</a>.</p>"
    assert "Confidential target headline" not in html
    assert target_url not in html
    assert "The article that links" in html


def test_link_to_a_public_page_keeps_title_and_url(client):
    # given
    target = ArticlePageFactory(title="Public target headline")
    linking = _linking_article(target)
    # when
    body = client.get(f"/api/v2/pages/{linking.pk}/").json()["body"]
    html = client.get(linking.url).content.decode()
    # then
    link = next(block for block in body if block["type"] == "article_link")
    assert link["value"]["title"] == "Public target headline"
    paragraph = next(block for block in body if block["type"] == "paragraph")
    assert f'id="{target.pk}"' in paragraph["value"]
    assert f'<a href="{target.url}">Public target headline</a>' in html
    assert f'<a href="{target.url}">this</a>' in html


def _listed_images(client) -> set[int]:
    return set(_ids(client.get("/api/v2/images/", {"limit": 100})))


def test_images_of_non_public_pages_are_not_listed(client):
    # given: one cover per kind of page
    covers = {
        kind: cover_image_create(title=f"Cover of the {kind} page")
        for kind in ("public", "draft", "restricted", "expired", "unused", "revision")
    }
    public = ArticlePageFactory(hero_image=covers["public"])
    draft = ArticlePageFactory(hero_image=covers["draft"], publish=False)
    draft_review_start(page=draft)
    _restricted(ArticlePageFactory(hero_image=covers["restricted"]))
    _expired(ArticlePageFactory(hero_image=covers["expired"]))
    # A live page whose new revision in review changes the cover.
    revised = page_reload(public).get_latest_revision_as_object()
    revised.hero_image = covers["revision"]
    revised.save_revision()
    body_image = cover_image_create(title="Inside a public body")
    ArticlePageFactory(
        body=[
            ("paragraph", "<p>Words.</p>"),
            ("image", {"image": body_image, "caption": "", "alt_text": "A view"}),
        ]
    )
    # when
    listed = _listed_images(client)
    # then
    assert listed == {covers["public"].pk, body_image.pk}
    for kind in ("draft", "restricted", "expired", "unused", "revision"):
        detail = client.get(f"/api/v2/images/{covers[kind].pk}/")
        assert detail.status_code == 404, kind


def test_section_and_home_listings_show_only_public_children(client):
    # given
    section = SectionPageFactory(title="Science", slug="science")
    shown = ArticlePageFactory(section=section, title="Open article")
    _restricted(ArticlePageFactory(section=section, title="Locked article"))
    _expired(ArticlePageFactory(section=section, title="Stale article"))
    ArticlePageFactory(section=section, title="Draft article", publish=False)
    members = SectionPageFactory(title="Members lounge", slug="members")
    _restricted(members)
    # when
    section_html = client.get(section.url).content.decode()
    home_html = client.get(section.get_parent().url).content.decode()
    # then
    assert shown.title in section_html
    for title in ("Locked article", "Stale article", "Draft article"):
        assert title not in section_html
    assert "Science" in home_html
    assert "Members lounge" not in home_html


def test_expired_page_html_is_a_404_before_the_sweep(client):
    # given
    page = ArticlePageFactory(title="Yesterday's news")
    _expired(page)
    # when
    response = client.get(page.url)
    # then
    assert response.status_code == 404
    assert "Yesterday's news" not in response.content.decode()


def test_publish_schedule_is_created_once(db):
    # given: migrate created it; a past race left a duplicate
    from django_q.models import Schedule

    publish_schedule_ensure()
    Schedule.objects.create(name=PUBLISH_SCHEDULE_NAME, func="x.y")
    # when
    schedule = publish_schedule_ensure()
    # then
    assert list(Schedule.objects.filter(name=PUBLISH_SCHEDULE_NAME)) == [schedule]
    assert schedule.func == "cms.tasks.pages_publish_scheduled_task"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1
