"""StreamField blocks that make up an article body."""

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

# The rich-text whitelist: the editor features here and the nh3 sanitiser in
# cms.sanitise agree on which tags an article paragraph may contain.
RICH_TEXT_FEATURES = ["bold", "italic", "link", "ol", "ul"]


class ImageWithCaptionBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False, max_length=255)
    alt_text = blocks.CharBlock(
        max_length=255, help_text="Describe the image for readers who cannot see it."
    )

    class Meta:
        icon = "image"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "openquote"


class ArticleLinkBlock(blocks.StructBlock):
    page = blocks.PageChooserBlock(page_type="cms.ArticlePage")
    label = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "link"

    def get_api_representation(self, value, context=None):
        page = value.get("page")
        return {
            "page": page.pk if page else None,
            "title": page.title if page else None,
            "label": value.get("label") or "",
        }


class ArticleBodyBlock(blocks.StreamBlock):
    heading = blocks.CharBlock(max_length=255, form_classname="title", icon="title")
    paragraph = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)
    image = ImageWithCaptionBlock()
    quote = QuoteBlock()
    article_link = ArticleLinkBlock()
