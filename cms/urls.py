"""URL map: admin, APIs, health probes, demo page and Wagtail's page serving."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from cms import health
from cms.api import api_router
from cms.apis import ApiKeyCurrentApi, ReaderTokenCreateApi, TopicListApi

api_v1_patterns = [
    path("topics", TopicListApi.as_view(), name="topic-list"),
    path("key", ApiKeyCurrentApi.as_view(), name="api-key-current"),
    path("reader-tokens", ReaderTokenCreateApi.as_view(), name="reader-token-create"),
]

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v2/", api_router.urls),
    path("api/v1/", include((api_v1_patterns, "api-v1"))),
    # Other apps' endpoints, named by string so that cms imports neither app.
    path("api/v1/", include("generation.urls")),
    path("", include("recommend.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(
            url_name="api-schema", template_name="cms/redoc.html"
        ),
        name="api-redoc",
    ),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [
    path("", include(wagtail_urls)),
]
