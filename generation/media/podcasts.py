"""Podcast feeds (RSS 2.0 with iTunes tags, built by feedgen) of approved narrations,
one per section and one per audience."""

from dataclasses import dataclass

from django.db.models import Q
from feedgen.feed import FeedGenerator

from cms.models import ArticlePage, SectionPage
from cms.selectors import article_live_list, page_live_list
from generation.media.api import media_absolute_url, media_disclosure
from generation.media.models import MediaItem
from generation.media.selectors import media_served_list
from recommend.models import Audience

EPISODES = 50
SITE_NAME = "The Daily Engine"


@dataclass
class Podcast:
    title: str
    description: str
    link: str  # a page of the site, relative or absolute
    articles: object  # a queryset of live ArticlePages


class PodcastNotFound(Exception):
    pass


def podcast_for_section(*, slug: str) -> Podcast:
    section = page_live_list().type(SectionPage).filter(slug=slug).specific().first()
    if section is None:
        raise PodcastNotFound(f"No live section {slug!r}.")
    return Podcast(
        title=f"{SITE_NAME}: {section.title}",
        description=section.intro or f"Narrated articles from {section.title}.",
        link=section.url or "/",
        articles=article_live_list().child_of(section),
    )


def podcast_for_audience(*, key: str) -> Podcast:
    """An audience's articles: written for it, or on its favourite topics."""
    audience = Audience.objects.filter(key=key, active=True).first()
    if audience is None:
        raise PodcastNotFound(f"No active audience {key!r}.")
    slugs = [topic["slug"] for topic in audience.top_topics[:3] if topic.get("slug")]
    slugs += list((audience.rule or {}).get("topics", []))
    articles = article_live_list().filter(
        Q(topics__slug__in=slugs) | Q(ai_provenance__audience=key)
    )
    return Podcast(
        title=f"{SITE_NAME}: for {audience.name}",
        description=f"Narrated articles chosen for {audience.name}.",
        link="/",
        articles=articles.distinct(),
    )


def podcast_episodes(*, podcast: Podcast) -> list[tuple[ArticlePage, MediaItem]]:
    """Approved, current narrations of the podcast's live articles, newest first."""
    page_ids = podcast.articles.values("pk")
    items = list(
        media_served_list(kind=MediaItem.Kind.NARRATION)
        .filter(page_id__in=page_ids)
        .select_related("page", "reviewed_by")[:EPISODES]
    )
    seen: set[int] = set()
    episodes = []
    for item in items:
        if item.page_id not in seen:
            seen.add(item.page_id)
            episodes.append((item.page, item))
    return episodes


def podcast_rss(*, podcast: Podcast, feed_url: str, request=None) -> bytes:
    feed = FeedGenerator()
    feed.load_extension("podcast")
    feed.title(podcast.title)
    feed.link(href=media_absolute_url(podcast.link, request=request), rel="alternate")
    feed.link(href=feed_url, rel="self")
    feed.description(podcast.description)
    feed.language("en")
    feed.generator("content engine (feedgen)")
    feed.podcast.itunes_author(SITE_NAME)
    feed.podcast.itunes_category("News")
    feed.podcast.itunes_explicit("no")
    feed.podcast.itunes_summary(podcast.description)
    for page, item in podcast_episodes(podcast=podcast):
        page_url = media_absolute_url(page.url or "/", request=request)
        audio_url = media_absolute_url(item.file.url, request=request)
        entry = feed.add_entry(order="append")
        entry.guid(f"{page_url}#narration-{item.pk}", permalink=False)
        entry.title(page.title)
        entry.link(href=page_url)
        entry.description(f"{page.standfirst} {media_disclosure(item)['label']}")
        entry.enclosure(audio_url, str(item.file.size), item.mime_type or "audio/mpeg")
        if item.reviewed_at:
            entry.published(item.reviewed_at)
        entry.podcast.itunes_duration(round(item.duration_seconds))
        entry.podcast.itunes_summary(page.standfirst)
    return feed.rss_str(pretty=True)
