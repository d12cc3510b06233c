"""The events a webhook endpoint can subscribe to, and what a page event carries."""

from django.conf import settings
from django.db import models

PING = "ping"


class WebhookEvent(models.TextChoices):
    PAGE_PUBLISHED = "page.published", "Page published"
    PAGE_UNPUBLISHED = "page.unpublished", "Page unpublished"
    PAGE_DELETED = "page.deleted", "Page deleted"
    DRAFT_READY_FOR_REVIEW = "draft.ready_for_review", "AI draft ready for review"
    MODEL_PROMOTED = "model.promoted", "Recommender model promoted"


def page_event_data(*, page) -> dict:
    """What a receiver needs to refresh a page: ids, names and where to fetch it.

    Built while the event happens, so a deleted page still has its last path.
    """
    specific_class = page.specific_class or type(page)
    try:
        url = page.get_full_url()
    except Exception:  # a page being deleted may have lost its site already
        url = None
    return {
        "id": page.pk,
        "type": f"{specific_class._meta.app_label}.{specific_class.__name__}",
        "title": page.title,
        "slug": page.slug,
        "url_path": page.url_path,
        "url": url,
        "api_url": f"{settings.WAGTAILAPI_BASE_URL}/api/v2/pages/{page.pk}/",
        "live": page.live,
    }
