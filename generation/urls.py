"""Project endpoints of the generation app, mounted under /api/v1/."""

from django.urls import path

from generation.apis import BriefCreateApi, JobDetailApi, JobListApi

urlpatterns = [
    path("briefs", BriefCreateApi.as_view(), name="brief-create"),
    path("jobs", JobListApi.as_view(), name="generation-job-list"),
    path("jobs/<int:job_id>", JobDetailApi.as_view(), name="generation-job-detail"),
]
