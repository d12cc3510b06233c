"""The offline composer writes a deterministic, grounded, sanitised article."""

import re

import pytest

from cms.models import ArticlePage
from generation.models import Brief
from generation.pipeline.checks import draft_check, live_articles_for_hrefs
from generation.pipeline.retrieve import sources_retrieve
from generation.pipeline.write import draft_write
from generation.providers.base import Prompt, SourceDocument, WriteRequest
from generation.providers.composer import ComposerTextProvider
from generation.services import brief_create

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="([^"]*)"')
TRANSITION_PHRASES = (
    "The clearest place to start is",
    "The picture widens in",
    "comes at the subject from another direction",
    "There is more to it, as",
    "Finally, ",
)


def _brief(library, **overrides) -> Brief:
    values = {
        "topic": "Sleep",
        "section": library.section,
        "keywords": ["naps", "body clock"],
        "topics": [library.topics["sleep"]],
    }
    return brief_create(**{**values, **overrides})


def test_same_brief_and_sources_give_the_same_article(library):
    # given
    brief = _brief(library)
    sources = sources_retrieve(brief=brief).sources
    # when
    first, _ = draft_write(
        provider=ComposerTextProvider(), brief=brief, sources=sources
    )
    second, _ = draft_write(
        provider=ComposerTextProvider(), brief=brief, sources=sources
    )
    # then
    assert first == second
    assert first.title == "Sleep: what our reporting shows"
    assert first.provider == "composer"


def test_every_link_points_to_a_live_source_article(library):
    # given
    brief = _brief(library)
    sources = sources_retrieve(brief=brief).sources
    # when
    draft, _ = draft_write(
        provider=ComposerTextProvider(), brief=brief, sources=sources
    )
    # then
    hrefs = {href for section in draft.sections for href in HREF.findall(section.html)}
    resolved = live_articles_for_hrefs(hrefs)
    assert hrefs and set(resolved) == hrefs
    source_ids = {source.page_id for source in sources}
    assert {page.pk for page in resolved.values()} <= source_ids
    cited = {page_id for section in draft.sections for page_id in section.sources}
    assert cited == source_ids
    # the sources on sleep come first: the topic and the keywords both point there
    assert (
        sources[0].page_id
        == library.articles["why-naps-work-and-when-they-backfire"].pk
    )


def test_sections_read_as_an_article_with_one_source_each(library):
    # given
    brief = _brief(library, angle="")
    sources = sources_retrieve(brief=brief).sources
    # when
    draft, _ = draft_write(
        provider=ComposerTextProvider(), brief=brief, sources=sources
    )
    # then: introduction, 3-5 source sections, closing
    intro, *middle, closing = draft.sections
    assert intro.heading == "" and "draws together" in intro.html
    assert 3 <= len(middle) <= 5
    for section, source in zip(middle, sources, strict=False):
        assert section.heading == source.title
        assert section.sources == (source.page_id,)
        assert f'href="{source.url}"' in section.html
        # a transition sentence leads into the source's own sentences
        assert any(phrase in section.html for phrase in TRANSITION_PHRASES)
    assert closing.heading == "What it adds up to"
    assert closing.html.startswith("<p>Taken together")


def test_draft_from_the_composer_has_the_expected_block_structure(library):
    # given
    brief = _brief(library)
    retrieval = sources_retrieve(brief=brief)
    draft, _ = draft_write(
        provider=ComposerTextProvider(), brief=brief, sources=retrieval.sources
    )
    # when
    checked = draft_check(draft=draft, retrieval=retrieval)
    # then
    kinds = [kind for kind, _ in checked.body]
    assert kinds[0] == "paragraph"
    headings = [value for kind, value in checked.body if kind == "heading"]
    assert headings[-2:] == ["What it adds up to", "Sources"]
    links = [value["page"].pk for kind, value in checked.body if kind == "article_link"]
    assert links == checked.cited_ids
    assert kinds[-len(links) :] == ["article_link"] * len(links)
    assert 150 <= checked.word_count <= 3000
    assert checked.flags == []


def test_source_text_that_looks_like_markup_is_escaped_not_obeyed(db):
    # given: a source whose text carries a script and an event handler
    evil = SourceDocument(
        page_id=1,
        title="A <b>bold</b> title",
        url="/health/a/",
        standfirst="",
        text=(
            "Researchers say <script>alert(1)</script> sleep matters a great deal. "
            'Another sentence has <img src=x onerror="alert(2)"> inside it too.'
        ),
    )
    request = WriteRequest(
        topic="Sleep",
        angle="",
        keywords=(),
        tone="",
        target_words=300,
        sources=(evil,),
        prompt=Prompt(system="", user=""),
    )
    # when
    draft = ComposerTextProvider().write(request)
    # then
    html = "".join(section.html for section in draft.sections)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert (
        draft.sections[1].heading == "A <b>bold</b> title"
    )  # plain text, checked later


def test_angle_and_question_shape_the_headline(library):
    # given
    provider = ComposerTextProvider()
    sources = sources_retrieve(brief=_brief(library)).sources
    # when
    with_angle, _ = draft_write(
        provider=provider,
        brief=_brief(library, angle="Why teenagers need more"),
        sources=sources,
    )
    question, _ = draft_write(
        provider=provider,
        brief=_brief(library, topic="Do naps help?"),
        sources=sources,
    )
    # then
    assert with_angle.title == "Sleep: why teenagers need more"
    assert question.title == "Do naps help?"
    assert ArticlePage.objects.count() == 6  # writing saves nothing
