"""Every URL of the recommend app: the /api/v1/ endpoints and the reader demo page.

Mounted at the site root by cms/urls.py. Reader paths take `path:` converters
(a front-end's reader id may contain a slash), so the more specific
`readers/<id>/digest` is matched by its suffix, whatever the order.
"""

from django.urls import path, re_path

from recommend.api.audiences import (
    AudienceListApi,
    PagePerformanceRetrieveApi,
    ReaderDigestHtmlRetrieveApi,
    ReaderDigestRetrieveApi,
)
from recommend.api.events import EventBatchCreateApi, ReaderEraseApi
from recommend.api.feeds import FeedRetrieveApi, PageSimilarListApi
from recommend.demo import reader_demo, reader_demo_token

urlpatterns = [
    path("api/v1/events", EventBatchCreateApi.as_view(), name="event-batch-create"),
    path("api/v1/feed", FeedRetrieveApi.as_view(), name="feed"),
    path(
        "api/v1/pages/<id:page_id>/similar",
        PageSimilarListApi.as_view(),
        name="page-similar",
    ),
    path("api/v1/audiences", AudienceListApi.as_view(), name="audience-list"),
    path(
        "api/v1/pages/<id:page_id>/performance",
        PagePerformanceRetrieveApi.as_view(),
        name="page-performance",
    ),
    re_path(
        r"^api/v1/readers/(?P<external_id>.+)/digest\.html$",
        ReaderDigestHtmlRetrieveApi.as_view(),
        name="reader-digest-html",
    ),
    re_path(
        r"^api/v1/readers/(?P<external_id>.+)/digest$",
        ReaderDigestRetrieveApi.as_view(),
        name="reader-digest",
    ),
    # Any id not ending in /digest(.html); an id that itself ends so can only
    # be erased through the digest-free form, which no front-end id needs.
    re_path(
        r"^api/v1/readers/(?P<external_id>(?!.*/digest(\.html)?$).+)$",
        ReaderEraseApi.as_view(),
        name="reader-erase",
    ),
    path("demo/", reader_demo, name="reader-demo"),
    path("demo/reader-token", reader_demo_token, name="reader-demo-token"),
]
