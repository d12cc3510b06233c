"""Write: the prompt built from the template and the sources, then the text provider."""

from generation.feedback import FeedbackActions
from generation.formats import FORMAT_INSTRUCTIONS, Format
from generation.models import Brief, PromptTemplate
from generation.prompts import DEFAULT_TEMPLATES, prompt_render
from generation.providers.base import (
    Draft,
    Prompt,
    SourceDocument,
    TextProvider,
    WriteRequest,
)
from recommend.audiences.audiences import audience_get_by_key

EXCERPT_WORDS = 180


def prompt_template_ensure(*, kind: str) -> PromptTemplate:
    """The template used for `kind`, with a revision so jobs can name its version.

    Rebuilt from the defaults if someone deleted it: a draft never fails for that.
    """
    template = PromptTemplate.objects.filter(kind=kind).first()
    if template is None:
        defaults = next(item for item in DEFAULT_TEMPLATES if item["kind"] == kind)
        template = PromptTemplate.objects.create(**defaults)
    if template.latest_revision_id is None:
        template.save_revision(log_action=True)
    return template


def sources_for_prompt(sources: list[SourceDocument]) -> str:
    blocks = []
    for source in sources:
        words = source.text.split()
        excerpt = " ".join(words[:EXCERPT_WORDS]) + (
            " …" if len(words) > EXCERPT_WORDS else ""
        )
        blocks.append(
            f"[id {source.page_id}] {source.title}\n"
            f"url: {source.url}\n"
            f"summary: {source.standfirst}\n"
            f"excerpt: {excerpt}"
        )
    return "\n\n".join(blocks)


def audience_describe(*, key: str) -> str:
    """The {audience} of a prompt: who the readers are and what they read most.

    A key that names no active audience is passed as is (a brief written before
    the audience retired still reads sensibly).
    """
    audience = audience_get_by_key(key=key)
    if audience is None:
        return key or "general readers"
    topics = ", ".join(
        f"{topic['name']} ({round(100 * topic.get('share', 0))}%)"
        for topic in audience.top_topics
    )
    titles = ", ".join(f"“{article['title']}”" for article in audience.top_articles)
    parts = [f"{audience.name} ({audience.key})"]
    if topics:
        parts.append(f"their reading by topic: {topics}")
    if titles:
        parts.append(f"they read most: {titles}")
    return "; ".join(parts)


def prompt_values(
    *,
    brief: Brief,
    sources: list[SourceDocument],
    feedback: str = "",
    target_words: int | None = None,
    tone: str = "",
) -> dict[str, object]:
    article_format = Format.parse(brief.format)
    return {
        "topic": brief.topic,
        "format": article_format.label,
        "format_instructions": FORMAT_INSTRUCTIONS[article_format],
        "angle": brief.angle or "none given",
        "keywords": ", ".join(brief.keywords) or "none given",
        "tone": tone or brief.tone,
        "target_words": target_words or brief.target_words,
        "section": brief.section.title if brief.section_id else "",
        "audience": audience_describe(key=brief.audience_key),
        "sources": sources_for_prompt(sources),
        "feedback": feedback,
    }


def prompt_build(*, template: PromptTemplate, values: dict[str, object]) -> Prompt:
    return Prompt(
        system=prompt_render(text=template.system_prompt, values=values),
        user=prompt_render(text=template.user_prompt, values=values),
        template_id=template.pk,
        revision_id=template.latest_revision_id,
    )


def draft_write(
    *,
    provider: TextProvider,
    brief: Brief,
    sources: list[SourceDocument],
    feedback: str = "",
    actions: FeedbackActions | None = None,
    current_words: int | None = None,
) -> tuple[Draft, Prompt]:
    """The provider's draft for the brief, and the prompt it was given.

    A regeneration writes to the length and tone its feedback asks for
    (`current_words`: the length of the version the editor saw); the comment
    itself goes to the prompt verbatim.
    """
    actions = actions or FeedbackActions()
    target_words = actions.target_words(current=current_words or brief.target_words)
    if not actions.length:
        target_words = brief.target_words
    tone = actions.tone_for(brief.tone)
    kind = PromptTemplate.Kind.REGENERATE if feedback else PromptTemplate.Kind.ARTICLE
    template = prompt_template_ensure(kind=kind)
    prompt = prompt_build(
        template=template,
        values=prompt_values(
            brief=brief,
            sources=sources,
            feedback=feedback,
            target_words=target_words,
            tone=tone,
        ),
    )
    request = WriteRequest(
        topic=brief.topic,
        angle=brief.angle,
        keywords=tuple(brief.keywords),
        tone=tone,
        target_words=target_words,
        sources=tuple(sources),
        prompt=prompt,
        feedback=feedback,
        audience=brief.audience_key,
        exclude_terms=actions.exclude,
        focus_terms=actions.focus,
        format=Format.parse(brief.format).value,
    )
    return provider.write(request), prompt
