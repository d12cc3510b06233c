"""Briefs for an audience: sources from its interests, the audience in provenance."""

import numpy as np
import pytest

from cms.models import ArticlePage, SectionPage
from generation.models import Brief
from generation.pipeline.retrieve import sources_retrieve
from generation.providers.base import Draft, DraftSection, WriteRequest
from generation.services import brief_create, brief_submit, generation_job_run
from recommend.audiences.audiences import audience_refresh
from recommend.models import Audience, ReaderAudience
from tests.generation.conftest import ScriptedTextProvider
from tests.recommend.scenario import World, world_build

pytestmark = pytest.mark.django_db

# Words no article of the world contains: only the audience can pick sources.
NEUTRAL_TOPIC = "What to read this weekend"


@pytest.fixture
def world_audience() -> tuple[World, Audience]:
    """A simulated world, its audiences, and the largest cluster audience."""
    world = world_build(n_topics=6, per_topic=8, n_readers=150, n_events=5000)
    audience_refresh(model_version=world.model_version)
    audience = Audience.objects.filter(kind="cluster", active=True).order_by(
        "-size", "pk"
    )[0]
    return world, audience


def _brief(audience_key: str = "") -> Brief:
    return brief_create(
        topic=NEUTRAL_TOPIC,
        section=SectionPage.objects.get(slug="world"),
        audience_key=audience_key,
    )


def _topic_of(world: World, page_id: int) -> int:
    return world.topics[world.article_topic[page_id]].pk


def test_a_targeted_brief_draws_its_sources_from_the_audience_interests(
    world_audience, settings
):
    # given: an audience whose members, by simulation, prefer known topics
    world, audience = world_audience
    top_topic_ids = [topic["id"] for topic in audience.top_topics]
    member_ids = set(
        ReaderAudience.objects.filter(audience=audience).values_list(
            "reader_id", flat=True
        )
    )
    rows = [index for index, r in enumerate(world.readers) if r.pk in member_ids]
    preferred = int(np.argmax(world.preferences[rows].mean(axis=0)))
    assert world.topics[preferred].pk == top_topic_ids[0]
    most_read = [article["id"] for article in audience.top_articles]
    assert most_read
    # when
    targeted = sources_retrieve(brief=_brief(audience.key))
    general = sources_retrieve(brief=_brief())
    # then: every source is on one of the audience's top topics ...
    source_ids = [source.page_id for source in targeted.sources]
    assert len(source_ids) == settings.GENERATION_MAX_SOURCES
    assert {_topic_of(world, pk) for pk in source_ids} <= set(top_topic_ids)
    # ... its most-read articles come first, best-read first among equals ...
    expected = most_read[: len(source_ids)]
    assert set(source_ids[: len(expected)]) == set(expected)
    # ... and without the audience the same words find nothing to stand on.
    assert general.sources == []


def test_a_targeted_draft_records_its_audience_and_the_prompt_names_it(
    world_audience, use_text_provider
):
    # given
    world, audience = world_audience

    def write(request: WriteRequest) -> Draft:
        words = " ".join(f"insight{n}" for n in range(220))
        return Draft(
            title="A weekend reading list",
            standfirst="Stories chosen for you.",
            sections=[
                DraftSection(
                    heading="Picks",
                    html=f"<p>{words}</p>",
                    sources=(request.sources[0].page_id,),
                )
            ],
            provider="scripted",
            model="scripted-1",
        )

    provider = use_text_provider(ScriptedTextProvider(write))
    job = brief_submit(brief=_brief(audience.key), enqueue=False)
    # when
    status = generation_job_run(job_id=job.pk)
    # then
    assert status == "succeeded"
    job.refresh_from_db()
    page = ArticlePage.objects.get(pk=job.page_id)
    assert page.ai_provenance["audience"] == audience.key
    assert page.ai_provenance["audience_name"] == audience.name
    request = provider.requests[0]
    assert request.audience == audience.key
    assert f"Audience: {audience.name} ({audience.key})" in request.prompt.user
    assert audience.top_topics[0]["name"] in request.prompt.user
    assert audience.top_articles[0]["title"] in request.prompt.user


def test_an_unknown_audience_is_refused_by_the_api(keyed_client, db):
    # given
    client = keyed_client("generation:write")
    # when
    response = client.post(
        "/api/v1/briefs",
        {"topic": "Sleep", "section": 1, "audience": "nobody-reads-this"},
        format="json",
    )
    # then
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert "audience" in details
    assert not Brief.objects.exists()
