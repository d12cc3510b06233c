"""The offline writer: an extractive article composed from the retrieved sources.

Each source's sentences are ranked by TextRank over TF-IDF sentence similarity,
blended with their relevance to the brief (and to an editor's feedback); the best
ones, in their original order, make one section per source, introduced by a
transition that links the source. An introduction and a closing section frame
them. The same request always gives the same article.
"""

import hashlib
import html
from dataclasses import dataclass

import numpy as np

from generation.providers.base import (
    Draft,
    DraftSection,
    ProviderError,
    SourceDocument,
    TextProvider,
    WriteRequest,
)
from generation.similarity import (
    TfidfSpace,
    cosine_similarities,
    text_rank,
    text_sentences,
    text_terms,
)

MAX_SECTIONS = 5
MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_WORDS = 60
MAX_SENTENCES_PER_SECTION = 6
# Sentences closer than this to one already chosen say the same thing twice.
REDUNDANCY_LIMIT = 0.35
CENTRALITY_WEIGHT = 0.55
RELEVANCE_WEIGHT = 0.45
LEAD_BONUS = 0.1

HEADLINES = [
    "{Topic}: what our reporting shows",
    "{Topic}, explained",
    "What we know about {topic}",
    "{Topic}: the story so far",
    "Making sense of {topic}",
]
TRANSITIONS = [
    "The clearest place to start is {link}.",
    "The picture widens in {link}.",
    "{Link} comes at the subject from another direction.",
    "There is more to it, as {link} shows.",
    "Finally, {link} adds a further piece of the puzzle.",
]
LINK_NOUNS = ["report", "piece", "article", "feature", "explainer"]
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


@dataclass
class _Sentence:
    source_index: int
    position: int  # order within its source
    text: str
    words: int
    score: float = 0.0


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _in_prose(topic: str) -> str:
    """The topic as it reads mid-sentence: lower case unless it has capitals inside."""
    topic = topic.strip().rstrip("?.!")
    return topic if any(char.isupper() for char in topic[1:]) else topic.lower()


def _number(count: int) -> str:
    return NUMBER_WORDS.get(count, str(count))


def _stable_index(text: str, modulo: int) -> int:
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % modulo


def _link(source: SourceDocument, text: str) -> str:
    """An <a> to the source's page; the text is escaped here, once."""
    href = html.escape(source.url, quote=True)
    return f'<a href="{href}">{html.escape(text, quote=False)}</a>'


class ComposerTextProvider(TextProvider):
    name = "composer"
    model = "composer-1"

    def write(self, request: WriteRequest) -> Draft:
        sources = list(request.sources)[:MAX_SECTIONS]
        if not sources:
            raise ProviderError(
                "The composer needs at least one live source article.",
                retryable=False,
            )
        composition = _Composition(request=request, sources=sources)
        return Draft(
            title=composition.headline(),
            standfirst=composition.standfirst(),
            sections=composition.sections(),
            provider=self.name,
            model=self.model,
        )


