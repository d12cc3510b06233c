"""Retrieve: the live articles a draft is grounded in, most relevant first.

Candidates come from the site search, the brief's topics and the target section
(each capped, so a large catalogue costs the same as a small one), plus the pages
the brief names. They are ranked by TF-IDF cosine between the brief and each
article, with a bonus for a shared topic; the brief's chosen pages come first.

An editor's feedback is read as actions (`generation.feedback`), never added to
the query as text: a source on a term the editor excluded is dropped, and the
focus terms join the query and rank the sources that carry them first.

A brief targeted at an audience adds the audience's interests: its top topics
are one more candidate channel and a bonus that falls with the topic's rank, and
its most-read live articles are candidates with a further bonus, so that the
draft is grounded in what that audience actually reads.
"""

import html
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from cms.models import ArticlePage, Topic
from cms.selectors import article_live_list
from generation.feedback import FeedbackActions
from generation.models import Brief
from generation.providers.base import SourceDocument
from generation.selectors import ai_draft_list
from generation.similarity import TfidfSpace, cosine_similarities, text_terms
from recommend.audiences.audiences import (
    AudienceInterests,
    audience_get_by_key,
    audience_interests,
)

logger = logging.getLogger(__name__)

CANDIDATES_PER_CHANNEL = 40
TOPIC_BONUS = 0.15
MIN_RELEVANCE = 0.02
# The audience's best topic earns this, its fifth a fifth of it: below a shared
# brief topic, so that the brief's own subject still leads.
AUDIENCE_TOPIC_BONUS = 0.1
# What its readers read most outranks a merely on-topic article.
AUDIENCE_READ_BONUS = 0.1
# An editor's focus outranks everything else the brief says.
FOCUS_BONUS = 1.0
# A source names an excluded term in its title or topics, or this often in its text.
EXCLUDED_MENTIONS = 3


@dataclass(frozen=True)
class Retrieval:
    sources: list[SourceDocument]  # what the draft is written from
    candidates: list[SourceDocument]  # every article considered, for duplicate checks


def brief_query(*, brief: Brief, actions: FeedbackActions | None = None) -> str:
    focus = " ".join(actions.focus) if actions is not None else ""
    return " ".join([brief.topic, brief.angle, " ".join(brief.keywords), focus])


def _excluded(document: SourceDocument, stems: set[str]) -> bool:
    """Whether the source is about a term the editor asked to leave out."""
    if not stems:
        return False
    named = text_terms(" ".join([document.title, *document.topics]))
    if stems & set(named):
        return True
    text = text_terms(document.text)
    return sum(1 for term in text if term in stems) >= EXCLUDED_MENTIONS


def _focus_match(terms: list[str], phrases: list[list[str]]) -> float:
    """0..1: how fully the text carries the focus phrases, whole phrases best.

    "night-shift workers" is matched better by a text saying "night shifts"
    (two stems side by side) than by one that only says "night".
    """
    if not phrases:
        return 0.0
    present = set(terms)
    pairs = set(zip(terms, terms[1:], strict=False))
    best = 0.0
    for phrase in phrases:
        found = sum(1 for stem in phrase if stem in present) / len(phrase)
        adjacent = sum(
            1 for pair in zip(phrase, phrase[1:], strict=False) if pair in pairs
        )
        best = max(best, (found + adjacent) / (2 * len(phrase) - 1))
    return best


def _topic_ids(brief: Brief) -> set[int]:
    ids = set(brief.topics.values_list("pk", flat=True))
    # A topic typed as text counts when it names a topic of the site.
    ids.update(
        Topic.objects.filter(
            Q(name__iexact=brief.topic.strip()) | Q(slug__iexact=brief.topic.strip())
        ).values_list("pk", flat=True)
    )
    return ids


def source_document(page: ArticlePage, *, score: float = 0.0) -> SourceDocument:
    url = page.get_url() or page.url_path
    return SourceDocument(
        page_id=page.pk,
        title=page.title,
        url=url,
        standfirst=page.standfirst,
        # body_text() strips tags but leaves entities such as &#x27; encoded.
        text=html.unescape(
            "\n".join(part for part in [page.standfirst, page.body_text()] if part)
        ),
        topics=tuple(topic.name for topic in page.topics.all()),
        score=score,
        quotes=tuple(
            block.value["text"] for block in page.body if block.block_type == "quote"
        ),
    )


def brief_audience_interests(*, brief: Brief) -> AudienceInterests | None:
    """What the brief's audience reads; None for a general brief or a retired one."""
    audience = audience_get_by_key(key=brief.audience_key)
    return audience_interests(audience=audience) if audience is not None else None


def _audience_bonus(
    page_id: int, page_topic_ids: set[int], interests: AudienceInterests | None
) -> float:
    if interests is None:
        return 0.0
    bonus = 0.0
    ranked = interests.topic_ids
    for rank, topic_id in enumerate(ranked):
        if topic_id in page_topic_ids:
            bonus = AUDIENCE_TOPIC_BONUS * (1.0 - rank / len(ranked))
            break
    if page_id in interests.article_ids:
        bonus += AUDIENCE_READ_BONUS
    return bonus


