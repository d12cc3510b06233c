"""AI media in the Wagtail admin: the "AI media" menu item and the edit view's
"Narrate" and "Render clip" actions (registered by generation.wagtail_hooks)."""

from django.urls import path, reverse, reverse_lazy
from wagtail import hooks
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.menu import MenuItem

from generation.media import views
from generation.media.models import MediaItem


def media_urlpatterns() -> list:
    """Joined to the "generation" admin viewset's URLs."""
    return [
        path("media/", views.MediaIndexView.as_view(), name="media"),
        path(
            "media/request/<int:page_id>/<str:kind>/",
            views.MediaRequestView.as_view(),
            name="media_request",
        ),
        path(
            "media/<int:item_id>/approve/",
            views.MediaReviewView.as_view(approve=True),
            name="media_approve",
        ),
        path(
            "media/<int:item_id>/reject/",
            views.MediaReviewView.as_view(approve=False),
            name="media_reject",
        ),
    ]


class AiMediaMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return user_has_any_page_permission(request.user)


@hooks.register("register_admin_menu_item")
def register_ai_media_menu_item():
    return AiMediaMenuItem(
        "AI media",
        reverse_lazy("generation:media"),
        name="ai-media",
        icon_name="media",
        order=165,
    )


class MediaMenuItem(ActionMenuItem):
    """An action of a published article's edit view: ask for AI media of it."""

    kind: str
    icon_name = "media"

    def is_shown(self, context) -> bool:
        if context["view"] != "edit" or context.get("locked_for_user"):
            return False
        page = context["page"]
        if page.specific_class.__name__ != "ArticlePage" or not page.live:
            return False
        return self.get_user_page_permissions_tester(context).can_edit()

    def get_url(self, parent_context) -> str:
        page = parent_context["page"]
        return reverse("generation:media_request", args=[page.pk, self.kind])


class NarrateMenuItem(MediaMenuItem):
    name = "action-generation-narrate"
    label = "Narrate (AI)"
    kind = MediaItem.Kind.NARRATION


class RenderClipMenuItem(MediaMenuItem):
    name = "action-generation-render-clip"
    label = "Render clip (AI)"
    kind = MediaItem.Kind.CLIP


@hooks.register("register_page_action_menu_item")
def register_narrate_menu_item():
    return NarrateMenuItem(order=46)


@hooks.register("register_page_action_menu_item")
def register_render_clip_menu_item():
    return RenderClipMenuItem(order=47)
