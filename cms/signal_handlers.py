"""Keep the shared live-content stamp in step with publishing."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished

from cms.services import live_content_touch


def live_content_changed(**kwargs) -> None:
    transaction.on_commit(live_content_touch)


def register_signal_handlers() -> None:
    page_published.connect(live_content_changed, dispatch_uid="cms-live-published")
    page_unpublished.connect(live_content_changed, dispatch_uid="cms-live-unpub")
    post_delete.connect(live_content_changed, sender=Page, dispatch_uid="cms-live-del")
    post_save.connect(
        live_content_changed, sender=PageViewRestriction, dispatch_uid="cms-restr"
    )
    post_delete.connect(
        live_content_changed, sender=PageViewRestriction, dispatch_uid="cms-restr-del"
    )
