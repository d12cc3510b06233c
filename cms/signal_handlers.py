"""Keep the shared live-content stamp in step with every change of visibility.

Publish, unpublish (scheduled expiry included), delete, a move, and a view
restriction added, changed or removed (on the page or any ancestor) each move
the stamp once the change is committed; the clock moves it for expiry and
go-live (see cms.selectors.live_content_version).
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

from cms.services import live_content_touch


def live_content_changed(**kwargs) -> None:
    transaction.on_commit(live_content_touch)


def register_signal_handlers() -> None:
    page_published.connect(live_content_changed, dispatch_uid="cms-live-published")
    page_unpublished.connect(live_content_changed, dispatch_uid="cms-live-unpub")
    post_delete.connect(live_content_changed, sender=Page, dispatch_uid="cms-live-del")
    post_page_move.connect(live_content_changed, dispatch_uid="cms-live-moved")
    post_save.connect(
        live_content_changed, sender=PageViewRestriction, dispatch_uid="cms-restr"
    )
    post_delete.connect(
        live_content_changed, sender=PageViewRestriction, dispatch_uid="cms-restr-del"
    )
