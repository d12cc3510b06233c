"""Untrusted HTML or plain text turned into article body blocks (nh3 whitelist)."""

import html
import re
from html.parser import HTMLParser

import nh3

# The rich-text whitelist of an article paragraph; it matches RICH_TEXT_FEATURES
# in cms.blocks (bold, italic, link, ol, ul) plus paragraphs and line breaks.
INLINE_TAGS = frozenset({"b", "i", "strong", "em", "a", "br"})
LIST_TAGS = frozenset({"ul", "ol"})
ALLOWED_TAGS = INLINE_TAGS | LIST_TAGS | {"p", "li"}
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Block elements outside the whitelist: their tags go but they still end a
# paragraph, so "<div>a</div><div>b</div>" stays two paragraphs, not "ab".
BREAK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "header",
        "hr",
        "main",
        "nav",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
    }
)
# Elements whose content is code or chrome, never article text: dropped whole.
DROPPED_CONTENT_TAGS = frozenset(
    {
        "embed",
        "head",
        "iframe",
        "math",
        "noscript",
        "object",
        "script",
        "select",
        "style",
        "svg",
        "template",
        "textarea",
        "title",
    }
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
HEADING_MAX_LENGTH = 255  # ArticleBodyBlock's heading is a CharBlock(max_length=255)

_TAG = re.compile(
    r"<(?:[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?|/[a-zA-Z][a-zA-Z0-9-]*\s*|!--.*?--)>",
    re.DOTALL,
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_WHITESPACE = re.compile(r"\s+")
_SPACE_AROUND_LIST_TAGS = re.compile(r"\s*(</?(?:ul|ol|li)>)\s*")
_SPACE_AROUND_BR = re.compile(r"\s*<br>\s*")
_EMPTY_INLINE = re.compile(r"<(b|i|strong|em|a)(?:\s[^>]*)?>\s*</\1>")
_LEADING_SPACE = re.compile(r"^((?:<[^>]+>)*)\s+")
_TRAILING_SPACE = re.compile(r"\s+((?:</[^>]+>)*)$")
_ANY_TAG = re.compile(r"<[^>]+>")


def html_sanitise(*, html: str) -> str:
    """HTML reduced to the rich-text whitelist, headings and block breaks kept."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS | HEADING_TAGS | BREAK_TAGS),
        clean_content_tags=set(DROPPED_CONTENT_TAGS),
        # "*": nothing, else nh3 keeps its generic lang and title attributes.
        attributes={"a": {"href"}, "*": set()},
        link_rel=None,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
    )


def looks_like_html(*, text: str) -> bool:
    return _TAG.search(text) is not None


def html_to_body_blocks(*, html: str) -> list[tuple[str, object]]:
    """Body blocks ("heading", text) / ("paragraph", html) from HTML or plain text.

    Plain text (no tags) becomes one paragraph per blank-line separated part.
    Each <p>, list and non-whitelisted block element becomes its own paragraph
    block; h1-h6 become heading blocks; script and style vanish with their text.
    """
    if not looks_like_html(text=html):
        html = _plain_text_to_html(text=html)
    builder = _BodyBuilder()
    builder.feed(html_sanitise(html=html))
    builder.close()
    return builder.blocks


def body_blocks_text(*, blocks: list[tuple[str, object]]) -> str:
    """The readable text of body blocks, paragraphs only unless there are none."""
    paragraphs = [
        html.unescape(_ANY_TAG.sub(" ", str(value)))
        for kind, value in blocks
        if kind == "paragraph"
    ]
    parts = paragraphs or [str(value) for kind, value in blocks if kind == "heading"]
    return _WHITESPACE.sub(" ", " ".join(parts)).strip()


def _plain_text_to_html(*, text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = [part.strip() for part in _BLANK_LINE.split(text)]
    return "".join(f"<p>{html.escape(part, quote=False)}</p>" for part in parts if part)


def _start_tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    rendered = "".join(
        f' {name}="{html.escape(value or "", quote=True)}"' for name, value in attrs
    )
    return f"<{tag}{rendered}>"


class _BodyBuilder(HTMLParser):
    """Walks nh3's well-formed output and cuts it into body blocks.

    Inline tags still open when a paragraph is cut (as in "<b>a<div>b</div></b>")
    are closed at the cut and reopened in the next paragraph.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, object]] = []
        self._run: list[str] = []
        self._open_inline: list[tuple[str, str]] = []
        self._anchor_kept: list[bool] = []
        self._list: list[str] = []
        self._list_depth = 0
        self._heading: list[str] | None = None

    # parser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._list_depth:
            self._list_start_tag(tag, attrs)
        elif self._heading is not None:
            if tag == "br":
                self._heading.append(" ")
        elif tag in LIST_TAGS:
            self._paragraph_flush()
            self._list_depth = 1
            self._list = [f"<{tag}>"]
        elif tag in HEADING_TAGS:
            self._paragraph_flush()
            self._heading = []
        elif tag == "br":
            self._run.append("<br>")
        elif tag in INLINE_TAGS:
            start = self._inline_start(tag, attrs)
            if start:
                self._run.append(start)
                self._open_inline.append((tag, start))
        else:  # p, li outside a list, or a block break
            self._paragraph_flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]):
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._list_depth:
            self._list_end_tag(tag)
        elif self._heading is not None:
            if tag in HEADING_TAGS:
                self._heading_flush()
        elif tag in INLINE_TAGS:
            if tag == "br" or not self._inline_end(tag):
                return
            self._run.append(f"</{tag}>")
            if self._open_inline and self._open_inline[-1][0] == tag:
                self._open_inline.pop()
        else:
            self._paragraph_flush()

    def handle_data(self, data: str) -> None:
        text = html.escape(data, quote=False)
        if self._list_depth:
            self._list.append(text)
        elif self._heading is not None:
            self._heading.append(data)
        else:
            self._run.append(text)

    def close(self) -> None:
        super().close()
        # nh3's output is well formed, so no list or heading is left open here.
        self._paragraph_flush()

    # lists: kept whole, as one paragraph block; only inline tags survive inside

    def _list_start_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in LIST_TAGS:
            self._list_depth += 1
            self._list.append(f"<{tag}>")
        elif tag == "li" or tag == "br":
            self._list.append(f"<{tag}>")
        elif tag in INLINE_TAGS:
            self._list.append(self._inline_start(tag, attrs))
        else:  # a paragraph, heading or block break inside an item: a word break
            self._list.append(" ")

    def _list_end_tag(self, tag: str) -> None:
        if tag in LIST_TAGS:
            self._list.append(f"</{tag}>")
            self._list_depth -= 1
            if not self._list_depth:
                self._list_flush()
        elif tag == "li":
            self._list.append("</li>")
        elif tag in INLINE_TAGS:
            if tag != "br" and self._inline_end(tag):
                self._list.append(f"</{tag}>")
        else:
            self._list.append(" ")

    # links without a safe href (nh3 removed it) are unwrapped, keeping their text

    def _inline_start(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        if tag != "a":
            return f"<{tag}>"
        href = dict(attrs).get("href")
        self._anchor_kept.append(bool(href))
        return _start_tag("a", [("href", href)]) if href else ""

    def _inline_end(self, tag: str) -> bool:
        if tag != "a":
            return True
        return self._anchor_kept.pop() if self._anchor_kept else False

    # block output

    def _heading_flush(self) -> None:
        text = _WHITESPACE.sub(" ", "".join(self._heading or [])).strip()
        self._heading = None
        if text:
            self.blocks.append(("heading", text[:HEADING_MAX_LENGTH].rstrip()))

    def _list_flush(self) -> None:
        markup = _SPACE_AROUND_LIST_TAGS.sub(r"\1", self._tidy("".join(self._list)))
        self._list = []
        if _has_text(markup):
            self.blocks.append(("paragraph", markup))

    def _paragraph_flush(self) -> None:
        closing = "".join(f"</{tag}>" for tag, _ in reversed(self._open_inline))
        markup = self._tidy("".join(self._run) + closing)
        markup = _TRAILING_SPACE.sub(r"\1", _LEADING_SPACE.sub(r"\1", markup))
        # The formatting still open carries over into the next paragraph.
        self._run = [start for _, start in self._open_inline]
        if _has_text(markup):
            self.blocks.append(("paragraph", f"<p>{markup}</p>"))

    @staticmethod
    def _tidy(markup: str) -> str:
        markup = _SPACE_AROUND_BR.sub("<br>", _WHITESPACE.sub(" ", markup))
        previous = None
        while previous != markup:
            previous, markup = markup, _EMPTY_INLINE.sub("", markup)
        return markup


def _has_text(markup: str) -> bool:
    return bool(_ANY_TAG.sub("", markup).strip())
