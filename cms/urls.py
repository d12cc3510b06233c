"""URL map: admin, APIs, health probes, demo page and Wagtail's page serving."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from cms import health
from cms.api import api_router
from cms.apis import ApiKeyCurrentApi, TopicListApi

api_v1_patterns = [
    path("topics", TopicListApi.as_view(), name="topic-list"),
    path("key", ApiKeyCurrentApi.as_view(), name="api-key-current"),
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
    # Before recommend.urls: its readers/<path> would swallow .../digest.
    path("api/v1/", include("recommend.audience_urls")),
    path("api/v1/", include("recommend.urls")),
    path("api/v1/", include("recommend.feed_urls")),
    path("api/v1/", include("generation.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [
    path("demo/", include("recommend.demo_urls")),
    path("", include(wagtail_urls)),
]
