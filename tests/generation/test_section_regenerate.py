"""One section of an AI draft rewritten with an editor's comment, the rest untouched."""

import html
import json

import pytest
from django.utils.html import strip_tags

from cms.models import ArticlePage
from generation.feedback import feedback_parse
from generation.models import GenerationJob
from generation.pipeline.sections import body_sections
from generation.services import (
    SectionRegenerateRefused,
    brief_create,
    brief_submit,
    draft_section_regenerate,
    generation_job_run,
)
from tests.generation.conftest import chat_reply

pytestmark = pytest.mark.django_db

SUCCEEDED = GenerationJob.Status.SUCCEEDED


def _draft(library) -> ArticlePage:
    brief = brief_create(
        topic="Sleep",
        section=library.section,
        keywords=["naps"],
        topics=[library.topics["sleep"]],
    )
    job = brief_submit(brief=brief, enqueue=False)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    job.refresh_from_db()
    return ArticlePage.objects.get(pk=job.page_id)


def _raw(page: ArticlePage) -> list[dict]:
    latest = ArticlePage.objects.get(pk=page.pk).get_latest_revision_as_object()
    return [dict(block) for block in latest.body.raw_data]


def _text(blocks: list[dict]) -> str:
    return " ".join(
        html.unescape(strip_tags(str(block["value"])))
        for block in blocks
        if block["type"] == "paragraph"
    )


def _section_on(raw: list[dict], word: str):
    """The section whose text names `word` (the composer's headings may change)."""
    return next(
        item for item in body_sections(raw) if word in _text(item.blocks(raw)).lower()
    )


def test_only_the_chosen_section_is_rewritten_shorter_without_the_excluded_term(
    library, editor
):
    # given: an AI draft in review, and its section on screens naming melatonin
    page = _draft(library)
    before = _raw(page)
    section = _section_on(before, "melatonin")
    heading = section.heading
    old_text = _text(section.blocks(before))
    assert "melatonin" in old_text
    comment = "Drop the melatonin sentence. Shorter, please."
    assert feedback_parse(comment).exclude == ("melatonin",)
    # when: the editor asks for that section to be rewritten with the comment
    job = draft_section_regenerate(
        page=page, section=heading, feedback=comment, user=editor, enqueue=False
    )
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    # then: a new revision in review, where only that section changed
    job.refresh_from_db()
    page = ArticlePage.objects.get(pk=page.pk)
    after = _raw(page)
    assert (job.section_index, job.section_heading) == (section.index, heading)
    assert page.revisions.count() == 2 and page.latest_revision_id == job.revision_id
    assert not page.live and page.current_workflow_state.status == "in_progress"
    new_section = body_sections(after)[section.index]
    assert new_section.heading == heading
    assert after[: section.start + 1] == before[: section.start + 1]
    assert after[new_section.end :] == before[section.end :]
    assert len(after[new_section.end :]) > 3  # the later sections and the Sources
    # and it obeys the comment: no melatonin, at least a fifth fewer words
    new_text = _text(new_section.blocks(after))
    assert new_text and new_text != old_text
    assert "melatonin" not in new_text.lower()
    assert len(new_text.split()) <= 0.8 * len(old_text.split())
    # the link to the section's source is kept, and the job records the rewrite
    assert 'href="' in str(new_section.blocks(after)[0]["value"])
    assert comment in job.prompt_text and heading in job.prompt_text
    assert page.ai_provenance["section"] == {"index": section.index, "heading": heading}
    assert page.ai_provenance["feedback"] == comment


def test_a_focus_leads_the_rewritten_section(library, editor):
    # given: the body-clock section, whose sentence on the evening is not its first
    page = _draft(library)
    before = _raw(page)
    index = _section_on(before, "bright light late in the evening").index
    # when
    job = draft_section_regenerate(
        page=page,
        section=index,
        feedback="Focus on the evening.",
        user=editor,
        enqueue=False,
    )
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    # then: the section opens on the evening, the other sections as they were
    after = _raw(page)
    section = body_sections(after)[index]
    first = _text(section.blocks(after)).split(". ")[0]
    assert "evening" in first.lower()
    assert (
        "evening"
        not in _text(body_sections(before)[index].blocks(before)).split(". ")[0].lower()
    )
    assert after[section.end :] == before[body_sections(before)[index].end :]


