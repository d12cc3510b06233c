"""URLs of audiences, article performance and digests, mounted under /api/v1/."""

from django.urls import path

from recommend.audience_apis import (
    AudienceListApi,
    PagePerformanceRetrieveApi,
    ReaderDigestRetrieveApi,
)

urlpatterns = [
    path("audiences", AudienceListApi.as_view(), name="audience-list"),
    path(
        "pages/<int:page_id>/performance",
        PagePerformanceRetrieveApi.as_view(),
        name="page-performance",
    ),
    # `path`, not `str`, as for erasure: a reader id may contain a slash.
    path(
        "readers/<path:external_id>/digest",
        ReaderDigestRetrieveApi.as_view(),
        name="reader-digest",
    ),
]
