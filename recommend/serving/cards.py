"""What a card shows for a live article, read once per catalogue and kept with it.

Feed, similar and digest items carry standfirst, publication time, reading time,
section and hero image renditions. A catalogue lives as long as the live-content
stamp, so card data kept on it is dropped by any publish (a new hero image, an
edited standfirst) together with the catalogue. Items never seen by this process
since the last change are read in one batch (page values, then their images
with renditions), never one query per item.
"""

import json
import logging
import threading
import weakref

from django.conf import settings
from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast
from wagtail.images import get_image_model

from cms.models import ArticlePage
from cms.models.pages import HERO_RENDITIONS, reading_minutes
from cms.timestamps import rfc3339
from recommend.serving.catalogue import Catalogue

logger = logging.getLogger(__name__)

WARM_CHUNK = 500

# Fields a feed, similar or digest item can carry; `fields=` picks among them.
ITEM_FIELDS = ("id", "title", "url", "topics", "score", "reason")
CARD_FIELDS = (
    "standfirst",
    "published_at",
    "reading_time",
    "section",
    "hero_image_renditions",
)


def _renditions(image) -> dict | None:
    if image is None:
        return None
    renditions = image.get_renditions(*HERO_RENDITIONS.values())
    return {
        name: {
            "url": rendition.url,
            "width": rendition.width,
            "height": rendition.height,
            "alt": rendition.alt,
        }
        for name, rendition in zip(HERO_RENDITIONS, renditions.values(), strict=True)
    }


def _cards_load(catalogue: Catalogue, rows: list[int]) -> None:
    # Plain values, not page objects, and the body as its stored JSON text:
    # building Wagtail pages or stream values cost more than the query.
    ids = [int(catalogue.item_ids[row]) for row in rows]
    pages = {
        values[0]: values
        for values in ArticlePage.objects.filter(pk__in=ids)
        .annotate(body_json=Cast("body", TextField()))
        .values_list(
            "pk", "standfirst", "body_json", "first_published_at", "hero_image_id"
        )
    }
    hero_ids = {values[4] for values in pages.values() if values[4] is not None}
    images = {}
    if hero_ids:
        images = {
            image.pk: image
            for image in get_image_model()
            .objects.filter(pk__in=hero_ids)
            .prefetch_renditions(*HERO_RENDITIONS.values())
        }
    for row, page_id in zip(rows, ids, strict=True):
        values = pages.get(page_id)
        if values is None:  # deleted since the catalogue was built: an empty card
            catalogue.cards[row] = dict.fromkeys(CARD_FIELDS)
            continue
        _, standfirst, body, first_published_at, hero_image_id = values
        catalogue.cards[row] = {
            "standfirst": standfirst,
            "published_at": rfc3339(first_published_at),
            "reading_time": reading_minutes(
                standfirst=standfirst,
                raw_body=json.loads(body) if body else (),
            ),
            "section": catalogue.item_section(row),
            "hero_image_renditions": _renditions(images.get(hero_image_id)),
        }


def _warm(reference: weakref.ref, *, close_connections: bool = True) -> None:
    """Fill every card of a catalogue, a chunk per query, while it is current."""
    try:
        start = 0
        while True:
            catalogue = reference()
            if catalogue is None or start >= len(catalogue):
                return  # replaced by a newer catalogue, or done
            rows = [
                row
                for row in range(start, min(start + WARM_CHUNK, len(catalogue)))
                if row not in catalogue.cards
            ]
            if rows:
                _cards_load(catalogue, rows)
            start += WARM_CHUNK
            del catalogue  # only the weak reference between chunks
    except Exception:
        logger.exception("Warming cards failed; requests read them on demand")
    finally:
        if close_connections:
            connections.close_all()  # this thread's connections only


def _warm_wanted(catalogue: Catalogue) -> bool:
    return settings.RECOMMEND_CARDS_WARM and len(catalogue) <= (
        settings.RECOMMEND_CARDS_WARM_MAX_ITEMS
    )


def cards_warm_now(catalogue: Catalogue) -> int:
    """Fill every card of ``catalogue`` here and now (a web worker at start,
    before its first request); returns how many were read. Nothing when
    warming is off or the catalogue is past RECOMMEND_CARDS_WARM_MAX_ITEMS."""
    if catalogue.cards_warming or not _warm_wanted(catalogue):
        return 0
    catalogue.cards_warming = True
    before = len(catalogue.cards)
    _warm(weakref.ref(catalogue), close_connections=False)
    return len(catalogue.cards) - before


def _warm_start(catalogue: Catalogue) -> None:
    catalogue.cards_warming = True
    if not _warm_wanted(catalogue):
        return
    threading.Thread(
        target=_warm, args=(weakref.ref(catalogue),), name="cards-warm", daemon=True
    ).start()


def item_cards(catalogue: Catalogue, rows: list[int]) -> list[dict]:
    """The card of each row (rendition URLs still relative when stored locally).

    The first call on a catalogue also starts filling all its cards in the
    background (up to RECOMMEND_CARDS_WARM_MAX_ITEMS items), so that feeds soon
    find every card ready; until then the missing ones are read here, in one batch.
    """
    if not catalogue.cards_warming:
        _warm_start(catalogue)
    missing = [row for row in dict.fromkeys(rows) if row not in catalogue.cards]
    if missing:
        _cards_load(catalogue, missing)
    return [catalogue.cards[row] for row in rows]
