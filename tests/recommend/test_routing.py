"""Routing: an article written for an audience reaches it before any retraining."""

import datetime

import numpy as np
import pytest
from django.utils import timezone

from cms.services import article_create
from recommend.audiences.audiences import audience_refresh
from recommend.events.erasure import reader_erase
from recommend.models import Event, Reader
from recommend.serving.feeds import ReaderErased, feed_for_reader
from recommend.serving.impressions import impressions_flush
from recommend.serving.routing import audience_prior_scores, audience_routing_reset
from recommend.serving.state import serving_state, serving_state_reset
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state(settings, monkeypatch):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    monkeypatch.setattr(
        "cms.selectors._live_ids_cache", {"version": None, "ids": frozenset()}
    )
    serving_state_reset()
    audience_routing_reset()
    yield
    impressions_flush()


@pytest.fixture(scope="module")
def routed(django_db_setup, django_db_blocker):
    """A world, its audiences, and an article published for the largest one.

    Built once for the module; each test's own changes roll back.
    """
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield _routed_world()
        transaction.set_rollback(True)


def _routed_world():
    world = world_build(n_topics=8, per_topic=12, n_readers=240, n_events=6000)
    audiences = audience_refresh(model_version=world.model_version)
    audience = audiences[0]
    topic = next(t for t in world.topics if t.pk == audience.top_topics[0]["id"])
    # Drafted for the audience, then approved: provenance is set before publishing,
    # as the generation pipeline does.
    article = article_create(
        section=world.articles[0].get_parent(),
        title=f"A new {topic.name.lower()} guide",
        standfirst=f"Everything about {topic.name.lower()} this season.",
        body=[("paragraph", "<p>Words.</p>")],
        topics=[topic],
        published_date=datetime.date.today(),
        publish=False,
    )
    article.ai_generated = True
    article.ai_provenance = {"audience": audience.key, "provider": "composer"}
    article.save_revision().publish()
    members = set(audience.memberships.values_list("reader__external_id", flat=True))
    return world, audience, article, members


def _positions(readers, page_id: int, n: int = 20) -> dict[str, int]:
    """Each reader's 0-based position of the page in their top n (n if absent)."""
    positions = {}
    for reader in readers:
        ids = [item.id for item in feed_for_reader(external_id=reader, n=n).items]
        positions[reader] = ids.index(page_id) if page_id in ids else n
    return positions


def test_targeted_article_reaches_its_audience_right_after_publishing(routed, settings):
    # given
    world, audience, article, members = routed
    readers = [reader.external_id for reader in world.readers]
    outside = [reader for reader in readers if reader not in members]
    # when
    positions = _positions(readers, article.pk)
    settings.RECOMMEND_AUDIENCE_PRIOR_INTERACTIONS = 0  # the prior off, for contrast
    without_prior = _positions(sorted(members), article.pk)
    # then: measured 34/34 of the audience with it in their top 20, all in the
    # top 3, and 0.17 of the other readers; with the prior off, content placement
    # alone put it in the top 3 of 0.97 of the audience
    reached = np.mean([positions[reader] < 20 for reader in members])
    top_three = np.mean([positions[reader] < 3 for reader in members])
    reached_outside = np.mean([positions[reader] < 20 for reader in outside])
    top_three_without = np.mean([without_prior[reader] < 3 for reader in members])
    assert len(members) >= 20
    assert reached >= 0.9
    assert top_three >= 0.9
    assert reached_outside <= 0.35
    assert top_three >= top_three_without


def test_prior_fades_once_the_article_has_enough_interactions(routed, settings):
    # given: the prior lasts for 4 events; the article gets 4 from outside readers
    world, audience, article, members = routed
    settings.RECOMMEND_AUDIENCE_PRIOR_INTERACTIONS = 4
    member = sorted(members)[0]
    with_prior = _positions([member], article.pk)[member]
    outsiders = Reader.objects.exclude(external_id__in=members)[:4]
    Event.objects.bulk_create(
        [
            Event(
                reader=reader,
                page=article,
                type="view",
                occurred_at=timezone.now(),
                event_id=f"fade-{reader.pk}",
            )
            for reader in outsiders
        ]
    )
    audience_routing_reset()  # counts are otherwise re-read once a minute
    # when
    after = _positions([member], article.pk)[member]
    settings.RECOMMEND_AUDIENCE_PRIOR_INTERACTIONS = 0
    model_only = _positions([member], article.pk)[member]
    # then: the model's own ranking again
    assert with_prior < 3
    assert after == model_only


def test_readers_outside_the_audience_and_erased_readers_get_no_prior(routed):
    # given: scores that rank the targeted article last
    world, audience, article, members = routed
    state = serving_state()
    row = int(state.catalogue.positions(np.array([article.pk]))[0])
    scores = np.linspace(1.0, 2.0, len(state.catalogue)).astype(np.float32)
    scores[row] = 0.0
    member, erased = sorted(members)[:2]
    outsider_pk = Reader.objects.exclude(external_id__in=members).first().pk
    reader_erase(external_id=erased)
    # when
    lift = audience_prior_scores(
        state, Reader.objects.get(external_id=member).pk, scores
    )
    # then: the member's lift lands on the article alone, up to the third best
    assert np.flatnonzero(lift).tolist() == [row]
    assert scores[row] + lift[row] == pytest.approx(np.sort(scores)[-3])
    assert audience_prior_scores(state, outsider_pk, scores) is None
    assert audience_prior_scores(state, None, scores) is None
    # and an erased reader is served nothing at all (the API answers 410)
    with pytest.raises(ReaderErased):
        feed_for_reader(external_id=erased)
