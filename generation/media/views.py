"""Admin views of AI media: the "AI media" review listing, asking for media from
an article's edit view, Approve and Reject."""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.auth import permission_denied, user_has_any_page_permission
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from cms.models import ArticlePage
from generation.media.models import MediaItem
from generation.media.selectors import media_item_get, media_review_list
from generation.media.services import (
    MediaRefused,
    media_item_approve,
    media_item_reject,
    media_request,
)
from generation.workflow import EDITORS_GROUP_NAME

HOME = {"url": reverse_lazy("wagtailadmin_home"), "label": "Home"}
MEDIA = {"url": reverse_lazy("generation:media"), "label": "AI media"}


def user_can_review_media(user, page: ArticlePage) -> bool:
    """Editors (the "AI review" approvers) and whoever may publish the page."""
    if user.is_superuser or user.groups.filter(name=EDITORS_GROUP_NAME).exists():
        return True
    return page.permissions_for_user(user).can_publish()


class MediaIndexView(WagtailAdminTemplateMixin, TemplateView):
    """AI media waiting for an Editor (or being made), with players; `?all=1`
    lists everything."""

    template_name = "generation/admin/media_index.html"
    page_title = "AI media"
    header_icon = "media"

    def dispatch(self, request, *args, **kwargs):
        if not user_has_any_page_permission(request.user):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [HOME, {"url": "", "label": "AI media"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        show_all = self.request.GET.get("all") == "1"
        items = list(media_review_list(pending_only=not show_all)[:100])
        context.update(
            items=items,
            show_all=show_all,
            running=any(not item.is_finished for item in items),
        )
        return context


class MediaRequestView(WagtailAdminTemplateMixin, View):
    """Narrate / Render clip from the edit view: GET confirms, POST queues."""

    template_name = "generation/admin/media_request.html"
    header_icon = "media"

    def dispatch(self, request, page_id: int, kind: str):
        if kind not in MediaItem.Kind.values:
            raise Http404("No such kind of media.")
        self.kind = kind
        self.page = get_object_or_404(ArticlePage, pk=page_id)
        if not self.page.permissions_for_user(request.user).can_edit():
            return permission_denied(request)
        return super().dispatch(request, page_id, kind)

    def get_page_title(self):
        return "Narrate" if self.kind == MediaItem.Kind.NARRATION else "Render clip"

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        edit_url = reverse("wagtailadmin_pages:edit", args=[self.page.pk])
        return [
            HOME,
            MEDIA,
            {"url": edit_url, "label": self.page.get_admin_display_title()},
            {"url": "", "label": self.get_page_title()},
        ]

    def get(self, request, page_id: int, kind: str):
        return self.render_to_response(
            self.get_context_data(
                page=self.page,
                kind=self.kind,
                edit_url=reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
            )
        )

    def post(self, request, page_id: int, kind: str):
        try:
            item = media_request(page=self.page, kind=self.kind, user=request.user)
        except MediaRefused as refused:
            messages.error(request, str(refused))
            return redirect("wagtailadmin_pages:edit", self.page.pk)
        messages.success(
            request,
            f"{item.get_kind_display()} of “{self.page.title}”: "
            f"{item.get_status_display().lower()}.",
        )
        return redirect("generation:media")


class MediaReviewView(View):
    """Approve or Reject (POST) an item in review."""

    approve = True

    def post(self, request, item_id: int):
        try:
            item = media_item_get(item_id=item_id)
        except MediaItem.DoesNotExist:
            raise Http404("No such media.") from None
        if not user_can_review_media(request.user, item.page):
            return permission_denied(request)
        try:
            if self.approve:
                media_item_approve(item=item, user=request.user)
            else:
                media_item_reject(
                    item=item,
                    user=request.user,
                    comment=request.POST.get("comment", ""),
                )
        except MediaRefused as refused:
            messages.error(request, str(refused))
        else:
            verb = "approved" if self.approve else "rejected"
            messages.success(
                request, f"{item.get_kind_display()} of “{item.page.title}” {verb}."
            )
        return redirect(request.POST.get("next") or reverse("generation:media"))
