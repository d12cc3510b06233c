"""An editor's feedback is read as actions and obeyed by the regeneration."""

import re

import pytest

from cms.models import ArticlePage
from generation.feedback import FeedbackActions, feedback_parse
from generation.models import GenerationJob
from generation.pipeline.checks import SOURCES_HEADING, plain_text
from generation.providers.base import Draft, DraftSection
from generation.services import (
    brief_create,
    brief_submit,
    draft_regenerate,
    generation_job_run,
)
from tests.generation.conftest import ScriptedTextProvider

pytestmark = pytest.mark.django_db

VACCINE_FEEDBACK = (
    "the vaccines section has nothing to do with sleep. Focus on night-shift workers"
)
VACCINES = "how-vaccines-teach-the-immune-system"
CELL_CLOCKS = "the-tiny-clocks-inside-every-living-cell"
SUCCEEDED = GenerationJob.Status.SUCCEEDED
HREF = re.compile(r'href="([^"]*)"')


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        (
            VACCINE_FEEDBACK,
            FeedbackActions(exclude=("vaccines",), focus=("night-shift workers",)),
        ),
        ("Shorter, please.", FeedbackActions(length="shorter")),
        ("Far too long; cut it down.", FeedbackActions(length="shorter")),
        ("Longer: go deeper.", FeedbackActions(length="longer")),
        (
            "Less about money, more about families. About 400 words.",
            FeedbackActions(
                exclude=("money",), focus=("families",), length="words", words=400
            ),
        ),
        (
            "Drop the vaccines part and focus on shift work and jet lag.",
            FeedbackActions(exclude=("vaccines",), focus=("shift work", "jet lag")),
        ),
        (
            "Do not mention vaccines or antibiotics; make it less formal.",
            FeedbackActions(exclude=("vaccines", "antibiotics"), tone="less formal"),
        ),
        ("Remove the bit on naps.", FeedbackActions(exclude=("naps",))),
        ("It is not clear enough.", FeedbackActions()),
        ("", FeedbackActions()),
    ],
)
def test_a_comment_is_read_as_actions(comment, expected):
    assert feedback_parse(comment) == expected


def test_length_actions_set_the_target_from_the_length_the_editor_saw():
    assert FeedbackActions(length="shorter").target_words(current=800) == 560
    assert FeedbackActions(length="longer").target_words(current=500) == 700
    assert FeedbackActions(length="words", words=450).target_words(current=800) == 450
    # never below a draft the checks accept
    assert FeedbackActions(length="shorter").target_words(current=210) == 200


def _draft_job(library) -> GenerationJob:
    brief = brief_create(
        topic="Sleep",
        section=library.section,
        topics=[
            library.topics[slug]
            for slug in ("sleep", "biology")
            if slug in library.topics
        ],
    )
    job = brief_submit(brief=brief, enqueue=False)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    job.refresh_from_db()
    return job


def _revision_blocks(page: ArticlePage) -> tuple[list[str], list[str], list[int]]:
    """Headings, paragraph texts (before the sources list) and the cited pages."""
    page = page.get_latest_revision_as_object()
    headings, paragraphs, cited = [], [], []
    for block in page.body:
        if block.block_type == "heading":
            headings.append(str(block.value))
        elif block.block_type == "paragraph":
            paragraphs.append(block.value.source)
        elif block.block_type == "article_link":
            cited.append(block.value["page"].pk)
    return headings, paragraphs, cited


def _words(page: ArticlePage) -> int:
    page = page.get_latest_revision_as_object()
    headings, paragraphs, _ = _revision_blocks(page)
    return (
        len(page.standfirst.split())
        + sum(
            len(heading.split()) for heading in headings if heading != SOURCES_HEADING
        )
        + sum(len(plain_text(paragraph).split()) for paragraph in paragraphs)
    )


def _regenerate(page: ArticlePage, feedback: str, editor) -> GenerationJob:
    job = draft_regenerate(page=page, feedback=feedback, user=editor, enqueue=False)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    job.refresh_from_db()
    return job


def test_vaccine_feedback_drops_the_vaccines_section_and_leads_with_shift_work(
    feedback_library, editor
):
    # given: a sleep draft that drew on the vaccines article
    library = feedback_library
    vaccines = library.articles[VACCINES].pk
    cell_clocks = library.articles[CELL_CLOCKS].pk
    job = _draft_job(library)
    page = ArticlePage.objects.get(pk=job.page_id)
    headings, paragraphs, cited = _revision_blocks(page)
    assert vaccines in cited
    assert "vaccin" in " ".join(headings + paragraphs).lower()
    # when: the editor's comment from the issue
    regeneration = _regenerate(page, VACCINE_FEEDBACK, editor)
    # then: the job records what it understood, the prompt has the comment verbatim
    assert regeneration.feedback_actions == {
        "exclude": ["vaccines"],
        "focus": ["night-shift workers"],
        "length": "",
        "words": None,
        "tone": "",
    }
    assert VACCINE_FEEDBACK in regeneration.prompt_text
    # and the new revision has no vaccine section, text or source
    page = ArticlePage.objects.get(pk=page.pk)
    assert page.latest_revision_id == regeneration.revision_id
    headings, paragraphs, cited = _revision_blocks(page)
    assert "vaccin" not in " ".join(headings + paragraphs).lower()
    assert vaccines not in cited and vaccines not in regeneration.sources
    linked = {href for paragraph in paragraphs for href in HREF.findall(paragraph)}
    assert library.articles[VACCINES].url not in linked
    # and the source on night shifts comes first
    assert cited[0] == cell_clocks == regeneration.sources[0]
    assert page.ai_provenance["feedback_actions"]["exclude"] == ["vaccines"]


def test_shorter_gives_at_least_a_fifth_fewer_words(library, editor):
    # given
    job = _draft_job(library)
    page = ArticlePage.objects.get(pk=job.page_id)
    before = _words(page)
    # when
    _regenerate(page, "Shorter, please.", editor)
    # then
    after = _words(ArticlePage.objects.get(pk=page.pk))
    assert after <= 0.8 * before, (before, after)
    assert after >= 150


def test_an_llm_gets_the_comment_verbatim_and_the_obeyed_sources(
    feedback_library, editor, use_text_provider
):
    # given: a provider that writes one section per source it is given
    library = feedback_library
    job = _draft_job(library)
    page = ArticlePage.objects.get(pk=job.page_id)

    def make(request) -> Draft:
        return Draft(
            title="Sleep and shift work",
            standfirst="What night shifts do to sleep.",
            sections=[
                DraftSection(
                    heading=source.title,
                    html=f"<p>{' '.join(source.text.split()[:60])} "
                    f'<a href="{source.url}">More</a>.</p>',
                    sources=(source.page_id,),
                )
                for source in request.sources
            ],
            provider="scripted",
            model="scripted-1",
        )

    provider = use_text_provider(ScriptedTextProvider(make))
    # when
    _regenerate(page, VACCINE_FEEDBACK + " About 300 words.", editor)
    # then
    (request,) = provider.requests
    assert request.feedback == VACCINE_FEEDBACK + " About 300 words."
    assert VACCINE_FEEDBACK in request.prompt.user
    assert "about 300 words" in request.prompt.user.lower()
    assert request.target_words == 300
    source_ids = [source.page_id for source in request.sources]
    assert library.articles[VACCINES].pk not in source_ids
    assert source_ids[0] == library.articles[CELL_CLOCKS].pk
    assert request.exclude_terms == ("vaccines",)
