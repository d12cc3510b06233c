"""A brief's format shapes the draft: the composer's structure and the LLM prompt."""

import re

import pytest
from django.core.management import call_command

from cms.models import ArticlePage
from generation.formats import Format
from generation.models import Brief, GenerationJob
from generation.pipeline.checks import SOURCES_HEADING, draft_check
from generation.pipeline.retrieve import sources_retrieve
from generation.pipeline.write import draft_write
from generation.providers.composer import ComposerTextProvider
from generation.services import brief_create
from tests.generation.conftest import ScriptedTextProvider

pytestmark = pytest.mark.django_db

BRIEFS = "/api/v1/briefs"
TAG = re.compile(r"<[^>]+>")


def _draft(library, article_format: str, **overrides):
    brief = brief_create(
        topic="Sleep",
        section=library.section,
        topics=[library.topics["sleep"]],
        format=article_format,
        **overrides,
    )
    retrieval = sources_retrieve(brief=brief)
    draft, prompt = draft_write(
        provider=ComposerTextProvider(), brief=brief, sources=retrieval.sources
    )
    checked = draft_check(draft=draft, retrieval=retrieval)
    headings = [
        value
        for kind, value in checked.body
        if kind == "heading" and value != SOURCES_HEADING
    ]
    return draft, checked, headings


def test_feature_has_descriptive_headings_and_a_closing(library):
    draft, checked, headings = _draft(library, "feature")
    assert draft.sections[0].heading == ""
    assert 4 <= len(headings) <= 6
    assert not any(heading.endswith("?") for heading in headings)
    assert headings[-1] == "What it adds up to"


def test_explainer_ends_with_the_bottom_line(library):
    draft, checked, headings = _draft(library, "explainer")
    assert headings[-1] == "The bottom line"
    assert any(
        heading.startswith(("The role of", "Understanding")) for heading in headings
    )


def test_qa_uses_questions_as_headings(library):
    draft, checked, headings = _draft(library, "qa")
    assert draft.title == "Sleep: your questions answered"
    assert len(headings) >= 4
    assert all(heading.endswith("?") for heading in headings)
    assert len(set(headings)) == len(headings)


def test_how_to_has_numbered_steps(library):
    draft, checked, headings = _draft(library, "how_to")
    steps = [heading for heading in headings if heading.startswith("Step ")]
    assert len(steps) >= 3
    numbers = [int(re.match(r"Step (\d+): \S", step).group(1)) for step in steps]
    assert numbers == list(range(1, len(steps) + 1))
    assert "step by step" in draft.standfirst


def test_list_has_numbered_items(library):
    draft, checked, headings = _draft(library, "list")
    items = [heading for heading in headings if re.match(r"\d+\. \S", heading)]
    assert len(items) >= 3
    assert [int(item.split(".")[0]) for item in items] == list(range(1, len(items) + 1))
    assert headings[-1] == "The takeaway"


def test_news_brief_is_a_short_inverted_pyramid_without_headings(library):
    # given: a 600-word target, which a news brief caps
    draft, checked, headings = _draft(library, "news_brief", target_words=600)
    # then
    assert headings == []
    assert checked.word_count <= 300 * 1.15
    paragraphs = [
        TAG.sub("", str(value)) for kind, value in checked.body if kind == "paragraph"
    ]
    assert len(paragraphs) >= 3
    # the lead is short and carries the most relevant facts: its source ranks first
    assert len(paragraphs[0].split()) <= 90
    assert (
        draft.sections[0].sources[0]
        == sources_retrieve(brief=Brief.objects.latest("pk")).sources[0].page_id
    )


@pytest.mark.parametrize("article_format", Format.values)
def test_the_prompt_names_the_format_for_an_llm(library, article_format):
    # given
    brief = brief_create(
        topic="Sleep", section=library.section, format=article_format, tone="warm"
    )
    provider = ScriptedTextProvider(lambda request: None)
    # when
    draft_write(
        provider=provider,
        brief=brief,
        sources=sources_retrieve(brief=brief).sources,
    )
    # then
    (request,) = provider.requests
    label = Format(article_format).label
    assert f"Format: {label}." in request.prompt.user
    assert "Tone: warm" in request.prompt.user
    assert request.format == article_format


def test_the_rest_brief_takes_a_format_and_refuses_an_unknown_one(
    library, keyed_client
):
    client = keyed_client("generation:write")
    body = {"topic": "Sleep", "section": library.section.pk, "tone": "formal"}
    # when
    accepted = client.post(BRIEFS, {**body, "format": "qa"}, format="json")
    refused = client.post(BRIEFS, {**body, "format": "sonnet"}, format="json")
    # then
    assert accepted.status_code == 202
    brief = Brief.objects.get(pk=accepted.json()["brief"])
    assert (brief.format, brief.tone) == ("qa", "formal")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["format"]


def test_generate_command_writes_the_format_asked_for(library):
    # when
    call_command(
        "generate",
        "--topic",
        "sleep",
        "--section",
        "health",
        "--format",
        "how_to",
        "--sync",
        "--no-progress",
    )
    # then
    job = GenerationJob.objects.get()
    assert (job.status, job.brief.format) == ("succeeded", "how_to")
    page = ArticlePage.objects.get(pk=job.page_id)
    headings = [
        str(block.value) for block in page.body if block.block_type == "heading"
    ]
    assert headings[0].startswith("Step 1: ")
