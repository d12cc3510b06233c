"""Webhooks in the admin: endpoints to register, and a read-only delivery log."""

from django.forms import modelform_factory
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from cms.webhooks.forms import WebhookEndpointForm
from cms.webhooks.models import WebhookDelivery, WebhookEndpoint


class ReadOnlyPermissionPolicy(ModelPermissionPolicy):
    """Deliveries are written by the sender only: people may view them."""

    def user_has_permission(self, user, action) -> bool:
        return action == "view" and super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions) -> bool:
        return "view" in actions and super().user_has_permission(user, "view")


register_permission_policy(WebhookDelivery, ReadOnlyPermissionPolicy(WebhookDelivery))


class WebhookEndpointViewSet(ModelViewSet):
    model = WebhookEndpoint
    list_display = ["__str__", "url", "events_display", "active", "created_by"]
    list_filter = ["active"]
    icon = "link"
    menu_label = "Endpoints"
    copy_view_enabled = False

    def get_form_class(self, for_update: bool = False):
        return WebhookEndpointForm


class WebhookDeliveryViewSet(ModelViewSet):
    model = WebhookDelivery
    list_display = [
        "__str__",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_response_ms",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event"]
    inspect_view_enabled = True
    inspect_view_fields = [
        "delivery_id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_response_ms",
        "last_error",
        "payload",
        "created_at",
        "delivered_at",
    ]
    copy_view_enabled = False
    icon = "list-ul"
    menu_label = "Deliveries"

    def get_form_class(self, for_update: bool = False):
        # Never shown (no one may add or change a delivery); the viewset needs one.
        return modelform_factory(self.model, form=WagtailAdminModelForm, fields=[])


class WebhooksViewSetGroup(ViewSetGroup):
    items = (
        WebhookEndpointViewSet("webhook_endpoints"),
        WebhookDeliveryViewSet("webhook_deliveries"),
    )
    menu_label = "Webhooks"
    menu_icon = "link"
    add_to_settings_menu = True


@hooks.register("register_admin_viewset")
def register_webhooks_viewset_group():
    return WebhooksViewSetGroup()
