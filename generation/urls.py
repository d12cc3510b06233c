"""Project endpoints of the generation app, mounted under /api/v1/."""

from django.urls import path, re_path

from generation.apis import BriefCreateApi, JobDetailApi, JobListApi
from generation.media.apis import (
    AudiencePodcastApi,
    ReaderBriefingRetrieveApi,
    SectionPodcastApi,
)

urlpatterns = [
    path("briefs", BriefCreateApi.as_view(), name="brief-create"),
    path("jobs", JobListApi.as_view(), name="generation-job-list"),
    path("jobs/<id:job_id>", JobDetailApi.as_view(), name="generation-job-detail"),
    path(
        "podcasts/sections/<slug:slug>",
        SectionPodcastApi.as_view(),
        name="podcast-section",
    ),
    path(
        "podcasts/audiences/<slug:key>",
        AudiencePodcastApi.as_view(),
        name="podcast-audience",
    ),
    # Before recommend's reader routes (cms.urls includes this module first).
    re_path(
        r"^readers/(?P<external_id>.+)/briefing$",
        ReaderBriefingRetrieveApi.as_view(),
        name="reader-briefing",
    ),
]
