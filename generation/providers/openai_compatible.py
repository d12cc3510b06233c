"""Text and image providers for any OpenAI-compatible server, through the openai SDK.

The only module that talks to model servers. Each call is tried up to
1 + GENERATION_MAX_RETRIES times with exponential backoff on rate limits (429),
server errors (5xx), timeouts, dropped connections and unusable output (JSON that
does not parse or does not fit the draft shape); other errors fail at once.
The SDK's own retries are off so that this loop is the only one.
"""

import base64
import binascii
import io
import json
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import openai
from django.conf import settings
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from generation.providers.base import (
    Draft,
    DraftSection,
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    ProviderError,
    SectionRequest,
    TextProvider,
    Usage,
    WriteRequest,
)

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
MAX_SECTIONS = 12
Result = TypeVar("Result")


class MalformedOutput(Exception):
    """The server answered, but not with something the pipeline can use."""


def _client(*, base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url or None,
        # Local servers (Ollama, llama.cpp, vLLM) need no key, but the SDK wants one.
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=0,
    )


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _describe(error: Exception) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "the model server did not answer in time"
    if isinstance(error, openai.APIConnectionError):
        return "the model server could not be reached"
    if isinstance(error, openai.APIStatusError):
        return f"the model server answered HTTP {error.status_code}"
    if isinstance(error, MalformedOutput):
        return f"the model's answer was unusable ({error})"
    return str(error) or error.__class__.__name__


def _is_retryable(error: Exception) -> bool:
    retryable = (
        openai.APIConnectionError,  # includes APITimeoutError
        openai.APIResponseValidationError,
        MalformedOutput,
    )
    if isinstance(error, retryable):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return False


