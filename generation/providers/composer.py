"""The offline writer: an article composed from the sources' own sentences.

Sentences are ranked by TextRank over TF-IDF sentence similarity, blended with
their relevance to the brief (topic, angle, keywords and an editor's focus). The
article is then planned, not stitched:

- a lead that answers the brief: its question or angle, then the sentence that
  best answers it, linked to its source;
- one section per source, headed by what its kept sentences are about (their
  most distinctive phrases, or the angle), not by the source's title;
- no sentence that opens on a reference it cannot resolve ("It", "These",
  "However"...) unless the sentence it leans on comes right before it;
- each source linked once by its title, later links by their subject, so no link
  text repeats; the source's attribution is woven into a sentence, not a
  transition of its own;
- sentences added and dropped until the length is within a few percent of the
  target.

The format (`generation.formats`) shapes it: questions as headings for Q&A,
numbered steps for a how-to, numbered items for a list, a short inverted pyramid
without headings for a news brief. The same request always gives the same
article.
"""

import hashlib
import html
import re
from dataclasses import dataclass

import numpy as np

from generation.formats import Format
from generation.providers.base import (
    Draft,
    DraftSection,
    ProviderError,
    SectionRequest,
    SourceDocument,
    TextProvider,
    Usage,
    WriteRequest,
)
from generation.providers.composer_section import section_rewrite
from generation.similarity import (
    STOPWORDS,
    TfidfSpace,
    cosine_similarities,
    text_rank,
    text_sentences,
    text_terms,
)

MAX_SECTIONS = 5
MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_WORDS = 45
# Sentences closer than this to one already chosen say the same thing twice.
REDUNDANCY_LIMIT = 0.35
CENTRALITY_WEIGHT = 0.55
RELEVANCE_WEIGHT = 0.45
LEAD_BONUS = 0.1
# The length the composer aims for, as a share of the target: inside it, stop.
LENGTH_TOLERANCE = 0.06
NEWS_BRIEF_MAX_WORDS = 300
SEO_TITLE_WORDS_MAX = 60  # characters, as search results show them
SEARCH_DESCRIPTION_MAX = 155

