"""Sections of an article body: a heading and the blocks up to the next heading.

The composer (and the LLM prompt) write a body as an untitled introduction, then
headed sections, then the "Sources" list; a section regeneration rewrites one
headed section and leaves every other block, raw data and ids, as it was.
"""

import html
from dataclasses import dataclass

from django.utils.html import strip_tags

# The heading of the list of sources every draft ends with.
SOURCES_HEADING = "Sources"


@dataclass(frozen=True)
class BodySection:
    index: int  # among the headed sections, from 0
    heading: str
    start: int  # the heading block's position in the body
    end: int  # one past the section's last block

    def blocks(self, raw: list[dict]) -> list[dict]:
        """The section's blocks after its heading."""
        return raw[self.start + 1 : self.end]


def body_sections(raw: list[dict]) -> list[BodySection]:
    """The headed sections of a body's raw stream data, Sources list left out."""
    starts = [
        position for position, block in enumerate(raw) if block.get("type") == "heading"
    ]
    sections: list[BodySection] = []
    for number, start in enumerate(starts):
        heading = str(raw[start].get("value") or "")
        if heading == SOURCES_HEADING:
            break
        end = starts[number + 1] if number + 1 < len(starts) else len(raw)
        sections.append(BodySection(len(sections), heading, start, end))
    return sections


def section_html(raw: list[dict], section: BodySection) -> str:
    """The section's paragraphs as HTML (other blocks as plain paragraphs)."""
    parts = []
    for block in section.blocks(raw):
        value = block.get("value")
        if block.get("type") == "paragraph":
            parts.append(str(value))
        elif isinstance(value, str) and value.strip():
            parts.append(f"<p>{html.escape(value, quote=False)}</p>")
    return "".join(parts)


def section_words(raw: list[dict], section: BodySection) -> int:
    return len(html.unescape(strip_tags(section_html(raw, section))).split())