def call_with_retries(
    operation: Callable[[], Result],
    *,
    what: str,
    attempts: int,
    backoff: float,
    usage: Usage,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """`operation()` tried up to `attempts` times; a ProviderError when it gives up."""
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except (openai.OpenAIError, MalformedOutput) as error:
            if not _is_retryable(error):
                raise ProviderError(
                    f"{what} failed: {_describe(error)}.", retryable=False, usage=usage
                ) from error
            last_error = error
            if attempt == attempts:
                break
            delay = min(MAX_BACKOFF_SECONDS, backoff * 2 ** (attempt - 1))
            hinted = _retry_after(error)
            if hinted is not None:
                delay = min(MAX_BACKOFF_SECONDS, max(delay, hinted))
            logger.warning(
                "%s: attempt %d of %d failed (%s); retrying in %.2f s",
                what,
                attempt,
                attempts,
                _describe(error),
                delay,
            )
            sleep(delay)
    raise ProviderError(
        f"{what} failed after {attempts} attempts: {_describe(last_error)}.",
        retryable=True,
        usage=usage,
    ) from last_error


def _json_object(content: str | None) -> dict:
    """The model's answer as a JSON object; MalformedOutput when it is not one."""
    text = (content or "").strip()
    if text.startswith("```"):
        # Some servers wrap JSON in a Markdown fence despite json_object mode.
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedOutput(f"not JSON: {error.msg}") from error
    if not isinstance(data, dict):
        raise MalformedOutput("not a JSON object")
    return data


def draft_parse(content: str | None, *, provider: str, model: str) -> Draft:
    """The model's JSON answer as a Draft; MalformedOutput when it does not fit."""
    data = _json_object(content)
    title, standfirst = data.get("title"), data.get("standfirst")
    sections = data.get("sections")
    if not isinstance(title, str) or not title.strip():
        raise MalformedOutput("no title")
    if not isinstance(standfirst, str) or not standfirst.strip():
        raise MalformedOutput("no standfirst")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise MalformedOutput(f"sections must be a list of 1 to {MAX_SECTIONS}")
    parsed: list[DraftSection] = []
    for number, section in enumerate(sections, start=1):
        if not isinstance(section, dict):
            raise MalformedOutput(f"section {number} is not an object")
        heading = section.get("heading") or ""
        body = section.get("html")
        sources = section.get("sources") or []
        if not isinstance(heading, str) or not isinstance(body, str) or not body:
            raise MalformedOutput(f"section {number} needs a heading and html")
        if not isinstance(sources, list) or not all(
            isinstance(source, int) and not isinstance(source, bool)
            for source in sources
        ):
            raise MalformedOutput(f"section {number}: sources must be page ids")
        parsed.append(DraftSection(heading=heading, html=body, sources=tuple(sources)))
    seo_title, search_description = (
        data.get("seo_title"),
        data.get("search_description"),
    )
    return Draft(
        title=title,
        standfirst=standfirst,
        sections=parsed,
        provider=provider,
        model=model,
        # Optional: the checks derive them from the title and standfirst.
        seo_title=seo_title if isinstance(seo_title, str) else "",
        search_description=(
            search_description if isinstance(search_description, str) else ""
        ),
    )


def section_parse(content: str | None, *, heading: str) -> DraftSection:
    """The model's JSON answer for one section; MalformedOutput when it does not fit."""
    data = _json_object(content)
    body, sources = data.get("html"), data.get("sources") or []
    if not isinstance(body, str) or not body.strip():
        raise MalformedOutput("the section needs its html")
    if not isinstance(sources, list) or not all(
        isinstance(source, int) and not isinstance(source, bool) for source in sources
    ):
        raise MalformedOutput("sources must be page ids")
    return DraftSection(heading=heading, html=body, sources=tuple(sources))


class _ModelServer:
    """The connection and retry policy both OpenAI-compatible providers share."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str = "",
        api_key: str = "",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.attempts = 1 + max(0, max_retries)
        self.backoff = backoff
        self.sleep = sleep
        self.client = _client(base_url=base_url, api_key=api_key, timeout=timeout)


class OpenAICompatibleTextProvider(_ModelServer, TextProvider):
    name = "openai_compatible"

    @classmethod
    def from_settings(cls) -> "OpenAICompatibleTextProvider":
        return cls(
            model=settings.GENERATION_MODEL,
            base_url=settings.OPENAI_BASE_URL,
            api_key=settings.OPENAI_API_KEY,
            timeout=settings.GENERATION_TIMEOUT_SECONDS,
            max_retries=settings.GENERATION_MAX_RETRIES,
            backoff=settings.GENERATION_RETRY_BACKOFF_SECONDS,
        )

    def write(self, request: WriteRequest) -> Draft:
        draft, usage = self._json_completion(
            request.prompt,
            parse=lambda content: draft_parse(
                content, provider=self.name, model=self.model
            ),
            what="Writing the draft",
        )
        draft.usage = usage
        return draft

    def rewrite_section(self, request: SectionRequest) -> tuple[DraftSection, Usage]:
        return self._json_completion(
            request.prompt,
            parse=lambda content: section_parse(content, heading=request.heading),
            what="Rewriting the section",
        )

    def _json_completion(self, prompt, *, parse, what: str):
        """`parse` of one JSON chat completion, with retries, and the tokens spent."""
        usage = Usage()
        messages = []
        if prompt.system:
            messages.append({"role": "system", "content": prompt.system})
        messages.append({"role": "user", "content": prompt.user})

        def attempt():
            completion = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format={"type": "json_object"},
            )
            # Tokens are counted even for an answer thrown away: they were spent.
            if completion.usage is not None:
                usage.add(
                    tokens_in=completion.usage.prompt_tokens,
                    tokens_out=completion.usage.completion_tokens,
                )
            if not completion.choices:
                raise MalformedOutput("no choices")
            return parse(completion.choices[0].message.content)

        result = call_with_retries(
            attempt,
            what=what,
            attempts=self.attempts,
            backoff=self.backoff,
            usage=usage,
            sleep=self.sleep,
        )
        return result, usage


class OpenAICompatibleImageProvider(_ModelServer, ImageProvider):
    name = "openai_compatible"

    def __init__(
        self,
        *,
        size: str = "1024x1024",
        timeout: float = 120.0,
        **connection,
    ) -> None:
        super().__init__(timeout=timeout, **connection)
        self.size = size

    @classmethod
    def from_settings(cls) -> "OpenAICompatibleImageProvider":
        return cls(
            model=settings.GENERATION_IMAGE_MODEL,
            base_url=settings.OPENAI_BASE_URL,
            api_key=settings.OPENAI_API_KEY,
            size=settings.GENERATION_IMAGE_SIZE,
            timeout=settings.GENERATION_IMAGE_TIMEOUT_SECONDS,
            max_retries=settings.GENERATION_MAX_RETRIES,
            backoff=settings.GENERATION_RETRY_BACKOFF_SECONDS,
        )

    def render(self, request: ImageRequest) -> GeneratedImage:
        usage = Usage()
        options: dict = {"model": self.model, "prompt": request.prompt.user, "n": 1}
        if self.size:
            options["size"] = self.size
        # gpt-image models always answer base64 and reject the parameter.
        if not self.model.startswith("gpt-image"):
            options["response_format"] = "b64_json"

        def attempt() -> GeneratedImage:
            response = self.client.images.generate(**options)
            tokens = getattr(response, "usage", None)
            usage.add(
                tokens_in=getattr(tokens, "input_tokens", 0) or 0,
                tokens_out=getattr(tokens, "output_tokens", 0) or 0,
                images=1,
            )
            if not response.data or not response.data[0].b64_json:
                raise MalformedOutput("no base64 image")
            try:
                data = base64.b64decode(response.data[0].b64_json, validate=True)
                with Image.open(io.BytesIO(data)) as image:
                    extension = (image.format or "png").lower()
                    image.verify()
            except (binascii.Error, UnidentifiedImageError, OSError) as error:
                raise MalformedOutput("the image data is not a picture") from error
            described = (response.data[0].revised_prompt or "").strip()
            alt_text = described or f"Illustration for the article “{request.title}”."
            return GeneratedImage(
                data=data,
                filename=(
                    f"ai-cover-{slugify(request.title)[:60] or 'article'}"
                    f".{'jpg' if extension == 'jpeg' else extension}"
                ),
                alt_text=alt_text[:255],
                provider=self.name,
                model=self.model,
            )

        image = call_with_retries(
            attempt,
            what="Drawing the cover",
            attempts=self.attempts,
            backoff=self.backoff,
            usage=usage,
            sleep=self.sleep,
        )
        image.usage = usage
        return image