HEADLINES = [
    "{Topic}: what our reporting shows",
    "{Topic}, explained",
    "What we know about {topic}",
    "{Topic}: the story so far",
    "Making sense of {topic}",
]
# Openings that lean on the sentence before: kept only right after it.
REFERRING_OPENERS = frozenset(
    """it its it's they they're their theirs them this these that those he she his
    her hers him such both another either neither here but and so also yet still
    however instead meanwhile likewise similarly nevertheless nonetheless thus
    therefore hence then otherwise besides moreover furthermore indeed
    conversely accordingly consequently later afterwards too""".split()
)
REFERRING_PHRASES = (
    "as a result",
    "for example",
    "for instance",
    "in other words",
    "even so",
    "on the other hand",
    "at the same time",
    "by contrast",
    "in turn",
    "in short",
    "the same",
    "the latter",
    "the former",
    "the other",
    "one of them",
    "in that case",
    "in this case",
    "even then",
    "on top of that",
    "what is more",
)
ATTRIBUTION_VERBS = ["explains", "reports", "shows", "describes", "sets out", "notes"]
# Words that make poor headings: verbs, vague quantities, adverbs.
WEAK_HEADING_WORDS = frozenset(
    """make makes made help helps helped tend tends take takes took get gets got use
    uses used need needs like well new good many much less few several whole
    keep keeps kept find finds found say says said show shows shown seem seems
    come comes came give gives gave go goes went know knows known mean means
    want wants become becomes part parts way ways thing things lot lots kind
    sort people person year years day days time times often usually really
    simply rather quite enough little big small large long short high low
    first second last next early late better best worse worst right left""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_QUESTION_WORDS = ("why", "how", "what", "who", "when", "where", "whether", "which")


@dataclass
class _Sentence:
    row: int
    source_index: int
    position: int  # order within its source
    text: str
    words: int
    previous: int | None  # the row right before it in its paragraph, if kept
    refers_back: bool
    score: float = 0.0
    relevance: float = 0.0


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _in_prose(topic: str) -> str:
    """The topic as it reads mid-sentence: lower case unless it has capitals inside."""
    topic = topic.strip().rstrip("?.!")
    return topic if any(char.isupper() for char in topic[1:]) else topic.lower()


def _stable_index(text: str, modulo: int) -> int:
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % modulo


def _link(source: SourceDocument, text: str) -> str:
    """An <a> to the source's page; the text is escaped here, once."""
    href = html.escape(source.url, quote=True)
    return f'<a href="{href}">{html.escape(text, quote=False)}</a>'


_PRONOUNS = frozenset(
    """it its it's they they're their theirs them these those this he him his she
    her""".split()
)
_CONNECTIVES = frozenset("though however too also instead".split())
_BEFORE_DEMONSTRATIVE = frozenset(
    """when if as because with of in on for from by at and but so while although
    after before during""".split()
)
# A pronoun this early in a sentence most likely points at the one before.
PRONOUN_WINDOW = 8


def refers_back(text: str) -> bool:
    """Whether a sentence opens on a reference to what came before it."""
    lowered = text.lower().lstrip("\"'“‘(")
    first = re.split(r"[\s,;:]+", lowered, maxsplit=1)[0].strip(".,;:!?\"'”’")
    if first in REFERRING_OPENERS:
        return True
    return any(
        lowered.startswith(phrase + " ") or lowered.startswith(phrase + ",")
        for phrase in REFERRING_PHRASES
    )


def leans_back(text: str) -> bool:
    """Stricter than `refers_back`: also a pronoun, "that gap" or "though" early on,
    which the composer treats the same way (kept only after its sentence)."""
    if refers_back(text):
        return True
    words = [word.strip(".,;:!?\"'”’()") for word in text.lower().split()]
    early = words[:PRONOUN_WINDOW]
    for position, word in enumerate(early):
        if word in _PRONOUNS or word in _CONNECTIVES:
            return True
        if word == "that" and position and early[position - 1] in _BEFORE_DEMONSTRATIVE:
            return True
    return False


def _heading_word(word: str, position: int) -> str:
    """A word as a heading writes it: names and acronyms keep their capitals."""
    if word.isupper() and len(word) > 1:
        return word
    if position > 0 and not word.islower():
        return word
    return word.lower()


def _shortened(text: str, limit: int) -> str:
    """The text cut at a word to fit `limit` characters, marked with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _plain_words(fragment: str) -> int:
    return len(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


class ComposerTextProvider(TextProvider):
    name = "composer"
    model = "composer-2"

    def write(self, request: WriteRequest) -> Draft:
        sources = list(request.sources)[:MAX_SECTIONS]
        if not sources:
            raise ProviderError(
                "The composer needs at least one live source article.",
                retryable=False,
            )
        composition = _Composition(request=request, sources=sources)
        title, standfirst, sections = composition.article()
        return Draft(
            title=title,
            standfirst=standfirst,
            sections=sections,
            provider=self.name,
            model=self.model,
            seo_title=_shortened(title, SEO_TITLE_WORDS_MAX),
            search_description=_shortened(
                composition.summary or standfirst, SEARCH_DESCRIPTION_MAX
            ),
        )

    def rewrite_section(self, request: SectionRequest) -> tuple[DraftSection, Usage]:
        return section_rewrite(request), Usage()


class _Composition:
    """One article being composed: the ranked sentences and the plan for them."""

    def __init__(self, *, request: WriteRequest, sources: list[SourceDocument]):
        self.request = request
        self.format = Format.parse(request.format)
        self.sources = sources
        self.topic = _in_prose(request.topic)
        self.target = request.target_words
        if self.format == Format.NEWS_BRIEF:
            self.target = min(self.target, NEWS_BRIEF_MAX_WORDS)
        excluded = {stem for term in request.exclude_terms for stem in text_terms(term)}
        self.sentences = self._split(sources, excluded)
        if not self.sentences:
            raise ProviderError(
                "The source articles have no usable sentences.", retryable=False
            )
        self.lowercase_words = self._lowercase_words(sources)
        self.vectors = self._score()

    # reading the sources

    @staticmethod
    def _split(sources: list[SourceDocument], excluded: set[str]) -> list[_Sentence]:
        sentences: list[_Sentence] = []
        seen: set[str] = set()
        for index, source in enumerate(sources):
            # A quotation lifted out of its quote marks would speak for the
            # article: quotes are left to the source.
            quoted = {" ".join(quote.split()) for quote in source.quotes}
            position = 0
            for paragraph in source.text.split("\n"):
                paragraph = " ".join(paragraph.split())
                previous: int | None = None
                if not paragraph or paragraph in quoted:
                    continue
                for text in text_sentences(paragraph):
                    words = len(text.split())
                    usable = (
                        MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS
                        and not text.endswith(":")
                        and text not in seen
                        # The editor asked for this subject to go.
                        and not excluded & set(text_terms(text))
                    )
                    if not usable:
                        previous = None
                        continue
                    seen.add(text)
                    row = len(sentences)
                    sentences.append(
                        _Sentence(
                            row=row,
                            source_index=index,
                            position=position,
                            text=text,
                            words=words,
                            previous=previous,
                            refers_back=leans_back(text),
                        )
                    )
                    previous = row
                    position += 1
        return sentences

    @staticmethod
    def _lowercase_words(sources: list[SourceDocument]) -> set[str]:
        """Words the sources write in lower case mid-sentence: safe to lower."""
        words: set[str] = set()
        for source in sources:
            for word in _WORD.findall(source.text):
                if word.islower():
                    words.add(word)
        return words

    def _score(self):
        request = self.request
        query = " ".join(
            [request.topic, request.angle, request.angle, " ".join(request.keywords)]
            # An editor's focus counts twice: it is what the rewrite is for.
            + [" ".join(request.focus_terms)] * 2
        )
        query_terms = text_terms(query)
        terms = [text_terms(sentence.text) for sentence in self.sentences]
        space = TfidfSpace(terms + [query_terms])
        vectors = space.vectors(terms)
        relevance = cosine_similarities(vectors, space.vectors([query_terms]))[:, 0]
        if relevance.max() > 0:
            relevance = relevance / relevance.max()
        by_source: dict[int, list[int]] = {}
        for sentence in self.sentences:
            by_source.setdefault(sentence.source_index, []).append(sentence.row)
        for rows in by_source.values():
            block = vectors[rows]
            centrality = text_rank(cosine_similarities(block, block))
            if centrality.max() > 0:
                centrality = centrality / centrality.max()
            for offset, row in enumerate(rows):
                sentence = self.sentences[row]
                sentence.relevance = float(relevance[row])
                sentence.score = (
                    CENTRALITY_WEIGHT * centrality[offset]
                    + RELEVANCE_WEIGHT * relevance[row]
                    + (LEAD_BONUS if sentence.position == 0 else 0.0)
                )
        self.idf = space
        return vectors

    # planning

    def _repeats(self, row: int, rows: list[int]) -> bool:
        if not rows:
            return False
        similarity = cosine_similarities(self.vectors[[row]], self.vectors[rows])
        return bool(np.max(similarity) > REDUNDANCY_LIMIT)

    def _plan(self) -> tuple[list[int], dict[int, list[int]]]:
        """The lead's rows and the rows each source's section keeps, in order."""
        standalone = [s for s in self.sentences if not s.refers_back]
        # The lead opens from the source that ranks first (the editor's focus,
        # or the brief's best match), so the article and its sources agree.
        first = [s for s in standalone if s.source_index == 0]
        pool = standalone or self.sentences
        lead_count = 2 if self.format == Format.NEWS_BRIEF else 1
        lead: list[int] = []
        # A source's first sentence (its standfirst) is written to open a piece.
        for sentence in sorted(
            pool,
            key=lambda s: (
                -(
                    0.5 * s.relevance
                    + 0.3 * s.score
                    + 0.4 * (s.position == 0)
                    # from the sources that rank first, as a reader would expect
                    + 0.3 * (1 - s.source_index / len(self.sources))
                ),
                s.row,
            ),
        ):
            if len(lead) == lead_count:
                break
            if not lead and first and sentence.source_index != 0:
                continue
            if not self._repeats(sentence.row, lead):
                lead.append(sentence.row)
        sections: dict[int, list[int]] = {i: [] for i in range(len(self.sources))}
        ranked = {
            index: sorted(
                (s.row for s in self.sentences if s.source_index == index),
                key=lambda row: (-self.sentences[row].score, row),
            )
            for index in sections
        }
        words = self._measure(lead, sections)
        # Round robin over the sources, best sentence first, until the target.
        progress = True
        while words < self.target * (1 - LENGTH_TOLERANCE / 2) and progress:
            progress = False
            for index in sections:
                row = self._next(ranked[index], lead, sections)
                if row is None:
                    continue
                sections[index] = sorted(sections[index] + [row])
                progress = True
                words = self._measure(lead, sections)
                if words >= self.target * (1 - LENGTH_TOLERANCE / 2):
                    break
        self._trim(lead, sections)
        return lead, sections

    def _chosen(self, lead: list[int], sections: dict[int, list[int]]) -> list[int]:
        return lead + [row for rows in sections.values() for row in rows]

    def _next(
        self, ranked: list[int], lead: list[int], sections: dict[int, list[int]]
    ) -> int | None:
        chosen = self._chosen(lead, sections)
        for row in ranked:
            if row in chosen:
                continue
            sentence = self.sentences[row]
            index = sentence.source_index
            if sentence.refers_back and sentence.previous not in sections[index]:
                continue
            if self._repeats(row, chosen):
                continue
            return row
        return None

    def _trim(self, lead: list[int], sections: dict[int, list[int]]) -> None:
        """Drop the weakest sentences while the article is over the target."""
        while self._measure(lead, sections) > self.target * (1 + LENGTH_TOLERANCE):
            leaning = {
                self.sentences[row].previous
                for rows in sections.values()
                for row in rows
                if self.sentences[row].refers_back
            }
            removable = [
                row
                for rows in sections.values()
                for row in rows
                if row not in leaning
                and (len(rows) > 1 or sum(bool(r) for r in sections.values()) > 1)
            ]
            if not removable:
                return
            over = self._measure(lead, sections) - self.target
            # The weakest sentence, or the one whose length best fits the excess.
            row = min(
                removable,
                key=lambda row: (
                    abs(self.sentences[row].words - over) > over * 0.5,
                    self.sentences[row].score,
                    row,
                ),
            )
            index = self.sentences[row].source_index
            sections[index] = [r for r in sections[index] if r != row]

    def _measure(self, lead: list[int], sections: dict[int, list[int]]) -> int:
        """The words the checks will count: standfirst, headings and paragraphs."""
        _, standfirst, parts = self._render(lead, sections)
        return len(standfirst.split()) + sum(
            len(part.heading.split()) + _plain_words(part.html) for part in parts
        )

    # writing

    def article(self) -> tuple[str, str, list[DraftSection]]:
        lead, sections = self._plan()
        # What search results and shares show: the sentence that answers the brief.
        self.summary = self.sentences[lead[0]].text if lead else ""
        return self._render(lead, sections)

    def _render(
        self, lead: list[int], sections: dict[int, list[int]]
    ) -> tuple[str, str, list[DraftSection]]:
        self._link_texts: set[str] = set()
        self._linked: set[int] = set()
        parts = [self._lead(lead)]
        used = [index for index, rows in sections.items() if rows]
        if self.format == Format.NEWS_BRIEF:
            # Inverted pyramid: the most relevant material first, no headings.
            used.sort(
                key=lambda index: (
                    -max(self.sentences[row].relevance for row in sections[index])
                )
            )
        headings = self._headings({index: sections[index] for index in used})
        for number, index in enumerate(used, start=1):
            parts.append(
                self._section(
                    index, sections[index], headings.get(index, ""), number=number
                )
            )
        closing = self._closing(lead, sections)
        if closing is not None:
            parts.append(closing)
        return self.headline(), self.standfirst(), parts

    def headline(self) -> str:
        topic = self.request.topic.strip()
        if topic.endswith("?"):
            return _capitalised(topic)
        if self.format == Format.HOW_TO:
            return f"How to make sense of {self.topic}: a step-by-step guide"
        if self.format == Format.QA:
            return f"{_capitalised(topic)}: your questions answered"
        if self.format == Format.LIST:
            return f"{_capitalised(topic)}: the key points"
        angle = self.request.angle.strip().rstrip(".")
        if angle and len(angle) <= 70:
            return f"{_capitalised(topic)}: {angle[:1].lower() + angle[1:]}"
        pattern = HEADLINES[_stable_index(topic.lower(), len(HEADLINES))]
        return pattern.format(Topic=_capitalised(topic), topic=self.topic)

    def standfirst(self) -> str:
        angle = self.request.angle.strip().rstrip(".")
        if self.format == Format.NEWS_BRIEF:
            text = f"The latest from our reporting on {self.topic}"
        elif self.format == Format.HOW_TO:
            text = (
                f"A practical guide to {self.topic}, step by step, from our reporting"
            )
        elif self.format == Format.QA:
            text = (
                f"The questions readers ask about {self.topic}, answered from our "
                "reporting"
            )
        else:
            text = f"What our reporting on {self.topic} has found"
        if angle:
            text += f", with one question in mind: {angle[:1].lower() + angle[1:]}"
        return text + "."

    def _framing(self) -> str:
        """The lead's first sentence: the brief's question or angle, if any."""
        topic = self.request.topic.strip()
        angle = self.request.angle.strip().rstrip(".")
        if topic.endswith("?"):
            return html.escape(_capitalised(topic))
        if angle:
            lowered = angle[:1].lower() + angle[1:]
            if angle.endswith("?"):
                return html.escape(_capitalised(angle))
            if lowered.split()[0] in _QUESTION_WORDS:
                return html.escape(
                    f"The question worth asking about {self.topic} is {lowered}."
                )
            return html.escape(f"Our focus here is {lowered}.")
        return ""

    def _link_text(self, source: SourceDocument, subject: str) -> str | None:
        """The title the first time, then the subject; never a text used before."""
        for text in (
            source.title if source.page_id not in self._linked else None,
            f"our reporting on {subject}" if subject else None,
            f"more on {subject}" if subject else None,
            source.title,
        ):
            if text and text.lower() not in self._link_texts:
                self._link_texts.add(text.lower())
                self._linked.add(source.page_id)
                return text
        return None

    def _attributed(self, row: int, subject: str, variant: int) -> str:
        """The sentence with its source woven in as a link."""
        sentence = self.sentences[row]
        source = self.sources[sentence.source_index]
        text = html.escape(sentence.text, quote=False)
        link_text = self._link_text(source, subject)
        if link_text is None:
            return text
        link = _link(source, link_text)
        first = sentence.text.split()[0]
        lowerable = not sentence.refers_back and (
            first.lower() in STOPWORDS or first.lower() in self.lowercase_words
        )
        ends_plainly = sentence.text.endswith(".") and not sentence.text.endswith("..")
        if lowerable and (variant % 2 == 1 or not ends_plainly):
            return f"According to {link}, {text[:1].lower() + text[1:]}"
        if ends_plainly:
            verb = ATTRIBUTION_VERBS[variant % len(ATTRIBUTION_VERBS)]
            return f"{text[:-1]}, as {link} {verb}."
        return f"{text} More in {link}."

    def _lead(self, lead: list[int]) -> DraftSection:
        framing = self._framing()
        sentences = [
            self._attributed(row, "", variant=number)
            if number == 0
            else html.escape(self.sentences[row].text, quote=False)
            for number, row in enumerate(lead)
        ]
        body = " ".join(([framing] if framing else []) + sentences)
        return DraftSection(
            heading="",
            html=f"<p>{body}</p>",
            sources=tuple(
                dict.fromkeys(
                    self.sources[self.sentences[row].source_index].page_id
                    for row in lead
                )
            ),
        )

    def _section(
        self, index: int, rows: list[int], heading: str, *, number: int
    ) -> DraftSection:
        source = self.sources[index]
        subject = self._subjects.get(index, "")
        texts = [
            self._attributed(row, subject, variant=index + number)
            if offset == 0
            else html.escape(self.sentences[row].text, quote=False)
            for offset, row in enumerate(rows)
        ]
        # Two paragraphs once there is enough to say, never between a sentence
        # and the one it leans on.
        split = len(rows)
        if len(rows) > 3:
            split = next(
                (
                    offset
                    for offset in range(len(rows) // 2, len(rows))
                    if not self.sentences[rows[offset]].refers_back
                ),
                len(rows),
            )
        paragraphs = [" ".join(texts[:split])]
        if texts[split:]:
            paragraphs.append(" ".join(texts[split:]))
        return DraftSection(
            heading=heading,
            html="".join(f"<p>{paragraph}</p>" for paragraph in paragraphs),
            sources=(source.page_id,),
        )

    def _closing(
        self, lead: list[int], sections: dict[int, list[int]]
    ) -> DraftSection | None:
        heading = {
            Format.FEATURE: "What it adds up to",
            Format.EXPLAINER: "The bottom line",
            Format.QA: "So what should readers take away?",
            Format.LIST: "The takeaway",
            Format.HOW_TO: "Before you start",
        }.get(self.format)
        if heading is None:
            return None
        chosen = self._chosen(lead, sections)
        spare = [
            s
            for s in self.sentences
            if s.row not in chosen
            and not s.refers_back
            and not self._repeats(s.row, chosen)
            and s.words <= 30
        ]
        if not spare:
            return None
        best = max(spare, key=lambda s: (s.score, -s.row))
        subject = self._subjects.get(best.source_index, self.topic)
        text = self._attributed(best.row, subject, variant=len(chosen))
        return DraftSection(
            heading=heading,
            html=f"<p>{text}</p>",
            sources=(self.sources[best.source_index].page_id,),
        )

    # headings

    def _source_phrases(self, index: int) -> dict[str, tuple[int, str, set[str]]]:
        """Phrases the source repeats (a real subject, not a chance pairing):
        stem key -> (count, surface, stems). Two-word ones twice, one-word three
        times."""
        found: dict[str, list] = {}
        for paragraph in self.sources[index].text.split("\n"):
            for sentence in text_sentences(paragraph):
                run: list[tuple[int, str]] = []
                words = _WORD.findall(sentence)
                for position, word in enumerate([*words, ""]):
                    lowered = word.lower()
                    if (
                        word
                        and lowered not in STOPWORDS
                        and lowered not in WEAK_HEADING_WORDS
                        and len(lowered) > 2
                        and not lowered.endswith(("ly", "ing", "ed"))
                        and "'" not in lowered
                        and text_terms(lowered)
                    ):
                        run.append((position, word))
                        continue
                    for start in range(len(run)):
                        for size in (1, 2):
                            piece = run[start : start + size]
                            if len(piece) < size:
                                continue
                            if piece[-1][0] - piece[0][0] != size - 1:
                                continue
                            stems = [text_terms(w)[0] for _, w in piece]
                            key = " ".join(stems)
                            surface = " ".join(_heading_word(w, p) for p, w in piece)
                            entry = found.setdefault(key, [0, surface, set(stems)])
                            entry[0] += 1
                    run = []
        return {
            key: (count, surface, stems)
            for key, (count, surface, stems) in found.items()
            if count >= (2 if len(stems) == 2 or " " in key else 3)
        }

    def _phrases(self, index: int, rows: list[int]) -> list[tuple[float, str, set]]:
        """Candidate heading phrases of a section: (weight, surface, stems)."""
        vocabulary, idf = self.idf.vocabulary, self.idf.idf
        kept_terms = {
            term for row in rows for term in text_terms(self.sentences[row].text)
        }
        ranked = []
        opening = set(text_terms(self.sources[index].standfirst))
        for count, surface, stems in self._source_phrases(index).values():
            weight = count * sum(
                idf[vocabulary[stem]] for stem in stems if stem in vocabulary
            )
            if len(stems) == 2:
                weight *= 1.6
            if stems <= kept_terms:
                weight *= 2
            # What the source's own summary names is what it is about.
            if stems <= opening:
                weight *= 1.5
            ranked.append((weight, surface, stems))
        return sorted(ranked, key=lambda item: (-item[0], item[1]))

    def _headings(self, sections: dict[int, list[int]]) -> dict[int, str]:
        """A heading per section from its content (and the angle), by format."""
        self._subjects = {}
        topic_stems = set(text_terms(self.topic))
        used: set[str] = set(topic_stems)
        phrases: dict[int, list[str]] = {}
        for index, rows in sections.items():
            picked: list[str] = []
            best = 0.0
            for weight, surface, stems in self._phrases(index, rows):
                if stems & used:
                    continue
                # A second phrase only when it is nearly as strong as the first.
                if picked and weight < 0.6 * best:
                    break
                picked.append(surface)
                best = best or weight
                used |= stems
                if len(picked) == 2:
                    break
            phrases[index] = picked
            self._subjects[index] = picked[0] if picked else ""
        angle_index = self._angle_section(sections)
        headings: dict[int, str] = {}
        for number, index in enumerate(sections, start=1):
            picked = phrases[index] or [self.topic]
            headings[index] = self._heading(
                picked, number=number, angle=index == angle_index
            )
        if self.format == Format.NEWS_BRIEF:
            return {}
        return headings

    def _angle_section(self, sections: dict[int, list[int]]) -> int | None:
        angle = self.request.angle.strip().rstrip(".")
        if not angle or len(angle) > 60 or self.format != Format.FEATURE:
            return None
        best = max(
            sections,
            key=lambda index: max(
                (self.sentences[row].relevance for row in sections[index]), default=0
            ),
            default=None,
        )
        return best

    def _heading(self, phrases: list[str], *, number: int, angle: bool) -> str:
        first = phrases[0]
        pair = f"{first} and {phrases[1]}" if len(phrases) > 1 else first
        if angle:
            return _capitalised(self.request.angle.strip().rstrip("."))
        if self.format == Format.QA:
            questions = [
                "What is known about {p}?",
                "Where do {pair} fit in?",
                "What is the link between {topic} and {p}?",
                "Why does {p} matter?",
                "What should readers know about {pair}?",
            ]
            pattern = questions[(number - 1) % len(questions)]
            return _capitalised(pattern.format(p=first, pair=pair, topic=self.topic))
        if self.format == Format.HOW_TO:
            return f"Step {number}: {_capitalised(pair)}"
        if self.format == Format.LIST:
            return f"{number}. {_capitalised(pair)}"
        if self.format == Format.EXPLAINER:
            patterns = ["The role of {pair}", "Understanding {pair}", "{Pair}"]
            pattern = patterns[(number - 1) % len(patterns)]
            return pattern.replace("{Pair}", _capitalised(pair)).format(pair=pair)
        return _capitalised(pair)
