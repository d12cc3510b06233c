"""Publishing an article makes its older narrations and clips stale."""

from django.db import transaction
from wagtail.signals import page_published

from cms.models import ArticlePage


def article_published(sender, instance, **kwargs) -> None:
    from generation.media.services import media_on_publish

    page_id = instance.pk
    transaction.on_commit(lambda: media_on_publish(page_id=page_id))


def register_signal_handlers() -> None:
    page_published.connect(
        article_published, sender=ArticlePage, dispatch_uid="generation-media-publish"
    )
