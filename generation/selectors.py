"""Reads of the generation app: jobs, token use, AI drafts and their provenance."""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, QuerySet, Sum
from django.utils import timezone
from wagtail.models import Page, Revision, WorkflowState

from cms.models import ArticlePage
from generation.models import GenerationJob
from generation.pipeline.sections import BodySection, body_sections


def job_list(*, status: str | None = None, brief_id: int | None = None) -> QuerySet:
    """Jobs, newest first, optionally of one status and/or one brief."""
    jobs = GenerationJob.objects.all()
    if status:
        jobs = jobs.filter(status=status)
    if brief_id is not None:
        jobs = jobs.filter(brief_id=brief_id)
    return jobs.order_by("-created_at", "-pk")


def job_get(*, job_id: int) -> GenerationJob:
    """The job (GenerationJob.DoesNotExist if there is none)."""
    return GenerationJob.objects.select_related("brief", "page").get(pk=job_id)


def tokens_used_today() -> int:
    """Model tokens (in + out) recorded by jobs that ran since midnight UTC."""
    midnight = datetime.datetime.combine(
        timezone.now().astimezone(datetime.UTC).date(),
        datetime.time.min,
        tzinfo=datetime.UTC,
    )
    total = GenerationJob.objects.filter(updated_at__gte=midnight).aggregate(
        total=Sum(F("tokens_in") + F("tokens_out"))
    )["total"]
    return int(total or 0)


def ai_draft_list(*, pending_review: bool = True) -> QuerySet:
    """AI-written articles, latest change first; by default only those in review
    (workflow in progress or sent back for changes)."""
    pages = ArticlePage.objects.filter(ai_generated=True)
    if pending_review:
        in_review = (
            WorkflowState.objects.active()
            .filter(base_content_type=ContentType.objects.get_for_model(Page))
            .values_list("object_id", flat=True)
        )
        pages = pages.filter(pk__in=[int(object_id) for object_id in in_review])
    return pages.order_by("-latest_revision_created_at", "-pk")


def draft_provenance(*, page: ArticlePage) -> dict:
    """Where the page's latest version came from, with the jobs that made it.

    For the admin's provenance panel: the latest revision's provenance (brief,
    sources, prompt version, provider, model) plus every job's tokens and cost.
    """
    latest = page.get_latest_revision_as_object()
    jobs = list(
        GenerationJob.objects.filter(page=page)
        .order_by("created_at", "pk")
        .values(
            "pk",
            "kind",
            "status",
            "provider",
            "model",
            "tokens_in",
            "tokens_out",
            "cost_estimate",
            "feedback",
            "created_at",
            "finished_at",
        )
    )
    return {
        "generated": latest.ai_generated,
        "provenance": latest.ai_provenance or {},
        "jobs": jobs,
        "tokens_in": sum(job["tokens_in"] for job in jobs),
        "tokens_out": sum(job["tokens_out"] for job in jobs),
        "cost_estimate": sum((job["cost_estimate"] for job in jobs), start=0),
    }


def prompt_revision_number(
    *, template_id: int | None, revision_id: int | None
) -> int | None:
    """The revision's place in its prompt template's history: 1, 2, 3...

    Editors count versions of *their* template; revision ids are shared by every
    model with revisions, so "version 118" said nothing about how many edits
    the template had.
    """
    from generation.models import PromptTemplate

    if template_id is None or revision_id is None:
        return None
    return (
        Revision.objects.filter(
            base_content_type=ContentType.objects.get_for_model(PromptTemplate),
            object_id=str(template_id),
            pk__lte=revision_id,
        ).count()
        or None
    )


def brief_audience_name(*, key: str) -> str | None:
    """The name of the audience a brief was written for (None: general readers)."""
    from recommend.audiences.audiences import audience_get

    audience = audience_get(key=key) if key else None
    return audience.name if audience is not None else None


def draft_ai_revision_ids(*, page_id: int) -> list[int]:
    """The revisions the AI wrote for this page (one per succeeded job), oldest
    first; revisions editors saved in between are not among them."""
    return list(
        GenerationJob.objects.filter(
            page_id=page_id,
            status=GenerationJob.Status.SUCCEEDED,
            revision__isnull=False,
        )
        .order_by("finished_at", "pk")
        .values_list("revision_id", flat=True)
    )


def draft_sections(*, page: ArticlePage) -> list[BodySection]:
    """The headed sections of the draft's latest revision, as an editor sees it."""
    latest = page.get_latest_revision_as_object()
    return body_sections(list(latest.body.raw_data))
