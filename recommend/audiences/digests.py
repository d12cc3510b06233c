"""A reader's personalised digest: their feed's best articles grouped by topic."""

from collections import Counter
from dataclasses import dataclass

from cms.selectors import article_live_list
from recommend.models import Audience
from recommend.serving.feeds import feed_for_reader

UNTOPICAL_SECTION = {"id": None, "slug": "", "name": "More for you"}


@dataclass
class DigestItem:
    id: int
    title: str
    standfirst: str
    url: str
    reason: str
    published_at: str | None = None
    reading_time: int | None = None
    section: dict | None = None
    hero_image_renditions: dict | None = None  # URLs as stored (local: a path)


@dataclass
class DigestSection:
    topic: dict
    items: list[DigestItem]


@dataclass
class Digest:
    reader: str
    feed_id: str
    strategy: str
    audience: Audience | None
    intro: str | None
    sections: list[DigestSection]


def _intro_audience(*, external_id: str) -> Audience | None:
    """The reader's audience whose introduction an editor approved, cluster first."""
    return (
        Audience.objects.filter(
            active=True,
            intro_approved=True,
            memberships__reader__external_id=external_id,
            memberships__reader__erased=False,
        )
        .exclude(intro="")
        .order_by("kind", "-size", "pk")
        .first()
    )


def reader_digest(*, external_id: str, n: int = 10) -> Digest:
    """The reader's top ``n`` recommendations, grouped by each item's first topic.

    Sections come in the order of their best item; an item with several topics
    joins the section of the topic most of the digest's items have. Items come
    from the feed (live articles only) and are checked against the live set
    again when their standfirsts are read, so a page unpublished in between is
    dropped.
    """
    feed = feed_for_reader(external_id=external_id, n=n, cards=True)
    live = set(
        article_live_list()
        .filter(pk__in=[item.id for item in feed.items])
        .values_list("pk", flat=True)
    )
    items = [item for item in feed.items if item.id in live]
    # An item with several topics goes under the one most items share, so that
    # sections gather several articles instead of one each.
    shared = Counter(topic["id"] for item in items for topic in item.topics)
    sections: dict[object, DigestSection] = {}
    for item in items:
        card = item.card or {}
        topic = max(
            item.topics,
            key=lambda topic: shared[topic["id"]],
            default=UNTOPICAL_SECTION,
        )
        section = sections.setdefault(topic["id"], DigestSection(topic=topic, items=[]))
        section.items.append(
            DigestItem(
                id=item.id,
                title=item.title,
                standfirst=card.get("standfirst") or "",
                url=item.url,
                reason=item.reason,
                published_at=card.get("published_at"),
                reading_time=card.get("reading_time"),
                section=card.get("section"),
                hero_image_renditions=card.get("hero_image_renditions"),
            )
        )
    audience = _intro_audience(external_id=external_id)
    return Digest(
        reader=external_id,
        feed_id=feed.feed_id,
        strategy=feed.strategy,
        audience=audience,
        intro=audience.intro if audience is not None else None,
        sections=list(sections.values()),
    )
