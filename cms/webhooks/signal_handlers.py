"""Page events become webhook deliveries in the transaction of the change."""

from django.db.models.signals import post_delete
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished

from cms.webhooks.events import WebhookEvent, page_event_data
from cms.webhooks.services import webhook_event_emit


def page_published_emit(instance, **kwargs) -> None:
    webhook_event_emit(
        event=WebhookEvent.PAGE_PUBLISHED,
        data=page_event_data(page=instance),
    )


def page_unpublished_emit(instance, **kwargs) -> None:
    webhook_event_emit(
        event=WebhookEvent.PAGE_UNPUBLISHED, data=page_event_data(page=instance)
    )


def page_deleted_emit(instance, **kwargs) -> None:
    webhook_event_emit(
        event=WebhookEvent.PAGE_DELETED,
        data=page_event_data(page=instance),
    )


def register_signal_handlers() -> None:
    page_published.connect(page_published_emit, dispatch_uid="webhooks-published")
    page_unpublished.connect(page_unpublished_emit, dispatch_uid="webhooks-unpub")
    post_delete.connect(page_deleted_emit, sender=Page, dispatch_uid="webhooks-deleted")
