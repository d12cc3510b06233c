"""Wagtail hooks of the CMS app: pages served and linked only while public."""

from django.db.models import Model
from django.http import Http404
from wagtail import hooks
from wagtail.rich_text.pages import PageLinkHandler

from cms.selectors import page_is_live_now, page_live_list


@hooks.register("before_serve_page")
def page_serve_only_live_now(page, request, serve_args, serve_kwargs):
    # Expired or not yet gone live: a 404 as for an unpublished page, even before
    # the per-minute scheduled unpublish has run. Restricted pages go on to
    # Wagtail's own login or password check.
    if not page_is_live_now(page=page):
        raise Http404


class PublicPageLinkHandler(PageLinkHandler):
    """Internal links in rich text point only at pages a reader may see now; a
    link to any other page renders as a bare <a> (its text, no URL)."""

    @classmethod
    def get_many(cls, attrs_list: list[dict]) -> list[Model]:
        pages = super().get_many(attrs_list)
        wanted = [page.pk for page in pages if page is not None]
        public = set(
            page_live_list().filter(pk__in=wanted).values_list("pk", flat=True)
        )
        return [
            page if page is not None and page.pk in public else None for page in pages
        ]


@hooks.register("register_rich_text_features", order=100)
def page_links_public_only(features) -> None:
    # After Wagtail's own registration of the "page" link type, which it replaces.
    features.register_link_type(PublicPageLinkHandler)
