"""Digests: approved live content only, grouped by topic, JSON and HTML."""

import datetime

import pytest
from django.utils import timezone

from recommend.audiences.digests import reader_digest
from recommend.models import Audience, Reader, ReaderAudience
from recommend.serving.feeds import Feed, FeedItem
from recommend.serving.impressions import impressions_flush
from recommend.serving.state import serving_state_reset
from tests.factories import ArticlePageFactory
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state(settings, monkeypatch):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    monkeypatch.setattr(
        "cms.selectors._live_ids_cache", {"version": None, "ids": frozenset()}
    )
    serving_state_reset()
    yield
    impressions_flush()


@pytest.fixture(scope="module")
def world_with_hidden_pages(django_db_setup, django_db_blocker):
    """A world plus pages no reader may see, written to be as tempting as any.

    Built once for the module; each test's own changes roll back.
    """
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield _world_with_hidden_pages()
        transaction.set_rollback(True)


def _world_with_hidden_pages():
    world = world_build(n_readers=60, n_events=2500)
    section = world.articles[0].get_parent()
    hidden = []
    for index, topic in enumerate(world.topics):
        draft = ArticlePageFactory(
            section=section,
            title=f"Draft about {topic.name.lower()}",
            standfirst=f"A piece on {topic.name.lower()}.",
            topics=[topic],
            publish=False,
        )
        gone = ArticlePageFactory(
            section=section,
            title=f"Withdrawn {topic.name.lower()} story",
            standfirst=f"A piece on {topic.name.lower()}.",
            topics=[topic],
        )
        gone.unpublish()
        later = ArticlePageFactory(
            section=section,
            title=f"Embargoed {topic.name.lower()} story {index}",
            standfirst=f"A piece on {topic.name.lower()}.",
            topics=[topic],
        )
        later.go_live_at = timezone.now() + datetime.timedelta(days=1)
        later.save(update_fields=["go_live_at"])
        hidden += [draft.pk, gone.pk, later.pk]
    return world, set(hidden)


def test_digest_never_contains_a_draft_or_unpublished_page(world_with_hidden_pages):
    # given
    world, hidden = world_with_hidden_pages
    readers = [reader.external_id for reader in world.readers] + ["never-seen"]
    # when
    digests = [reader_digest(external_id=reader, n=50) for reader in readers]
    # then
    shown = {item.id for digest in digests for s in digest.sections for item in s.items}
    assert len(shown) > 20
    assert not shown & hidden


def test_a_page_unpublished_after_ranking_is_dropped(
    world_with_hidden_pages, monkeypatch
):
    # given: the feed still names a page that is no longer live
    world, hidden = world_with_hidden_pages
    live = world.articles[0]
    stale = Feed(
        feed_id="f",
        reader="sim-1",
        model_version=None,
        strategy="personal",
        items=[
            FeedItem(id=pk, title="t", url="/x/", topics=[], score=1.0, reason="r")
            for pk in [*hidden, live.pk]
        ],
    )
    monkeypatch.setattr(
        "recommend.audiences.digests.feed_for_reader", lambda **kwargs: stale
    )
    # when
    digest = reader_digest(external_id="sim-1")
    # then
    assert [item.id for s in digest.sections for item in s.items] == [live.pk]


def test_sections_group_by_topic_in_rank_order(world_with_hidden_pages):
    world, _ = world_with_hidden_pages
    digest = reader_digest(external_id="sim-3", n=12)
    items = [item for section in digest.sections for item in section.items]
    assert len(items) == 12
    for section in digest.sections:
        assert {world.article_topic[item.id] for item in section.items} == {
            next(i for i, t in enumerate(world.topics) if t.pk == section.topic["id"])
        }
        assert all(item.standfirst.startswith("A piece on") for item in section.items)
    assert len({section.topic["id"] for section in digest.sections}) == len(
        digest.sections
    )


def _audience_with_intro(reader: Reader, *, approved: bool) -> Audience:
    audience = Audience.objects.create(
        key="stargazers",
        name="Stargazers",
        kind="cluster",
        intro="Clear skies this week.",
        intro_approved=approved,
    )
    ReaderAudience.objects.create(reader=reader, audience=audience)
    return audience


def test_intro_appears_only_once_approved(world_with_hidden_pages):
    world, _ = world_with_hidden_pages
    audience = _audience_with_intro(world.readers[4], approved=False)
    assert reader_digest(external_id="sim-4").intro is None
    audience.intro_approved = True
    audience.save()
    digest = reader_digest(external_id="sim-4")
    assert digest.intro == "Clear skies this week."
    assert digest.audience == audience
    assert reader_digest(external_id="sim-5").intro is None


def test_digest_api_json_and_html(keyed_client, api_client, world_with_hidden_pages):
    # given
    world, hidden = world_with_hidden_pages
    _audience_with_intro(world.readers[2], approved=True)
    client = keyed_client("feed:read")
    # when
    as_json = client.get("/api/v1/readers/sim-2/digest", {"n": 8})
    as_html = client.get("/api/v1/readers/sim-2/digest?format=html&n=8")
    by_accept = client.get("/api/v1/readers/sim-2/digest", HTTP_ACCEPT="text/html")
    own_path = client.get(
        "/api/v1/readers/sim-2/digest.html?n=8", HTTP_ACCEPT="application/json"
    )
    # then
    body = as_json.json()
    assert as_json.status_code == 200
    assert set(body) == {
        "reader",
        "feed_id",
        "strategy",
        "audience",
        "intro",
        "sections",
    }
    assert body["reader"] == "sim-2"
    assert body["intro"] == "Clear skies this week."
    item = body["sections"][0]["items"][0]
    assert set(item) == {
        "id",
        "title",
        "standfirst",
        "url",
        "reason",
        "published_at",
        "reading_time",
        "section",
        "hero_image_renditions",
    }
    assert set(body["sections"][0]["topic"]) == {"id", "slug", "name"}
    assert sum(len(section["items"]) for section in body["sections"]) == 8
    html = as_html.content.decode()
    assert as_html.status_code == 200
    assert as_html["Content-Type"].startswith("text/html")
    assert by_accept["Content-Type"].startswith("text/html")
    assert own_path["Content-Type"].startswith("text/html")
    assert own_path.content.decode().count("data-page-id=") == 8
    assert "Clear skies this week." in html
    assert f'data-page-id="{item["id"]}"' in html
    assert f'href="http://testserver{item["url"]}"' in html
    assert html.count("data-page-id=") == 8
    assert not any(f'data-page-id="{pk}"' in html for pk in hidden)


def test_digest_errors_are_json_even_for_html(keyed_client, api_client):
    client = keyed_client("feed:read")
    bad = client.get("/api/v1/readers/sim-2/digest?format=html&n=0")
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/json"
    assert "n" in bad.json()["error"]["details"]
    anonymous = api_client.get("/api/v1/readers/sim-2/digest?format=html")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    bad_html_path = client.get("/api/v1/readers/sim-2/digest.html?n=0")
    assert bad_html_path.status_code == 400
    assert bad_html_path.json()["error"]["details"]["n"]
