"""Project endpoints of the recommend app, mounted under /api/v1/."""

from django.urls import path

from recommend.apis import EventBatchCreateApi, ReaderEraseApi

urlpatterns = [
    path("events", EventBatchCreateApi.as_view(), name="event-batch-create"),
    # `path`, not `str`: a front-end's reader id may contain a slash.
    path("readers/<path:external_id>", ReaderEraseApi.as_view(), name="reader-erase"),
]
