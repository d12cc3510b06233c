"""Media: the draft's cover image and alt text from the image provider."""

import logging

from generation.models import Brief, PromptTemplate
from generation.pipeline.write import prompt_build, prompt_template_ensure
from generation.providers.base import (
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    ProviderError,
)
from generation.providers.cover import CoverImageProvider

logger = logging.getLogger(__name__)


def cover_make(
    *, provider: ImageProvider | None, brief: Brief, title: str
) -> tuple[GeneratedImage | None, list[dict]]:
    """A cover for the draft, and any flag about how it was made.

    When the configured provider fails, the offline cover stands in (and a flag
    says so): a missing picture is no reason to throw the whole draft away.
    """
    if provider is None:
        return None, []
    template = prompt_template_ensure(kind=PromptTemplate.Kind.COVER)
    prompt = prompt_build(
        template=template, values={"title": title, "topic": brief.topic}
    )
    request = ImageRequest(
        title=title,
        topic=brief.topic,
        label=brief.section.title if brief.section_id else "",
        prompt=prompt,
    )
    try:
        return provider.render(request), []
    except ProviderError as error:
        if isinstance(provider, CoverImageProvider):
            raise
        logger.warning("Cover provider failed, using the offline cover: %s", error)
        image = CoverImageProvider().render(request)
        image.usage = error.usage
        flag = {
            "code": "image_fallback",
            "message": f"The image provider failed ({error}); an offline cover "
            "was used instead.",
        }
        return image, [flag]
