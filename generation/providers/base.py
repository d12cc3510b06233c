"""What every text and image provider takes and returns, and how one is chosen."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True)
class SourceDocument:
    """A live article the draft may draw on and must link to."""

    page_id: int
    title: str
    url: str  # the page's URL on the site, e.g. "/science/a-slug/"
    standfirst: str
    text: str  # the body as plain text, one paragraph a line
    topics: tuple[str, ...] = ()
    score: float = 0.0
    quotes: tuple[str, ...] = ()  # quoted words in the text, not the writer's own


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt and the template version it came from."""

    system: str
    user: str
    template_id: int | None = None
    revision_id: int | None = None


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    images: int = 0

    def add(self, *, tokens_in: int = 0, tokens_out: int = 0, images: int = 0):
        self.tokens_in += tokens_in or 0
        self.tokens_out += tokens_out or 0
        self.images += images or 0


@dataclass(frozen=True)
class WriteRequest:
    topic: str
    angle: str
    keywords: tuple[str, ...]
    tone: str
    target_words: int
    sources: tuple[SourceDocument, ...]
    prompt: Prompt
    feedback: str = ""  # the editor's comment, verbatim
    audience: str = ""
    # The comment read as actions (generation.feedback): subjects to leave out
    # and subjects to lead with, in the editor's words.
    exclude_terms: tuple[str, ...] = ()
    focus_terms: tuple[str, ...] = ()
    format: str = "feature"  # generation.formats.Format


@dataclass(frozen=True)
class SectionRequest:
    """One section of a draft to rewrite with an editor's comment."""

    heading: str
    html: str  # the section's body as it stands, without its heading
    prompt: Prompt
    feedback: str  # the comment, verbatim
    target_words: int
    tone: str = ""
    sources: tuple[SourceDocument, ...] = ()  # the articles the section links to
    exclude_terms: tuple[str, ...] = ()
    focus_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftSection:
    heading: str  # may be empty, e.g. for an introduction
    html: str
    sources: tuple[int, ...]


@dataclass
class Draft:
    """A provider's article, not yet checked: its HTML is untrusted."""

    title: str
    standfirst: str
    sections: list[DraftSection]
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)
    # For search engines and sharing (Wagtail's promote tab); derived from the
    # title and standfirst by the checks when a provider leaves them empty.
    seo_title: str = ""
    search_description: str = ""


@dataclass(frozen=True)
class ImageRequest:
    title: str
    topic: str
    label: str  # a short label drawn on offline covers, e.g. the section
    prompt: Prompt


@dataclass
class GeneratedImage:
    data: bytes
    filename: str
    alt_text: str
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)


class ProviderError(Exception):
    """A provider could not deliver. `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool = True, usage=None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.usage = usage or Usage()


class TextProvider(ABC):
    name: str
    model: str

    @abstractmethod
    def write(self, request: WriteRequest) -> Draft:
        """An article for the request, grounded in `request.sources`."""

    def rewrite_section(self, request: SectionRequest) -> tuple[DraftSection, Usage]:
        """The section rewritten to answer the comment (its body only)."""
        raise ProviderError(
            f"The {self.name} provider cannot rewrite a single section.",
            retryable=False,
        )


class ImageProvider(ABC):
    name: str
    model: str

    @abstractmethod
    def render(self, request: ImageRequest) -> GeneratedImage:
        """A cover image for the article, with alt text."""


TEXT_PROVIDERS = ("composer", "openai_compatible")
IMAGE_PROVIDERS = ("cover", "openai_compatible", "none")


def text_provider_get(name: str | None = None) -> TextProvider:
    """The text provider named (default: GENERATION_TEXT_PROVIDER)."""
    name = name or settings.GENERATION_TEXT_PROVIDER
    if name == "composer":
        from generation.providers.composer import ComposerTextProvider

        return ComposerTextProvider()
    if name in ("openai_compatible", "openai"):
        from generation.providers.openai_compatible import (
            OpenAICompatibleTextProvider,
        )

        return OpenAICompatibleTextProvider.from_settings()
    raise ProviderError(
        f"Unknown text provider {name!r}; use one of {', '.join(TEXT_PROVIDERS)}.",
        retryable=False,
    )


def image_provider_get(name: str | None = None) -> ImageProvider | None:
    """The image provider named (default: GENERATION_IMAGE_PROVIDER); None: no image."""
    name = name or settings.GENERATION_IMAGE_PROVIDER
    if name == "none":
        return None
    if name == "cover":
        from generation.providers.cover import CoverImageProvider

        return CoverImageProvider()
    if name in ("openai_compatible", "openai"):
        from generation.providers.openai_compatible import (
            OpenAICompatibleImageProvider,
        )

        return OpenAICompatibleImageProvider.from_settings()
    raise ProviderError(
        f"Unknown image provider {name!r}; use one of {', '.join(IMAGE_PROVIDERS)}.",
        retryable=False,
    )
