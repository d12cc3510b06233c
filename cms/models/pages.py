"""Page types of the site: home, sections and articles."""

import math

from django.db import models
from django.utils.html import strip_tags
from django.utils.text import slugify
from modelcluster.fields import ParentalManyToManyField
from rest_framework import serializers
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.api import APIField
from wagtail.api.utils import get_full_url
from wagtail.fields import RichTextField, StreamField
from wagtail.images.api.fields import ImageRenditionField
from wagtail.models import Page, PageLogEntry
from wagtail.search import index

from cms.blocks import ArticleBodyBlock
from cms.timestamps import rfc3339

WORDS_PER_MINUTE = 230


def body_text_from_raw(raw_body) -> str:
    """An article body's text without markup, from its stored block JSON (no
    block objects built: cards read it for many articles at once)."""
    parts: list[str] = []
    for block in raw_body or ():
        kind, value = block.get("type"), block.get("value")
        if kind == "paragraph":
            parts.append(strip_tags(value or ""))
        elif kind == "heading":
            parts.append(str(value or ""))
        elif kind in ("quote", "image"):
            parts.append(
                (value or {}).get("text" if kind == "quote" else "caption") or ""
            )
    return "\n".join(part for part in parts if part)


def reading_minutes(*, standfirst: str, raw_body) -> int:
    """Minutes to read standfirst and body at an average adult reading speed."""
    words = len(f"{standfirst} {body_text_from_raw(raw_body)}".split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


class TopicSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    bio = serializers.CharField()


class TopicListField(serializers.Field):
    def to_representation(self, value):
        return TopicSerializer(value.all(), many=True).data


HERO_RENDITIONS = {
    "thumbnail": "fill-400x225",
    "medium": "width-800",
    "large": "width-1600",
}


class HeroRenditionsField(serializers.Field):
    """Ready-made renditions of the hero image, so front-ends need no second call."""

    def to_representation(self, image):
        request = self.context.get("request")
        renditions = {}
        for name, spec in HERO_RENDITIONS.items():
            rendition = ImageRenditionField(spec).to_representation(image)
            if request is not None and "url" in rendition:
                # The host and port the API was asked on, like every other URL.
                rendition["full_url"] = get_full_url(request, rendition["url"])
            renditions[name] = rendition
        return renditions


class PublicChildrenMixin:
    """Site listings show only children a reader may see now (the one definition
    in cms.selectors), never `get_children().live()`."""

    def get_context(self, request, *args, **kwargs):
        from cms.selectors import page_children_live_list

        context = super().get_context(request, *args, **kwargs)
        context["children"] = page_children_live_list(page=self)
        return context


class HomePage(PublicChildrenMixin, Page):
    intro = RichTextField(blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("intro")]
    api_fields = [APIField("intro")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.SectionPage"]
    max_count_per_parent = 1


class SectionPage(PublicChildrenMixin, Page):
    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    search_fields = Page.search_fields + [index.SearchField("intro")]
    api_fields = [APIField("intro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.ArticlePage"]


# What readers see at the byline of an AI-drafted article (and API v2 serves).
AI_LABEL = "Drafted with AI from our reporting"


class ArticlePage(Page):
    standfirst = models.TextField(
        help_text="One or two sentences that sum the article up."
    )
    body = StreamField(ArticleBodyBlock(), blank=True)
    hero_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    topics = ParentalManyToManyField("cms.Topic", blank=True, related_name="articles")
    author = models.ForeignKey(
        "cms.Author",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    published_date = models.DateField(null=True, blank=True, db_index=True)
    attribution = models.CharField(
        max_length=255, blank=True, help_text="Who the content comes from."
    )
    source_url = models.URLField(blank=True, max_length=500)
    external_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Identifier in the system this article was imported from.",
    )
    # AI disclosure: plain fields written by the generation app (cms imports no AI
    # code). They live on the page, so every revision carries its own provenance.
    ai_generated = models.BooleanField(
        default=False, editable=False, help_text="Drafted by the AI pipeline."
    )
    ai_provenance = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=(
            "Where an AI draft came from: provider, model, prompt version, source "
            "pages, brief summary, audience."
        ),
    )

    content_panels = Page.content_panels + [
        FieldPanel("standfirst"),
        FieldPanel("hero_image"),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                FieldPanel("author"),
                FieldPanel("topics"),
                FieldPanel("published_date"),
            ],
            heading="Metadata",
        ),
        MultiFieldPanel(
            [FieldPanel("attribution"), FieldPanel("source_url")],
            heading="Source",
        ),
    ]

    search_fields = Page.search_fields + [
        index.SearchField("standfirst"),
        index.SearchField("body"),
        index.RelatedFields("topics", [index.SearchField("name")]),
        index.RelatedFields("author", [index.SearchField("name")]),
        index.FilterField("published_date"),
    ]

    api_fields = [
        APIField("standfirst"),
        APIField("body"),
        APIField("hero_image"),
        APIField(
            "hero_image_renditions",
            serializer=HeroRenditionsField(source="hero_image"),
        ),
        APIField("topics", serializer=TopicListField()),
        APIField("author", serializer=AuthorSerializer()),
        APIField("published_date"),
        APIField("reading_time", serializer=serializers.IntegerField()),
        APIField("attribution"),
        APIField("source_url"),
        APIField("external_id"),
        APIField("ai_disclosure", serializer=serializers.JSONField(read_only=True)),
    ]

    parent_page_types = ["cms.SectionPage"]
    subpage_types: list[str] = []

    def body_text(self) -> str:
        """The article's text without markup, for search, similarity and counts."""
        return body_text_from_raw(self.body.raw_data)

    @property
    def ai_disclosure(self) -> dict:
        """Machine-readable AI label for front-ends: what made it, from what, who
        approved it. At most one query (the last publish), and only for AI pages."""
        provenance = self.ai_provenance or {}
        disclosure = {
            "generated": bool(self.ai_generated),
            "provider": provenance.get("provider"),
            "model": provenance.get("model"),
            "prompt_version": provenance.get("prompt_version"),
            "sources": [],
            "brief": provenance.get("brief_summary"),
            "approved_by": None,
            "approved_at": None,
            "label": None,
        }
        if not self.ai_generated:
            return disclosure
        from cms.selectors import article_live_ids

        # A source unpublished since the draft was written is no longer named.
        live_ids = article_live_ids()
        disclosure["sources"] = [
            source
            for source in provenance.get("sources", [])
            if source.get("id") in live_ids
        ]
        if self.live:
            publish = (
                PageLogEntry.objects.filter(page_id=self.pk, action="wagtail.publish")
                .select_related("user")
                .order_by("-timestamp", "-pk")
                .first()
            )
            if publish is not None:
                disclosure["approved_at"] = rfc3339(publish.timestamp)
                if publish.user is not None:
                    # A person's name, never their login: usernames stay private.
                    disclosure["approved_by"] = publish.user.get_full_name() or "Editor"
        disclosure["label"] = AI_LABEL + (
            f", reviewed by {disclosure['approved_by']}"
            if disclosure["approved_by"]
            else ""
        )
        return disclosure

    @property
    def has_sources_heading(self) -> bool:
        """Whether the body has a "Sources" heading (anchor ``#sources``), as AI
        drafts do; the page template adds a sources list to those that do not."""
        return any(
            block.block_type == "heading" and slugify(str(block.value)) == "sources"
            for block in self.body
        )

    @property
    def word_count(self) -> int:
        return len(f"{self.standfirst} {self.body_text()}".split())

    @property
    def reading_time(self) -> int:
        """Minutes to read the article at an average adult reading speed."""
        return reading_minutes(standfirst=self.standfirst, raw_body=self.body.raw_data)
