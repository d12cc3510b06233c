"""URLs of the recommendation endpoints, mounted under /api/v1/."""

from django.urls import path

from recommend.feed_apis import FeedRetrieveApi, PageSimilarListApi

urlpatterns = [
    path("feed", FeedRetrieveApi.as_view(), name="feed"),
    path(
        "pages/<int:page_id>/similar",
        PageSimilarListApi.as_view(),
        name="page-similar",
    ),
]
