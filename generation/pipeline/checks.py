"""Check: untrusted model output made safe, grounded and well-formed, or rejected.

Every piece of HTML goes through the nh3 whitelist of `cms.sanitise`; titles,
headings and the standfirst become plain text. Every cited source must be a live
article; a link to anything but a live article of this site is unwrapped (its
words kept) and flagged. The body must be a valid ArticleBodyBlock stream and its
length within the settings' bounds. A near-duplicate of an existing article is
flagged for the editor, not rejected: an update to a story can be legitimate.
"""

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import strip_tags
from wagtail.models import Site

from cms.models import ArticlePage
from cms.sanitise import HEADING_MAX_LENGTH, html_sanitise, html_to_body_blocks
from cms.selectors import article_live_list
from generation.pipeline.retrieve import Retrieval, drafts_in_review
from generation.pipeline.sections import SOURCES_HEADING
from generation.providers.base import Draft
from generation.similarity import TfidfSpace, cosine_similarities, text_terms

TITLE_MAX_LENGTH = 255
# What search results show before cutting: longer text is clipped at a word.
SEO_TITLE_MAX_LENGTH = 70
SEARCH_DESCRIPTION_MAX_LENGTH = 160
# cms.sanitise writes every kept link exactly like this, so a regex is enough here.
_ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_WHITESPACE = re.compile(r"\s+")


class DraftRejected(Exception):
    """The draft cannot be saved; the message says why, for an editor to read."""


@dataclass
class CheckedDraft:
    title: str
    standfirst: str
    # (block type, value) pairs as cms.services.article_create takes them.
    body: list[tuple[str, object]]
    cited_ids: list[int]
    word_count: int
    flags: list[dict] = field(default_factory=list)
    seo_title: str = ""
    search_description: str = ""


def plain_text(value: str) -> str:
    """Markup-free, single-spaced text (entities decoded) from untrusted input."""
    text = html.unescape(strip_tags(html_sanitise(html=value or "")))
    return _WHITESPACE.sub(" ", text).strip()


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _site_hosts() -> set[str]:
    hosts = set(Site.objects.values_list("hostname", flat=True))
    hosts.add(urlsplit(settings.WAGTAILADMIN_BASE_URL).hostname or "")
    return {host.lower() for host in hosts if host}


def live_articles_for_hrefs(hrefs: set[str]) -> dict[str, ArticlePage]:
    """The live article each href points to; hrefs to anything else are left out."""
    hosts = _site_hosts()
    root_paths = [root.root_path for root in Site.get_site_root_paths()]
    wanted: dict[str, set[str]] = {}
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme and parts.scheme not in ("http", "https"):
            continue
        if parts.netloc and (parts.hostname or "").lower() not in hosts:
            continue
        if not parts.path.startswith("/"):
            continue
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        wanted[href] = {root + path.lstrip("/") for root in root_paths}
    every_path = set().union(*wanted.values()) if wanted else set()
    pages = {
        page.url_path: page
        for page in article_live_list().filter(url_path__in=every_path)
    }
    found: dict[str, ArticlePage] = {}
    for href, paths in wanted.items():
        for path in sorted(paths):
            if path in pages:
                found[href] = pages[path]
                break
    return found


def _links_grounded(
    paragraph: str, pages: dict[str, ArticlePage], flags: list[dict]
) -> str:
    def keep_or_unwrap(match: re.Match) -> str:
        href, words = html.unescape(match.group(1)), match.group(2)
        page = pages.get(href)
        if page is None:
            flags.append(
                {
                    "code": "link_removed",
                    "message": "A link to something other than a live article of "
                    "this site was removed; its words were kept.",
                    "href": href,
                }
            )
            return words
        url = html.escape(page.get_url() or page.url_path, quote=True)
        return f'<a href="{url}">{words}</a>'

    return _ANCHOR.sub(keep_or_unwrap, paragraph)


def _validated_stream(body: list[tuple[str, object]]) -> None:
    stream_block = ArticlePage._meta.get_field("body").stream_block
    raw = []
    for kind, value in body:
        if kind == "article_link":
            value = {"page": value["page"].pk, "label": value["label"]}
        raw.append({"type": kind, "value": value})
    try:
        stream_block.clean(stream_block.to_python(raw))
    except ValidationError as error:
        raise DraftRejected(
            f"The draft's body is not a valid article body: {error}"
        ) from error


def _near_duplicate(
    *, text: str, retrieval: Retrieval, exclude: int | None
) -> dict | None:
    live = [doc for doc in retrieval.candidates if doc.page_id != exclude]
    in_review = drafts_in_review(exclude=exclude)
    candidates = live + in_review
    if not candidates:
        return None
    terms = [text_terms(f"{doc.title} {doc.text}") for doc in candidates]
    draft_terms = text_terms(text)
    space = TfidfSpace(terms + [draft_terms])
    similarity = cosine_similarities(
        space.vectors([draft_terms]), space.vectors(terms)
    )[0]
    best = int(similarity.argmax())
    score = float(similarity[best])
    if score < settings.GENERATION_NEAR_DUPLICATE_THRESHOLD:
        return None
    kind = "the draft in review" if best >= len(live) else "the article"
    return {
        "code": "near_duplicate",
        "message": f"The draft is very close to {kind} “{candidates[best].title}” "
        f"(similarity {score:.2f}).",
        "page": candidates[best].page_id,
        "similarity": round(score, 4),
    }