@pytest.mark.parametrize(
    ("section", "feedback", "message"),
    [
        (99, "Shorter.", "has no section 99"),
        ("Not a heading", "Shorter.", "has no section 'Not a heading'"),
        (0, "   ", "Write a comment"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(library, section, feedback, message):
    page = _draft(library)
    with pytest.raises(SectionRegenerateRefused, match=message):
        draft_section_regenerate(
            page=page, section=section, feedback=feedback, enqueue=False
        )
    assert not GenerationJob.objects.filter(kind="regenerate").exists()


def test_a_page_that_is_not_an_ai_draft_is_refused(library):
    article = library.articles["why-naps-work-and-when-they-backfire"]
    with pytest.raises(SectionRegenerateRefused, match="not an AI draft"):
        draft_section_regenerate(
            page=article, section=0, feedback="Shorter.", enqueue=False
        )


def test_the_admin_form_lists_the_sections_and_queues_a_job(
    client, editor, library, django_capture_on_commit_callbacks
):
    # given: an editor on the draft's edit view
    page = _draft(library)
    section = _section_on(_raw(page), "melatonin")
    client.force_login(editor)
    url = f"/admin/generation/drafts/{page.pk}/regenerate-section/"
    edit = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    assert f'href="{url}"' in edit
    form = client.get(url).content.decode()
    assert html.escape(section.heading) in form and "What it adds up to" in form
    # when: bad input, then a good post
    empty = client.post(url, {"section": "1", "feedback": ""})
    unknown = client.post(url, {"section": "42", "feedback": "Shorter."})
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            url, {"section": str(section.index), "feedback": "Shorter."}
        )
    # then: the errors are shown, and one job is queued for the chosen section
    assert empty.status_code == unknown.status_code == 400
    assert "This field is required" in empty.content.decode()
    assert "Select a valid choice" in unknown.content.decode()
    job = GenerationJob.objects.get(kind=GenerationJob.Kind.REGENERATE)
    assert response.status_code == 302
    assert response.url == f"/admin/generation/jobs/{job.pk}/"
    assert (job.section_index, job.section_heading, job.feedback) == (
        section.index,
        section.heading,
        "Shorter.",
    )
    assert len(callbacks) == 1 and job.status == GenerationJob.Status.QUEUED


def test_an_llm_gets_the_section_and_the_comment_and_returns_only_the_section(
    library, editor, settings, model_server
):
    # given: a draft written offline, then an OpenAI-compatible model
    page = _draft(library)
    before = _raw(page)
    section = _section_on(before, "melatonin")
    settings.GENERATION_TEXT_PROVIDER = "openai_compatible"
    settings.OPENAI_BASE_URL = model_server.base_url
    screens = library.articles["screens-scrolling-and-a-good-nights-sleep"]
    answer = {
        "html": (
            f'<p>What we read at night matters, as <a href="{screens.url}">our '
            "report on screens</a> explains.<script>x()</script></p>"
            '<p>See <a href="https://evil.example/">this</a> too.</p>'
        ),
        "sources": [screens.pk],
    }
    model_server.script(
        "/chat/completions",
        chat_reply(json.dumps(answer), prompt_tokens=300, completion_tokens=40),
    )
    comment = "Say it in two sentences, about what people read at night."
    # when
    job = draft_section_regenerate(
        page=page, section=section.index, feedback=comment, enqueue=False
    )
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    # then: the prompt held the section as it stood and the comment, verbatim
    job.refresh_from_db()
    [call] = model_server.calls("/chat/completions")
    prompt = call["messages"][-1]["content"]
    assert comment in prompt and "Return only the section" in prompt
    assert section.heading in prompt
    assert _text(section.blocks(before))[:60] in html.unescape(strip_tags(prompt))
    # and the answer, made safe, is the section; the rest is as it was
    after = _raw(page)
    new = body_sections(after)[section.index]
    values = [block["value"] for block in new.blocks(after)]
    assert values == [
        f'<p>What we read at night matters, as <a href="{screens.url}">our report '
        "on screens</a> explains.</p>",
        "<p>See this too.</p>",
    ]
    assert after[: section.start + 1] == before[: section.start + 1]
    assert after[new.end :] == before[section.end :]
    assert [flag["code"] for flag in job.flags] == ["link_removed"]
    assert (job.provider, job.tokens_in, job.tokens_out) == (
        "openai_compatible",
        300,
        40,
    )


def test_longer_draws_more_from_the_articles_the_section_links_to(library, editor):
    # given: the section on screens, which links to the screens article
    page = _draft(library)
    before = _raw(page)
    section = _section_on(before, "melatonin")
    old_text = _text(section.blocks(before))
    source = library.articles["screens-scrolling-and-a-good-nights-sleep"]
    # when
    job = draft_section_regenerate(
        page=page, section=section.index, feedback="Longer, please.", enqueue=False
    )
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    # then: the section grew with sentences of that article, the rest unchanged
    after = _raw(page)
    new = body_sections(after)[section.index]
    new_text = _text(new.blocks(after))
    assert len(new_text.split()) >= 1.2 * len(old_text.split())
    added = set(new_text.split(". ")) - set(old_text.split(". "))
    assert added and all(
        sentence.rstrip(".") in html.unescape(source.body_text()) for sentence in added
    )
    # and none says again what the section already says, reworded
    assert new_text.lower().count("blue light gets the blame") == 1
    assert after[new.end :] == before[section.end :]
    job.refresh_from_db()
    assert job.sources == [source.pk]
