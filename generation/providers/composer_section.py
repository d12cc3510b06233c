"""The offline composer's rewrite of one section, as an editor's comment asks.

The section's own sentences are the material: those on an excluded term go,
those on a focus term lead, and the section is cut (or, from the sources it
links to, extended) to the length asked for. Sentence boundaries are found in
the HTML itself, so the links kept are the section's own, untouched.
"""

import html
import re
from dataclasses import dataclass

from django.utils.html import strip_tags

from generation.providers.base import DraftSection, ProviderError, SectionRequest
from generation.similarity import text_sentences, text_terms

_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
# A sentence ends at . ! or ? followed by space and a capital, a digit, a quote or
# a tag (outside a tag: links hold no sentence end in the composer's drafts).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"‘'(<])")
MIN_SENTENCE_WORDS = 6
# A source sentence whose terms are mostly in one of the section's says it again.
REPEAT_SHARE = 0.7


@dataclass
class _Sentence:
    paragraph: int
    position: int
    html: str
    words: int
    focus: int
    linked: bool


def _sentences(request: SectionRequest, excluded: set[str], focus: set[str]):
    paragraphs = _PARAGRAPH.findall(request.html) or [request.html]
    found: list[_Sentence] = []
    for number, paragraph in enumerate(paragraphs):
        for piece in _SENTENCE_END.split(paragraph.strip()):
            text = html.unescape(strip_tags(piece)).strip()
            if not text:
                continue
            terms = set(text_terms(text))
            if excluded & terms:
                continue
            found.append(
                _Sentence(
                    paragraph=number,
                    position=len(found),
                    html=piece.strip(),
                    words=len(text.split()),
                    focus=len(focus & terms),
                    linked="<a " in piece,
                )
            )
    return found


def _extra(request: SectionRequest, have: list[_Sentence], excluded: set[str]):
    """Sentences of the linked sources not in the section yet, for "longer"."""
    present = [
        set(text_terms(html.unescape(strip_tags(sentence.html)))) for sentence in have
    ]
    for source in request.sources:
        for paragraph in source.text.split("\n"):
            for text in text_sentences(paragraph):
                words = len(text.split())
                terms = set(text_terms(text))
                if words < MIN_SENTENCE_WORDS or excluded & terms:
                    continue
                # The section may hold it reworded ("According to …, blue light…").
                if any(
                    len(terms & kept) >= REPEAT_SHARE * len(terms) for kept in present
                ):
                    continue
                present.append(terms)
                yield text, words


def section_rewrite(request: SectionRequest) -> DraftSection:
    excluded = {stem for term in request.exclude_terms for stem in text_terms(term)}
    focus = {stem for term in request.focus_terms for stem in text_terms(term)}
    sentences = _sentences(request, excluded, focus)
    if not sentences:
        raise ProviderError(
            "Nothing of the section is left once the subjects the comment rules "
            "out are taken away: delete the section instead.",
            retryable=False,
        )
    target = request.target_words
    total = sum(sentence.words for sentence in sentences)
    # Shorter: drop the least useful sentence until the section fits: one off
    # the focus first, then one without a link, the later before the earlier.
    while total > target and len(sentences) > 1:
        drop = min(
            sentences,
            key=lambda sentence: (sentence.focus, sentence.linked, -sentence.position),
        )
        sentences.remove(drop)
        total -= drop.words
    added: list[str] = []
    for text, words in _extra(request, sentences, excluded):
        if total >= target * 0.95:
            break
        added.append(html.escape(text, quote=False))
        total += words
    if focus and any(sentence.focus for sentence in sentences):
        # The focus leads: one paragraph, the sentences on it first.
        ordered = sorted(
            sentences, key=lambda sentence: (-bool(sentence.focus), sentence.position)
        )
        paragraphs = [[sentence.html for sentence in ordered]]
    else:
        grouped: dict[int, list[str]] = {}
        for sentence in sentences:
            grouped.setdefault(sentence.paragraph, []).append(sentence.html)
        paragraphs = list(grouped.values())
    if added:
        paragraphs.append(added)
    body = "".join(f"<p>{' '.join(paragraph)}</p>" for paragraph in paragraphs)
    return DraftSection(
        heading=request.heading,
        html=body,
        sources=tuple(source.page_id for source in request.sources),
    )
