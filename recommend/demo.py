"""The reader demo page: pick a simulated reader, see the feed adapt to clicks."""

from django.conf import settings
from django.core.cache import caches
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from cms.models import ApiKey
from cms.models.api_keys import SCOPE_EVENTS_WRITE, SCOPE_FEED_READ
from recommend.models import Reader

DEMO_KEY_CACHE_KEY = "recommend:demo-page-key"
DEMO_KEY_NAME = "reader demo page"


def demo_page_key() -> str:
    """A key limited to feed:read and events:write, made once and shared.

    The page runs in the browser like any front-end, so it needs a key; it gets a
    narrow one, and only when the demo page is enabled (by default under DEBUG).
    """
    cache = caches["shared"]
    key = cache.get(DEMO_KEY_CACHE_KEY)
    if key and ApiKey.objects.is_valid(key):
        return key
    _, key = ApiKey.objects.create_key(
        name=DEMO_KEY_NAME, scopes=[SCOPE_FEED_READ, SCOPE_EVENTS_WRITE]
    )
    cache.set(DEMO_KEY_CACHE_KEY, key, timeout=None)
    return key


def reader_demo(request: HttpRequest) -> HttpResponse:
    if not settings.RECOMMEND_DEMO_PAGE:
        raise Http404("The reader demo page is turned off.")
    readers = list(
        Reader.objects.filter(erased=False, external_id__startswith="sim-")
        .order_by("pk")
        .values_list("external_id", flat=True)[:24]
    )
    return render(
        request,
        "recommend/demo.html",
        {"api_key": demo_page_key(), "readers": readers},
    )