def draft_check(
    *, draft: Draft, retrieval: Retrieval, page_id: int | None = None
) -> CheckedDraft:
    """The draft made safe and checked; DraftRejected when it cannot be used.

    `page_id` is the page being regenerated, which is not its own duplicate.
    """
    flags: list[dict] = []
    title = _clip(plain_text(draft.title), TITLE_MAX_LENGTH)
    standfirst = plain_text(draft.standfirst)
    if not title:
        raise DraftRejected("The draft has no title.")
    if not standfirst:
        raise DraftRejected("The draft has no standfirst.")

    cited_ids = list(
        dict.fromkeys(
            source for section in draft.sections for source in section.sources
        )
    )
    if not cited_ids:
        raise DraftRejected("The draft cites no source article.")
    live_pages = {
        page.pk: page for page in article_live_list().filter(pk__in=cited_ids)
    }
    missing = [source for source in cited_ids if source not in live_pages]
    if missing:
        listed = ", ".join(str(source) for source in missing)
        raise DraftRejected(
            f"The draft cites pages that are not live articles: {listed}."
        )

    sections = []
    hrefs: set[str] = set()
    for section in draft.sections:
        blocks = html_to_body_blocks(html=section.html)
        sections.append((plain_text(section.heading), blocks))
        for kind, value in blocks:
            if kind == "paragraph":
                hrefs.update(
                    html.unescape(href) for href, _ in _ANCHOR.findall(str(value))
                )
    linked = live_articles_for_hrefs(hrefs)

    body: list[tuple[str, object]] = []
    words = len(standfirst.split())
    prose: list[str] = [title, standfirst]
    for number, (heading, blocks) in enumerate(sections, start=1):
        if heading:
            body.append(("heading", _clip(heading, HEADING_MAX_LENGTH)))
            words += len(heading.split())
        if not draft.sections[number - 1].sources and number < len(sections):
            flags.append(
                {
                    "code": "uncited_section",
                    "message": f"Section {number} ({heading or 'untitled'}) "
                    "cites no source.",
                }
            )
        for kind, value in blocks:
            if kind == "paragraph":
                value = _links_grounded(str(value), linked, flags)
                text = html.unescape(strip_tags(value))
            else:
                text = str(value)
            body.append((kind, value))
            words += len(text.split())
            prose.append(text)
    if not any(kind == "paragraph" for kind, _ in body):
        raise DraftRejected("The draft has no paragraphs.")
    body.append(("heading", SOURCES_HEADING))
    for source in cited_ids:
        page = live_pages[source]
        body.append(("article_link", {"page": page, "label": page.title}))
    _validated_stream(body)

    if words < settings.GENERATION_MIN_WORDS:
        raise DraftRejected(
            f"The draft has {words} words; at least "
            f"{settings.GENERATION_MIN_WORDS} are required."
        )
    if words > settings.GENERATION_MAX_WORDS:
        raise DraftRejected(
            f"The draft has {words} words; at most "
            f"{settings.GENERATION_MAX_WORDS} are allowed."
        )
    duplicate = _near_duplicate(
        text=" ".join(prose), retrieval=retrieval, exclude=page_id
    )
    if duplicate:
        flags.append(duplicate)
    return CheckedDraft(
        title=title,
        standfirst=standfirst,
        body=body,
        cited_ids=cited_ids,
        word_count=words,
        flags=flags,
        seo_title=_clip(plain_text(draft.seo_title) or title, SEO_TITLE_MAX_LENGTH),
        search_description=_clip(
            plain_text(draft.search_description) or standfirst,
            SEARCH_DESCRIPTION_MAX_LENGTH,
        ),
    )


def section_check(*, html_text: str) -> tuple[list[str], list[dict]]:
    """A rewritten section's body made safe: its paragraphs' HTML and the flags.

    The same whitelist and link grounding as a whole draft; a heading inside it
    would split the section, so its words stay as a paragraph of their own.
    """
    flags: list[dict] = []
    blocks = html_to_body_blocks(html=html_text)
    hrefs = {
        html.unescape(href)
        for kind, value in blocks
        if kind == "paragraph"
        for href, _ in _ANCHOR.findall(str(value))
    }
    linked = live_articles_for_hrefs(hrefs)
    paragraphs = []
    for kind, value in blocks:
        if kind == "paragraph":
            paragraphs.append(_links_grounded(str(value), linked, flags))
        elif str(value).strip():
            paragraphs.append(f"<p>{html.escape(str(value), quote=False)}</p>")
    if not any(plain_text(paragraph) for paragraph in paragraphs):
        raise DraftRejected("The rewritten section has no text.")
    return paragraphs, flags
