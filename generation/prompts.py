"""Default prompt templates and the rendering of their named placeholders."""

import re
from collections.abc import Mapping

ARTICLE_SYSTEM = """\
You are a staff writer for a news and features publication. You write clear, \
accurate articles grounded only in the source articles you are given: every fact \
you state comes from a source, and every section lists the ids of the sources it \
draws on. Link to a source with <a href="its url">words</a>, using the url given. \
Never invent facts, quotes, numbers, people or links.
Write each section's body as HTML using only <p>, <b>, <i>, <a href>, <ul>, <ol> \
and <li>.
Answer with one JSON object and nothing else, shaped like this:
{"title": "...", "standfirst": "one or two sentences", "sections": \
[{"heading": "...", "html": "<p>...</p>", "sources": [12, 34]}], \
"seo_title": "the title for search results, at most 60 characters", \
"search_description": "one sentence for search results and sharing, at most 155 \
characters"}"""

ARTICLE_USER = """\
Write an article of about {target_words} words.
Format: {format}. {format_instructions}
Topic or question: {topic}
Angle: {angle}
Keywords: {keywords}
Tone: {tone}
Section: {section}
Audience: {audience}

Follow the format. Open with a lead that answers the topic and the angle; \
write headings of your own from what each section says (never a source's \
title); move between sections with transitions; it must read as an article, \
not a list of quotes.

Sources (cite them by id):
{sources}
"""

REGENERATE_USER = (
    ARTICLE_USER
    + """
An editor rejected the previous draft with this feedback. Address it fully:
{feedback}
"""
)

SECTION_SYSTEM = """\
You are a staff writer for a news and features publication, revising one section \
of a draft article an editor commented on. Keep every fact grounded in the \
section as given and in the source articles listed; never invent facts, quotes, \
numbers, people or links. Keep its links (<a href="url">words</a>) where they \
still fit. Write the section's body as HTML using only <p>, <b>, <i>, <a href>, \
<ul>, <ol> and <li>, without its heading.
Answer with one JSON object and nothing else, shaped like this:
{"html": "<p>...</p>", "sources": [12, 34]}"""

SECTION_USER = """\
Rewrite only this section of the article "{title}" (topic: {topic}), in about \
{target_words} words, tone: {tone}. Return only the section, nothing else of the \
article.

Section heading: {heading}
Section as it stands:
{section}

The editor's comment on this section. Address it fully:
{feedback}

Sources the section may draw on (cite them by id):
{sources}
"""

COVER_USER = """\
An editorial illustration for an article titled "{title}" about {topic}. \
No text, no logos, no recognisable faces. Calm colours, clean composition."""

DEFAULT_TEMPLATES = [
    {
        "kind": "article",
        "name": "Article draft",
        "system_prompt": ARTICLE_SYSTEM,
        "user_prompt": ARTICLE_USER,
    },
    {
        "kind": "regenerate",
        "name": "Article regeneration with editor feedback",
        "system_prompt": ARTICLE_SYSTEM,
        "user_prompt": REGENERATE_USER,
    },
    {
        "kind": "section",
        "name": "One section rewritten with editor feedback",
        "system_prompt": SECTION_SYSTEM,
        "user_prompt": SECTION_USER,
    },
    {
        "kind": "cover",
        "name": "Cover image",
        "system_prompt": "",
        "user_prompt": COVER_USER,
    },
]

# Only {word} is a placeholder, so JSON examples such as {"title": ...} pass as is.
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def prompt_render(*, text: str, values: Mapping[str, object]) -> str:
    """The template with every known placeholder filled; unknown ones stay."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _PLACEHOLDER.sub(fill, text)
