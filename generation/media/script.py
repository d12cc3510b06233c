"""What is read aloud: an article's approved text as chapters of plain sentences.

Chapters follow the headings. Links are read as their text, lists item by item,
quotes with who said them, images by their caption; links to other articles are
navigation and are not read.
"""

import html
import re
from collections import Counter
from dataclasses import dataclass, field

from django.utils.html import strip_tags

from cms.models import ArticlePage

SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]?\s+(?=[\"“‘(]?[A-Z0-9])")
BLOCK_END = re.compile(r"</(p|li|h[1-6]|blockquote)>|<br\s*/?>", re.IGNORECASE)
WORD = re.compile(r"[a-z][a-z'’-]+")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his how in into is it "
    "its more most not of on or our she so than that the their them then there "
    "these they this those to was we were what when which who will with you your "
    "can could would should may might also just about after before over under "
    "one two been being do does did if no yes all any some such very".split()
)
INTRODUCTION = "Introduction"


@dataclass
class ScriptChapter:
    title: str
    paragraphs: list[str] = field(default_factory=list)


def html_to_paragraphs(source: str) -> list[str]:
    """Rich text as plain paragraphs (one per paragraph or list item)."""
    text = BLOCK_END.sub("\n", source)
    lines = (html.unescape(strip_tags(line)) for line in text.split("\n"))
    return [" ".join(line.split()) for line in lines if line.strip()]


def sentences_split(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(text) if part.strip()]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?…" else f"{text}."


def narration_script(*, page: ArticlePage) -> list[ScriptChapter]:
    """The chapters of `page` (pass the approved, live version)."""
    opening = ScriptChapter(title=INTRODUCTION, paragraphs=[_sentence(page.title)])
    if page.standfirst.strip():
        opening.paragraphs.append(_sentence(page.standfirst))
    chapters = [opening]
    for block in page.body:
        current = chapters[-1]
        kind, value = block.block_type, block.value
        if kind == "heading":
            title = str(value).strip()
            chapters.append(ScriptChapter(title=title, paragraphs=[_sentence(title)]))
        elif kind == "paragraph":
            current.paragraphs.extend(
                _sentence(text) for text in html_to_paragraphs(value.source)
            )
        elif kind == "quote":
            text = " ".join(value["text"].split())
            who = (value.get("attribution") or "").strip()
            if text:
                said = f"{who} said: {text}" if who else f"Quote: {text}"
                current.paragraphs.append(_sentence(said))
        elif kind == "image":
            caption = (value.get("caption") or "").strip()
            if caption:
                current.paragraphs.append(_sentence(f"Picture: {caption}"))
    return [chapter for chapter in chapters if chapter.paragraphs]


def key_sentences(chapters: list[ScriptChapter], *, count: int = 3) -> list[str]:
    """The `count` sentences that carry the article's most frequent content words,
    in reading order (a simple frequency summary: no model, nothing to approve)."""
    sentences = [
        sentence
        for chapter in chapters
        for paragraph in chapter.paragraphs[1 if chapter.title else 0 :]
        for sentence in sentences_split(paragraph)
        if 6 <= len(sentence.split()) <= 30
    ]
    words = Counter(
        word
        for sentence in sentences
        for word in WORD.findall(sentence.lower())
        if word not in STOPWORDS
    )

    def score(sentence: str) -> float:
        found = [w for w in WORD.findall(sentence.lower()) if w not in STOPWORDS]
        return sum(words[w] for w in found) / (len(found) + 2)

    best = sorted(range(len(sentences)), key=lambda i: -score(sentences[i]))[:count]
    return [sentences[i] for i in sorted(best)]
