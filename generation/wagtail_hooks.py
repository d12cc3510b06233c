"""The generation app in the Wagtail admin: menu, views, provenance panel, actions."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse, reverse_lazy
from wagtail import hooks
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet

from cms.models import ArticlePage
from generation import views
from generation.media.wagtail_hooks import media_urlpatterns
from generation.panels import ProvenancePanel, draft_rejection_open
from generation.workflow import draft_in_review, draft_publish_through_review


class GenerationViewSet(ViewSet):
    """The admin URLs under /admin/generation/ (namespace "generation")."""

    name = "generation"
    icon = "edit"

    def get_urlpatterns(self):
        return [
            path("", views.BriefCreateView.as_view(), name="generate"),
            path("drafts/", views.AiDraftIndexView.as_view(), name="drafts"),
            path(
                "drafts/<int:page_id>/regenerate/",
                views.DraftRegenerateView.as_view(),
                name="regenerate",
            ),
            path(
                "drafts/<int:page_id>/regenerate-section/",
                views.DraftSectionRegenerateView.as_view(),
                name="section_regenerate",
            ),
            path("jobs/", views.JobIndexView.as_view(), name="jobs"),
            path("jobs/<int:job_id>/", views.JobDetailView.as_view(), name="job"),
            path(
                "jobs/<int:job_id>/cancel/",
                views.JobCancelView.as_view(),
                name="job_cancel",
            ),
            path(
                "jobs/<int:job_id>/retry/",
                views.JobRetryView.as_view(),
                name="job_retry",
            ),
            *media_urlpatterns(),
        ]


@hooks.register("register_admin_viewset")
def register_generation_viewset():
    return GenerationViewSet()


class GenerateMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return views.user_can_generate(request.user)


class AiDraftsMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return user_has_any_page_permission(request.user)


# Right after "Pages" (order 100), before the media libraries.
@hooks.register("register_admin_menu_item")
def register_generate_menu_item():
    return GenerateMenuItem(
        "Generate",
        reverse_lazy("generation:generate"),
        name="generate",
        icon_name="edit",
        order=150,
    )


@hooks.register("register_admin_menu_item")
def register_ai_drafts_menu_item():
    return AiDraftsMenuItem(
        "AI drafts",
        reverse_lazy("generation:drafts"),
        name="ai-drafts",
        icon_name="doc-full",
        order=160,
    )


class RegenerateMenuItem(ActionMenuItem):
    """ "Regenerate with this feedback" in the edit view's action menu, while an
    AI draft waits on a reviewer's requested changes."""

    name = "action-generation-regenerate"
    label = "Regenerate with this feedback"
    icon_name = "rotate"

    def is_shown(self, context) -> bool:
        if context["view"] != "edit" or context.get("locked_for_user"):
            return False
        page = context["page"]
        if not getattr(page, "ai_generated", False):
            return False
        permissions = self.get_user_page_permissions_tester(context)
        return permissions.can_edit() and draft_rejection_open(page=page) is not None

    def get_url(self, parent_context) -> str:
        return reverse("generation:regenerate", args=[parent_context["page"].pk])


@hooks.register("register_page_action_menu_item")
def register_regenerate_menu_item():
    return RegenerateMenuItem(order=45)


@hooks.register("construct_page_action_menu")
def hide_publish_while_in_ai_review(menu_items, request, context):
    """An AI draft in review is published by "Approve and publish" only."""
    page = context.get("page")
    if page is not None and draft_in_review(page=page) is not None:
        menu_items[:] = [item for item in menu_items if item.name != "action-publish"]


@hooks.register("before_publish_page")
def publish_ai_draft_through_review(request, page):
    """A "Publish" posted anyway (an old form, a script) approves, or is refused."""
    if draft_in_review(page=page) is None:
        return None
    edit_url = reverse("wagtailadmin_pages:edit", args=[page.pk])
    if draft_publish_through_review(page=page, user=request.user):
        messages.success(
            request, f"“{page.title}” approved in AI review and published."
        )
        return redirect(edit_url)
    messages.error(
        request,
        "This AI draft is in AI review: an Editor publishes it with “Approve and "
        "publish”. Your changes were saved as a new revision.",
    )
    return redirect(edit_url)


def provenance_panel_attach() -> None:
    """Put the provenance panel under the title, on ArticlePage's content tab.

    cms never imports generation, and Wagtail has no hook to add a panel to a
    page type's edit view, so the panel joins `content_panels` from here, once
    (Wagtail loads this module while apps start, before any edit view is built);
    an edit handler already cached is dropped so that it is built again.
    """
    if any(isinstance(panel, ProvenancePanel) for panel in ArticlePage.content_panels):
        return
    title, *rest = ArticlePage.content_panels
    ArticlePage.content_panels = [title, ProvenancePanel(), *rest]
    # Wagtail's admin app only adds `get_edit_handler` to pages when it is ready.
    edit_handler = getattr(ArticlePage, "get_edit_handler", None)
    if edit_handler is not None:
        edit_handler.cache_clear()


provenance_panel_attach()
