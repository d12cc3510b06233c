"""StreamField blocks that make up an article body."""

import re

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


class ArticleLinkValue(blocks.StructValue):
    @property
    def public_page(self):
        """The linked article if a reader may see it now, else None: the title and
        URL of an unpublished, expired, restricted or in-review page never show."""
        from cms.selectors import article_live_ids

        page = self.get("page")
        return page if page is not None and page.pk in article_live_ids() else None


class ArticleLinkBlock(blocks.StructBlock):
    page = blocks.PageChooserBlock(page_type="cms.ArticlePage")
    label = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "link"
        value_class = ArticleLinkValue

    def get_api_representation(self, value, context=None):
        page = value.public_page
        return {
            "page": page.pk if page else None,
            "title": page.title if page else None,
            "label": value.get("label") or "",
        }


PAGE_LINK = re.compile(r'<a\b[^>]*\blinktype="page"[^>]*>')
PAGE_LINK_ID = re.compile(r'\bid="(\d+)"')


def page_links_public_only(html: str) -> str:
    """Rich text (database format) whose internal links to pages a reader may not
    see now become a bare <a>: their text stays, the target's id goes."""
    from cms.selectors import page_live_list

    links = {
        tag: int(found.group(1))
        for tag in PAGE_LINK.findall(html)
        if (found := PAGE_LINK_ID.search(tag))
    }
    if not links:
        return html
    public = set(
        page_live_list().filter(pk__in=set(links.values())).values_list("pk", flat=True)
    )
    return PAGE_LINK.sub(
        lambda match: match.group(0) if links.get(match.group(0)) in public else "<a>",
        html,
    )


class ArticleBodyBlock(blocks.StreamBlock):
    heading = blocks.CharBlock(max_length=255, form_classname="title", icon="title")
    paragraph = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)
    image = ImageWithCaptionBlock()
    quote = QuoteBlock()
    article_link = ArticleLinkBlock()

    def get_api_representation(self, value, context=None):
        representation = super().get_api_representation(value, context)
        for item in representation:
            if item["type"] == "paragraph":
                item["value"] = page_links_public_only(item["value"])
        return representation
