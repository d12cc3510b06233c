"""The offline image provider: a Pillow cover with the headline on a topic palette."""

from django.utils.text import slugify

from cms.covers import cover_render
from generation.providers.base import GeneratedImage, ImageProvider, ImageRequest


class CoverImageProvider(ImageProvider):
    name = "cover"
    model = "cover-1"

    def render(self, request: ImageRequest) -> GeneratedImage:
        # The palette follows the topic, so covers of one topic look like a series.
        data = cover_render(
            title=request.title, label=request.label, palette_key=request.topic
        )
        return GeneratedImage(
            data=data,
            filename=f"ai-cover-{slugify(request.title)[:60] or 'article'}.jpg",
            alt_text=(
                f"Cover graphic showing the headline “{request.title}” on a "
                "coloured gradient."
            )[:255],
            provider=self.name,
            model=self.model,
        )