def _candidate_ids(
    *,
    brief: Brief,
    query: str,
    topic_ids: set[int],
    interests: AudienceInterests | None = None,
) -> list[int]:
    live = article_live_list()
    ids: list[int] = list(interests.article_ids) if interests is not None else []
    try:
        found = live.search(query, operator="or")[:CANDIDATES_PER_CHANNEL]
        ids.extend(page.pk for page in found)
    except Exception:  # a search backend hiccup must not stop a draft
        logger.exception("Search failed while retrieving sources; going on without")
    if topic_ids:
        ids.extend(
            live.filter(topics__in=topic_ids)
            .order_by("-published_date", "-pk")
            .values_list("pk", flat=True)
            .distinct()[:CANDIDATES_PER_CHANNEL]
        )
    if brief.section_id:
        ids.extend(
            live.descendant_of(brief.section)
            .order_by("-published_date", "-pk")
            .values_list("pk", flat=True)[:CANDIDATES_PER_CHANNEL]
        )
    if interests is not None and interests.topic_ids:
        ids.extend(
            live.filter(topics__in=interests.topic_ids)
            .order_by("-published_date", "-pk")
            .values_list("pk", flat=True)
            .distinct()[:CANDIDATES_PER_CHANNEL]
        )
    return list(dict.fromkeys(ids))


def sources_retrieve(
    *, brief: Brief, actions: FeedbackActions | None = None
) -> Retrieval:
    """The brief's sources (chosen pages first) and every candidate considered.

    With feedback actions, excluded sources are left out (chosen ones too: the
    editor has since said otherwise) and focus sources come first.
    """
    limit = settings.GENERATION_MAX_SOURCES
    live = article_live_list()
    chosen_ids = list(
        live.filter(pk__in=brief.source_pages.values("pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    actions = actions or FeedbackActions()
    query = brief_query(brief=brief, actions=actions)
    topic_ids = _topic_ids(brief)
    interests = brief_audience_interests(brief=brief)
    ids = list(
        dict.fromkeys(
            chosen_ids
            + _candidate_ids(
                brief=brief, query=query, topic_ids=topic_ids, interests=interests
            )
        )
    )
    pages = {
        page.pk: page for page in live.filter(pk__in=ids).prefetch_related("topics")
    }
    ids = [page_id for page_id in ids if page_id in pages]
    if not ids:
        return Retrieval(sources=[], candidates=[])
    documents = [source_document(pages[page_id]) for page_id in ids]
    terms = [text_terms(f"{document.title} {document.text}") for document in documents]
    query_terms = text_terms(query)
    space = TfidfSpace(terms + [query_terms])
    relevance = cosine_similarities(space.vectors(terms), space.vectors([query_terms]))
    focus_phrases = [text_terms(term) for term in actions.focus if text_terms(term)]
    excluded_stems = actions.exclude_stems
    scored: list[SourceDocument] = []
    excluded_ids: set[int] = set()
    focused_ids: set[int] = set()
    for row, document in enumerate(documents):
        page_topic_ids = {topic.pk for topic in pages[document.page_id].topics.all()}
        focus = _focus_match(terms[row], focus_phrases)
        score = (
            float(relevance[row, 0])
            + (TOPIC_BONUS if topic_ids & page_topic_ids else 0.0)
            + _audience_bonus(document.page_id, page_topic_ids, interests)
            + FOCUS_BONUS * focus
        )
        if _excluded(document, excluded_stems):
            excluded_ids.add(document.page_id)
        if focus > 0:
            focused_ids.add(document.page_id)
        scored.append(SourceDocument(**{**document.__dict__, "score": round(score, 6)}))
    usable = [document for document in scored if document.page_id not in excluded_ids]
    chosen = [document for document in usable if document.page_id in chosen_ids]
    ranked = sorted(
        (
            document
            for document in usable
            if document.page_id not in chosen_ids and document.score >= MIN_RELEVANCE
        ),
        key=lambda document: (-document.score, document.page_id),
    )
    count = max(limit, len(chosen))
    ordered = chosen + ranked
    if focused_ids:
        # The editor's focus leads, chosen pages or not; the rest keep their order.
        ordered = sorted(
            (document for document in ordered if document.page_id in focused_ids),
            key=lambda document: (-document.score, document.page_id),
        ) + [document for document in ordered if document.page_id not in focused_ids]
    return Retrieval(sources=ordered[:count], candidates=scored)


def drafts_in_review(*, exclude: int | None = None) -> list[SourceDocument]:
    """Other AI drafts awaiting review, so a draft that repeats one is flagged too."""
    pages = (
        ai_draft_list(pending_review=True)
        .exclude(pk=exclude)
        .prefetch_related("topics")[:CANDIDATES_PER_CHANNEL]
    )
    return [source_document(page) for page in pages]
