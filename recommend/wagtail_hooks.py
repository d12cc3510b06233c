"""The recommend app in the Wagtail admin: audiences and the performance report."""

from django.contrib.auth.models import Permission
from django.urls import path, reverse_lazy
from wagtail import hooks
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.viewsets.base import ViewSet

from recommend.admin import views as admin_views


class RecommendAdminViewSet(ViewSet):
    """The admin URLs under /admin/recommend/ (namespace "recommend_admin")."""

    name = "recommend_admin"
    url_prefix = "recommend"
    icon = "group"

    def get_urlpatterns(self):
        return [
            path(
                "audiences/", admin_views.AudienceIndexView.as_view(), name="audiences"
            ),
            path(
                "audiences/rule/",
                admin_views.AudienceRuleCreateView.as_view(),
                name="audience_rule_add",
            ),
            path(
                "audiences/<int:audience_id>/",
                admin_views.AudienceEditView.as_view(),
                name="audience_edit",
            ),
            path(
                "audiences/gaps/",
                admin_views.ContentGapIndexView.as_view(),
                name="content_gaps",
            ),
            path(
                "performance/",
                admin_views.PerformanceReportView.as_view(),
                name="performance",
            ),
        ]


@hooks.register("register_admin_viewset")
def register_recommend_viewset():
    return RecommendAdminViewSet()


class EditorMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return user_has_any_page_permission(request.user)


@hooks.register("register_admin_menu_item")
def register_audiences_menu_item():
    menu = Menu(
        items=[
            EditorMenuItem(
                "Audiences",
                reverse_lazy("recommend_admin:audiences"),
                name="audiences",
                icon_name="group",
                order=10,
            ),
            EditorMenuItem(
                "Content gaps",
                reverse_lazy("recommend_admin:content_gaps"),
                name="content-gaps",
                icon_name="help",
                order=20,
            ),
        ]
    )
    return SubmenuMenuItem(
        "Audiences", menu, name="audiences-menu", icon_name="group", order=170
    )


@hooks.register("register_reports_menu_item")
def register_performance_menu_item():
    return EditorMenuItem(
        "Content performance",
        reverse_lazy("recommend_admin:performance"),
        name="content-performance",
        icon_name="table",
        order=50,
    )


@hooks.register("register_permissions")
def register_audience_permissions():
    # Groups can then be allowed to rename audiences and define rule audiences.
    return Permission.objects.filter(
        content_type__app_label="recommend",
        codename__in=["add_audience", "change_audience"],
    )