class _Composition:
    """One article being composed: the ranked sentences and what each section uses."""

    def __init__(self, *, request: WriteRequest, sources: list[SourceDocument]):
        self.request = request
        self.sources = sources
        self.topic = _in_prose(request.topic)
        self.sentences = self._split(sources)
        if not self.sentences:
            raise ProviderError(
                "The source articles have no usable sentences.", retryable=False
            )
        self.vectors = self._score()
        self.chosen = self._choose()

    # ranking

    @staticmethod
    def _split(sources: list[SourceDocument]) -> list[_Sentence]:
        sentences: list[_Sentence] = []
        for index, source in enumerate(sources):
            seen: set[str] = set()
            position = 0
            for paragraph in source.text.split("\n"):
                for text in text_sentences(paragraph):
                    words = len(text.split())
                    if not MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS:
                        continue
                    if text in seen or text.endswith(":"):
                        continue
                    seen.add(text)
                    sentences.append(_Sentence(index, position, text, words))
                    position += 1
        return sentences

    def _score(self):
        request = self.request
        query = " ".join(
            [request.topic, request.angle, " ".join(request.keywords)]
            # An editor's feedback counts twice: it is what the rewrite is for.
            + [request.feedback] * 2
        )
        query_terms = text_terms(query)
        terms = [text_terms(sentence.text) for sentence in self.sentences]
        space = TfidfSpace(terms + [query_terms])
        vectors = space.vectors(terms)
        relevance = cosine_similarities(vectors, space.vectors([query_terms]))[:, 0]
        if relevance.max() > 0:
            relevance = relevance / relevance.max()
        by_source: dict[int, list[int]] = {}
        for row, sentence in enumerate(self.sentences):
            by_source.setdefault(sentence.source_index, []).append(row)
        for rows in by_source.values():
            block = vectors[rows]
            centrality = text_rank(cosine_similarities(block, block))
            if centrality.max() > 0:
                centrality = centrality / centrality.max()
            for offset, row in enumerate(rows):
                lead = LEAD_BONUS if self.sentences[row].position == 0 else 0.0
                self.sentences[row].score = (
                    CENTRALITY_WEIGHT * centrality[offset]
                    + RELEVANCE_WEIGHT * relevance[row]
                    + lead
                )
        return vectors

    def _choose(self) -> dict[int, list[int]]:
        """Rows of the sentences each source's section keeps, in their order."""
        # The introduction and closing take about a fifth of the length.
        budget = max(50, int(self.request.target_words * 0.8) // len(self.sources))
        chosen_rows: list[int] = []
        chosen: dict[int, list[int]] = {}
        for index in range(len(self.sources)):
            rows = [
                row
                for row, sentence in enumerate(self.sentences)
                if sentence.source_index == index
            ]
            # Best first; ties go to the earlier sentence, so the result is stable.
            rows.sort(key=lambda row: (-self.sentences[row].score, row))
            words, picked = 0, []
            for row in rows:
                if words >= budget or len(picked) >= MAX_SENTENCES_PER_SECTION:
                    break
                if self._repeats(row, chosen_rows):
                    continue
                picked.append(row)
                chosen_rows.append(row)
                words += self.sentences[row].words
            chosen[index] = sorted(picked)
        return chosen

    def _repeats(self, row: int, rows: list[int]) -> bool:
        if not rows:
            return False
        similarity = cosine_similarities(self.vectors[[row]], self.vectors[rows])
        return bool(np.max(similarity) > REDUNDANCY_LIMIT)

    # writing

    def headline(self) -> str:
        topic = self.request.topic.strip()
        if topic.endswith("?"):
            return _capitalised(topic)
        angle = self.request.angle.strip().rstrip(".")
        if angle and len(angle) <= 70:
            return f"{_capitalised(topic)}: {angle[:1].lower() + angle[1:]}"
        pattern = HEADLINES[_stable_index(topic.lower(), len(HEADLINES))]
        return pattern.format(Topic=_capitalised(topic), topic=self.topic)

    def standfirst(self) -> str:
        count = len(self.sources)
        articles = "article" if count == 1 else "articles"
        standfirst = (
            f"What our reporting on {self.topic} has found so far, drawn together "
            f"from {_number(count)} of our {articles}"
        )
        angle = self.request.angle.strip().rstrip(".")
        if angle:
            standfirst += f" and read with one question in mind: {angle}"
        return standfirst + "."

    def sections(self) -> list[DraftSection]:
        sections = [self._introduction()]
        for index, source in enumerate(self.sources):
            if self.chosen.get(index):
                sections.append(self._source_section(index, source))
        sections.append(self._closing())
        return sections

    def _introduction(self) -> DraftSection:
        first, last = self.sources[0], self.sources[-1]
        if len(self.sources) == 1:
            reach = f"our article {_link(first, first.title)}"
        else:
            reach = (
                f"{_number(len(self.sources))} of our articles, from "
                f"{_link(first, first.title)} to {_link(last, last.title)},"
            )
        question = self.request.topic.strip()
        if question.endswith("?"):
            opening = (
                f"{html.escape(_capitalised(question))} It is a question our "
                "coverage has come back to more than once."
            )
        else:
            opening = (
                f"{html.escape(_capitalised(self.topic))} keeps coming up in our "
                "coverage, and for good reason."
            )
        body = (
            f"<p>{opening} Rather than start from scratch, this piece draws together "
            f"{reach} to see what they add up to.</p>"
        )
        # The introduction speaks for all the sources: it cites them in order.
        return DraftSection(
            heading="",
            html=body,
            sources=tuple(source.page_id for source in self.sources),
        )

    def _source_section(self, index: int, source: SourceDocument) -> DraftSection:
        sentences = [
            html.escape(self.sentences[row].text, quote=False)
            for row in self.chosen[index]
        ]
        subject = self._subject(source)
        noun = LINK_NOUNS[index % len(LINK_NOUNS)]
        link = _link(source, f"our {noun} on {subject}")
        transition = TRANSITIONS[index % len(TRANSITIONS)]
        transition = transition.replace("{Link}", _capitalised_link(link))
        transition = transition.replace("{link}", link)
        # Two paragraphs once there is enough to say, as a writer would break it.
        split = 2 if len(sentences) > 3 else len(sentences)
        paragraphs = [" ".join([transition] + sentences[:split])]
        if sentences[split:]:
            paragraphs.append(" ".join(sentences[split:]))
        return DraftSection(
            heading=source.title,
            html="".join(f"<p>{paragraph}</p>" for paragraph in paragraphs),
            sources=(source.page_id,),
        )

    def _subject(self, source: SourceDocument) -> str:
        """What the source is about, in a few words: the brief's topic if the
        source carries it, else the source's own first topic."""
        for name in source.topics:
            if name.lower() == self.topic.lower():
                return self.topic
        return _in_prose(source.topics[0]) if source.topics else self.topic

    def _closing(self) -> DraftSection:
        used = sorted({row for rows in self.chosen.values() for row in rows})
        spare = [
            row
            for row in range(len(self.sentences))
            if row not in used and not self._repeats(row, used)
        ]
        parts = [
            f"Taken together, these {_number(len(self.sources))} articles suggest "
            f"that {html.escape(self.topic)} is best understood from several sides "
            "at once."
        ]
        cited = (self.sources[0].page_id,)
        if spare:
            best = max(spare, key=lambda row: (self.sentences[row].score, -row))
            source = self.sources[self.sentences[best].source_index]
            text = html.escape(self.sentences[best].text, quote=False)
            parts.append(
                f"One more point from {_link(source, source.title)} is worth "
                f"keeping in mind. {text}"
            )
            cited = (source.page_id,)
        keywords = [html.escape(keyword) for keyword in self.request.keywords[:3]]
        if keywords:
            listed = (
                keywords[0]
                if len(keywords) == 1
                else ", ".join(keywords[:-1]) + " and " + keywords[-1]
            )
            parts.append(
                f"For anyone following {listed}, the articles linked above are the "
                "place to go next."
            )
        return DraftSection(
            heading="What it adds up to",
            html=f"<p>{' '.join(parts)}</p>",
            sources=cited,
        )


def _capitalised_link(link: str) -> str:
    """An <a> whose visible text starts with a capital letter."""
    start = link.index(">") + 1
    return link[:start] + link[start : start + 1].upper() + link[start + 1 :]
