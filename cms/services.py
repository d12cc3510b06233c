"""Writes of the CMS app: site tree, taxonomy, articles and the live-content stamp."""

import datetime
import io
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.core.files.images import ImageFile
from django.core.management import call_command
from django.db import transaction
from django.utils.html import escape
from django.utils.text import slugify
from wagtail.images import get_image_model
from wagtail.models import Locale, Page, Site
from wagtail.rich_text import RichText

from cms.covers import cover_render
from cms.models import ArticlePage, Author, HomePage, SectionPage, Topic
from cms.selectors import (
    LIVE_VERSION_KEY,
    live_content_stamp_new,
    live_content_version,
)

HOME_TITLE = "The Daily Engine"


def live_content_touch() -> str:
    """Move the shared live-content stamp so every process reloads its live ids
    (and learns the next expiry or go-live moment, when it goes stale again)."""
    stamp = live_content_stamp_new()
    caches["shared"].set(LIVE_VERSION_KEY, stamp, timeout=None)
    return stamp[0]


def pages_publish_scheduled() -> str:
    """Wagtail's scheduled publishing (unpublish the expired, publish what is due),
    then the stamp checked against the clock. Idempotent: a second run finds
    nothing due, and the stamp only moves when something's window was crossed.
    """
    call_command("publish_scheduled", stdout=io.StringIO())
    return live_content_version()


@transaction.atomic
def home_page_ensure() -> HomePage:
    """The site's HomePage, created once and made the default site's root."""
    home = HomePage.objects.first()
    if home is None:
        Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
        root = Page.get_first_root_node() or Page.add_root(
            instance=Page(title="Root", slug="root", live=True)
        )
        # Wagtail's initial migration leaves a placeholder "Welcome" page at /home/.
        for placeholder in root.get_children().exact_type(Page).filter(slug="home"):
            placeholder.delete()
        home = root.add_child(instance=HomePage(title=HOME_TITLE, slug="home"))
        home.save_revision().publish()
    # The default site answers on the admin's base URL, so html_url links work.
    base_url = urlsplit(settings.WAGTAILADMIN_BASE_URL)
    hostname = base_url.hostname or "localhost"
    port = base_url.port or (443 if base_url.scheme == "https" else 80)
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname=hostname,
            port=port,
            root_page=home,
            is_default_site=True,
            site_name=HOME_TITLE,
        )
    elif site.root_page_id != home.pk or (site.hostname, site.port) != (
        hostname,
        port,
    ):
        # Also when the served port moved (`PORT=8080 make run` after a first run).
        site.root_page = home
        site.site_name = HOME_TITLE
        site.hostname, site.port = hostname, port
        site.save()
    return home


def section_ensure(
    *, home: HomePage, slug: str, title: str, intro: str = ""
) -> SectionPage:
    section = SectionPage.objects.child_of(home).filter(slug=slug).first()
    if section is None:
        section = home.add_child(
            instance=SectionPage(title=title, slug=slug, intro=intro)
        )
        section.save_revision().publish()
    return section.specific


def topic_ensure(*, name: str, slug: str | None = None, description: str = "") -> Topic:
    slug = slug or slugify(name)[:100]
    topic, _ = Topic.objects.get_or_create(
        slug=slug, defaults={"name": name, "description": description}
    )
    return topic


def author_ensure(*, name: str, slug: str | None = None, bio: str = "") -> Author:
    slug = slug or slugify(name)[:150]
    author, _ = Author.objects.get_or_create(
        slug=slug, defaults={"name": name, "bio": bio}
    )
    return author


def cover_image_create(*, title: str, label: str = ""):
    """A generated cover, stored as a Wagtail image so it gets renditions."""
    image_model = get_image_model()
    data = cover_render(title=title, label=label, palette_key=label)
    filename = f"cover-{slugify(title)[:60] or 'article'}.jpg"
    image = image_model(title=f"Cover: {title}"[:255])
    image.file = ImageFile(io.BytesIO(data), name=filename)
    image.save()
    return image


def paragraphs_to_html(text: str) -> str:
    """Plain text (blank-line separated) to rich-text paragraphs, escaped."""
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
    return "".join(f"<p>{escape(part)}</p>" for part in paragraphs)


@transaction.atomic
def article_create(
    *,
    section: SectionPage,
    title: str,
    standfirst: str,
    body: list[tuple[str, object]],
    slug: str | None = None,
    topics: list[Topic] | None = None,
    author: Author | None = None,
    published_date: datetime.date | None = None,
    hero_image=None,
    attribution: str = "",
    source_url: str = "",
    external_id: str = "",
    publish: bool = True,
) -> ArticlePage:
    """Create an article under a section, with a first revision, published or not.

    `body` is a list of (block type, value) pairs as ArticleBodyBlock takes them,
    paragraphs given as HTML already inside the rich-text whitelist.
    """
    article = ArticlePage(
        title=title,
        slug=slug or _free_slug(parent=section, title=title),
        standfirst=standfirst,
        body=[
            (kind, RichText(value) if kind == "paragraph" else value)
            for kind, value in body
        ],
        author=author,
        published_date=published_date,
        hero_image=hero_image,
        attribution=attribution,
        source_url=source_url,
        external_id=external_id,
        live=False,
    )
    article.topics = list(topics or [])
    section.add_child(instance=article)
    revision = article.save_revision()
    if publish:
        revision.publish()
        # publish() saves a copy built from the revision: reload to see live=True.
        article.refresh_from_db()
    return article


def _free_slug(*, parent: Page, title: str) -> str:
    base = slugify(title)[:200] or "article"
    slug, counter = base, 2
    siblings = parent.get_children()
    while siblings.filter(slug=slug).exists():
        slug, counter = f"{base}-{counter}", counter + 1
    return slug
