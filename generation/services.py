"""Writes of the generation app: briefs, job submission and runs, regeneration.

The entry points, for views, the API, the command and the admin:

- `brief_create(...)` then `brief_submit(brief=..., user=...)` -> a queued job,
  run by a worker after commit (or inline: `generation_job_run(job_id=...)`);
- `draft_regenerate(page=..., feedback=..., user=...)` -> a queued job that saves
  a new revision of the same page, with the feedback in the prompt;
- `generation_job_cancel(job=...)`; `generation_jobs_resume()` (the sweep).

A job run claims the job with one conditional UPDATE, so a duplicated or retried
task finds it taken (or finished) and does nothing. A job whose worker died is
claimable again once its claim is older than the django-q2 timeout.
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from cms.models import ArticlePage, SectionPage, Topic
from generation.models import Brief, GenerationJob
from generation.pipeline.checks import DraftRejected, draft_check, plain_text
from generation.pipeline.media import cover_make
from generation.pipeline.retrieve import sources_retrieve
from generation.pipeline.save import JobLost, draft_revise, draft_save
from generation.pipeline.write import draft_write
from generation.providers.base import (
    ProviderError,
    Usage,
    image_provider_get,
    text_provider_get,
)
from generation.selectors import tokens_used_today
from recommend.audiences import audience_get

logger = logging.getLogger(__name__)

TASK = "generation.tasks.generation_job_run"
OFFLINE_PROVIDERS = frozenset({"composer", "cover"})
# The composer gives the same draft every time: retrying a rejected one is useless.
DETERMINISTIC_TEXT_PROVIDERS = frozenset({"composer"})
QUEUED_STALL_SECONDS = 600
UNFINISHED = (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)


class GenerationFailed(Exception):
    """An attempt failed for a reason an editor can read."""

    def __init__(self, message: str, *, retryable: bool, usage: Usage | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.usage = usage or Usage()


# submitting


@transaction.atomic
def brief_create(
    *,
    topic: str,
    section: SectionPage,
    angle: str = "",
    keywords: Iterable[str] = (),
    tone: str = "",
    target_words: int = 600,
    topics: Iterable[Topic] = (),
    source_pages: Iterable[ArticlePage] = (),
    audience_key: str = "",
    requested_by=None,
    origin: str = "",
) -> Brief:
    brief = Brief.objects.create(
        topic=topic.strip(),
        section=section,
        angle=angle.strip(),
        keywords=[keyword.strip() for keyword in keywords if keyword.strip()],
        tone=tone.strip() or Brief._meta.get_field("tone").default,
        target_words=target_words,
        audience_key=audience_key,
        requested_by=requested_by,
        origin=origin,
    )
    brief.topics.set(list(topics))
    brief.source_pages.set(list(source_pages))
    return brief


def _job_enqueue(job: GenerationJob) -> None:
    job_id = job.pk
    # robust: if the broker is down the job stays queued and the sweep sends it.
    transaction.on_commit(
        lambda: async_task(TASK, job_id, task_name=f"generation-job-{job_id}"),
        robust=True,
    )


@transaction.atomic
def brief_submit(*, brief: Brief, user=None, enqueue: bool = True) -> GenerationJob:
    """The brief's draft job, queued after commit; submitting twice gives one job.

    A brief whose earlier job failed or was cancelled gets a fresh job.
    `enqueue=False` leaves the job for the caller to run inline.
    """
    Brief.objects.select_for_update().filter(pk=brief.pk).first()
    existing = (
        brief.jobs.filter(kind=GenerationJob.Kind.DRAFT)
        .exclude(
            status__in=[GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED]
        )
        .first()
    )
    if existing is not None:
        return existing
    job = GenerationJob.objects.create(
        brief=brief,
        kind=GenerationJob.Kind.DRAFT,
        requested_by=user or brief.requested_by,
    )
    if enqueue:
        _job_enqueue(job)
    return job


@transaction.atomic
def draft_regenerate(
    *, page: ArticlePage, feedback: str, user=None, enqueue: bool = True
) -> GenerationJob:
    """A job that rewrites an AI draft answering `feedback`, as a new revision.

    The same page keeps its history and stays in "AI review". One regeneration
    runs at a time per page: asking again while one is unfinished returns it.
    """
    original = (
        GenerationJob.objects.filter(page=page, kind=GenerationJob.Kind.DRAFT)
        .select_related("brief")
        .first()
    )
    if original is None:
        raise ValueError(f"Page {page.pk} was not drafted by the generation app.")
    running = GenerationJob.objects.filter(
        page=page, kind=GenerationJob.Kind.REGENERATE, status__in=UNFINISHED
    ).first()
    if running is not None:
        return running
    job = GenerationJob.objects.create(
        brief=original.brief,
        kind=GenerationJob.Kind.REGENERATE,
        page=page,
        feedback=feedback.strip(),
        requested_by=user,
    )
    if enqueue:
        _job_enqueue(job)
    return job


def generation_job_cancel(*, job: GenerationJob, user=None) -> GenerationJob:
    """Stop a queued or running job; a running one saves nothing when it ends."""
    who = f" by {user.get_username()}" if user is not None else ""
    GenerationJob.objects.filter(pk=job.pk, status__in=UNFINISHED).update(
        status=GenerationJob.Status.CANCELLED,
        error=f"Cancelled{who}.",
        claim_token="",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def generation_jobs_resume() -> int:
    """Send again the jobs whose task was lost: long queued, or claimed by a dead
    worker. Duplicates are harmless (the claim lets one run), so this can be
    scheduled freely."""
    now = timezone.now()
    stale_claim = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    job_ids = list(
        GenerationJob.objects.filter(
            Q(
                status=GenerationJob.Status.QUEUED,
                updated_at__lt=now - timedelta(seconds=QUEUED_STALL_SECONDS),
            )
            | Q(status=GenerationJob.Status.RUNNING, claimed_at__lt=stale_claim)
        ).values_list("pk", flat=True)
    )
    for job_id in job_ids:
        async_task(TASK, job_id, task_name=f"generation-job-{job_id}")
    return len(job_ids)


# running


def _job_claim(*, job_id: int) -> tuple[GenerationJob, str] | None:
    """Take the job for this worker, or None if it is taken, finished or gone."""
    now = timezone.now()
    stale_claim = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    token = uuid.uuid4().hex
    claimed = (
        GenerationJob.objects.filter(pk=job_id)
        .filter(
            Q(status=GenerationJob.Status.QUEUED)
            | Q(status=GenerationJob.Status.RUNNING, claimed_at__lt=stale_claim)
        )
        .update(
            status=GenerationJob.Status.RUNNING,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    job = GenerationJob.objects.select_related("brief", "brief__section").get(pk=job_id)
    return job, token


def generation_job_run(*, job_id: int, retry_inline: bool = False) -> str:
    """Run one attempt of the job; the job's status afterwards.

    Safe to call any number of times, from any number of workers: a job that
    is finished, or running under a live claim, is left alone. A job that already
    saved its page (the worker stopped just after) is finished without a rerun.
    A failed attempt queues the job again for a worker, or, with `retry_inline`,
    is retried here until the job succeeds or runs out of attempts.
    """
    while True:
        status = _job_attempt(job_id=job_id, requeue=not retry_inline)
        if not retry_inline or status != GenerationJob.Status.QUEUED:
            return status


def _job_attempt(*, job_id: int, requeue: bool) -> str:
    claim = _job_claim(job_id=job_id)
    if claim is None:
        status = (
            GenerationJob.objects.filter(pk=job_id)
            .values_list("status", flat=True)
            .first()
        )
        logger.info("Generation job %s not claimed (status %s)", job_id, status)
        return status or "missing"
    job, token = claim
    timings: dict[str, float] = {}
    try:
        if job.attempts > settings.GENERATION_MAX_ATTEMPTS:
            raise GenerationFailed(
                "Its worker stopped before finishing too many times.",
                retryable=False,
            )
        saved = job.page_id if job.kind == GenerationJob.Kind.DRAFT else job.revision_id
        if saved is None:
            timings = _pipeline_run(job=job, claim_token=token)
        _job_finish(job=job, claim_token=token, timings=timings)
        return GenerationJob.Status.SUCCEEDED
    except JobLost as lost:
        logger.warning("Generation job %s lost its claim: %s", job_id, lost)
        return GenerationJob.objects.get(pk=job_id).status
    except Exception as error:
        return _job_attempt_failed(
            job=job, claim_token=token, error=error, requeue=requeue
        )


@contextmanager
def _timed(timings: dict[str, float], step: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = round(time.perf_counter() - started, 4)


def _budget_check(*, metered: bool) -> None:
    budget = settings.GENERATION_DAILY_TOKEN_BUDGET
    if not metered or budget <= 0:
        return
    used = tokens_used_today()
    if used >= budget:
        raise GenerationFailed(
            f"The daily token budget ({budget:,} tokens) is used up: {used:,} "
            "tokens were spent today. The job was not run; submit it again "
            "tomorrow or raise GENERATION_DAILY_TOKEN_BUDGET.",
            retryable=False,
        )


def _cost(usage: Usage) -> Decimal:
    cost = (
        Decimal(str(settings.GENERATION_COST_PER_1K_INPUT_TOKENS))
        * usage.tokens_in
        / 1000
        + Decimal(str(settings.GENERATION_COST_PER_1K_OUTPUT_TOKENS))
        * usage.tokens_out
        / 1000
        + Decimal(str(settings.GENERATION_COST_PER_IMAGE)) * usage.images
    )
    return cost.quantize(Decimal("0.000001"))


def _draft_topics(*, brief: Brief, source_topics: list[tuple[str, ...]]) -> list:
    topics = list(brief.topics.all())
    if topics:
        return topics
    # Otherwise the two topics most of the sources share, for feeds and search.
    counts = Counter(name for names in source_topics for name in names)
    names = [name for name, _ in counts.most_common(2)]
    return list(Topic.objects.filter(name__in=names))


def _audience_name(key: str) -> str | None:
    audience = audience_get(key=key) if key else None
    return audience.name if audience is not None else None


def _pipeline_run(*, job: GenerationJob, claim_token: str) -> dict[str, float]:
    """retrieve -> write -> media -> check -> save; the timings of each step."""
    brief = job.brief
    timings: dict[str, float] = {}
    usage = Usage()
    if brief.section_id is None:
        raise GenerationFailed(
            "The brief's target section no longer exists.", retryable=False
        )
    try:
        text_provider = text_provider_get()
        image_provider = image_provider_get()
        metered = bool(
            {text_provider.name, getattr(image_provider, "name", "cover")}
            - OFFLINE_PROVIDERS
        )
        _budget_check(metered=metered)
        regenerating = job.kind == GenerationJob.Kind.REGENERATE
        with _timed(timings, "retrieve"):
            retrieval = sources_retrieve(brief=brief, feedback=job.feedback)
        if not retrieval.sources:
            raise GenerationFailed(
                "No live article matches this brief, so there is nothing to ground "
                "a draft in. Choose source pages or broaden the topic.",
                retryable=False,
            )
        with _timed(timings, "write"):
            draft, prompt = draft_write(
                provider=text_provider,
                brief=brief,
                sources=retrieval.sources,
                feedback=job.feedback,
            )
        usage.add(tokens_in=draft.usage.tokens_in, tokens_out=draft.usage.tokens_out)
        with _timed(timings, "media"):
            image, media_flags = cover_make(
                provider=image_provider, brief=brief, title=plain_text(draft.title)
            )
        if image is not None:
            usage.add(
                tokens_in=image.usage.tokens_in,
                tokens_out=image.usage.tokens_out,
                images=image.usage.images,
            )
            image.alt_text = plain_text(image.alt_text)[:255]
        with _timed(timings, "check"):
            try:
                checked = draft_check(
                    draft=draft,
                    retrieval=retrieval,
                    page_id=job.page_id if regenerating else None,
                )
            except DraftRejected as rejected:
                raise GenerationFailed(
                    str(rejected),
                    retryable=text_provider.name not in DETERMINISTIC_TEXT_PROVIDERS,
                ) from rejected
    except ProviderError as error:
        usage.add(tokens_in=error.usage.tokens_in, tokens_out=error.usage.tokens_out)
        raise GenerationFailed(
            str(error), retryable=error.retryable, usage=usage
        ) from error
    except GenerationFailed as failed:
        failed.usage = usage
        raise
    documents = {document.page_id: document for document in retrieval.candidates}
    flags = media_flags + checked.flags
    provenance = {
        "job": job.pk,
        "brief_id": brief.pk,
        "brief_summary": brief.summary,
        # The key alone, as recommend.routing reads it; the name for people.
        "audience": brief.audience_key or None,
        "audience_name": _audience_name(brief.audience_key),
        "provider": draft.provider,
        "model": draft.model,
        "image_provider": image.provider if image else None,
        "image_model": image.model if image else None,
        "prompt_template": prompt.template_id,
        "prompt_version": prompt.revision_id,
        "sources": [
            {
                "id": page_id,
                "title": documents[page_id].title if page_id in documents else "",
                "url": documents[page_id].url if page_id in documents else "",
            }
            for page_id in checked.cited_ids
        ],
        "feedback": job.feedback,
        "flags": flags,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "cost_estimate": str(_cost(usage)),
        "generated_at": timezone.now().isoformat(),
    }
    job_fields = {
        "provider": draft.provider,
        "model": draft.model,
        "image_provider": image.provider if image else "",
        "image_model": image.model if image else "",
        "prompt_template_id": prompt.template_id,
        "prompt_revision_id": prompt.revision_id,
        "prompt_text": prompt.user,
        "tokens_in": F("tokens_in") + usage.tokens_in,
        "tokens_out": F("tokens_out") + usage.tokens_out,
        "cost_estimate": F("cost_estimate") + _cost(usage),
        "sources": checked.cited_ids,
        "flags": flags,
        "timings": timings,
    }
    topics = _draft_topics(
        brief=brief,
        source_topics=[document.topics for document in retrieval.sources],
    )
    save = draft_revise if regenerating else draft_save
    with _timed(timings, "save"):
        save(
            job=job,
            claim_token=claim_token,
            checked=checked,
            image=image,
            topics=topics,
            provenance=provenance,
            job_fields=job_fields,
            user=job.requested_by,
        )
    return timings


def _job_finish(
    *, job: GenerationJob, claim_token: str, timings: dict[str, float]
) -> None:
    now = timezone.now()
    current = GenerationJob.objects.get(pk=job.pk)
    merged = {**current.timings, **timings}
    if timings:
        merged["pipeline"] = round(sum(timings.values()), 4)
        merged["queued"] = round((job.claimed_at - job.created_at).total_seconds(), 4)
    finished = GenerationJob.objects.filter(
        pk=job.pk, claim_token=claim_token, status=GenerationJob.Status.RUNNING
    ).update(
        status=GenerationJob.Status.SUCCEEDED,
        error="",
        claim_token="",
        finished_at=now,
        updated_at=now,
        timings=merged,
    )
    if not finished:
        raise JobLost(f"Job {job.pk} changed hands before it could be finished.")


def _job_attempt_failed(
    *, job: GenerationJob, claim_token: str, error: Exception, requeue: bool
) -> str:
    if isinstance(error, GenerationFailed):
        reason, retryable, usage = str(error), error.retryable, error.usage
    else:
        logger.exception("Generation job %s: unexpected error", job.pk)
        reason = f"Unexpected error: {error.__class__.__name__}: {error}"
        retryable, usage = True, Usage()
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if (
            locked.claim_token != claim_token
            or locked.status != GenerationJob.Status.RUNNING
        ):
            return locked.status
        limit = settings.GENERATION_MAX_ATTEMPTS
        final = not retryable or locked.attempts >= limit
        if final and retryable:
            reason = f"Gave up after {locked.attempts} attempts. Last error: {reason}"
        elif not final:
            reason = f"Attempt {locked.attempts} of {limit} failed: {reason}"
        now = timezone.now()
        GenerationJob.objects.filter(pk=job.pk).update(
            status=(
                GenerationJob.Status.FAILED if final else GenerationJob.Status.QUEUED
            ),
            error=reason,
            claim_token="",
            finished_at=now if final else None,
            updated_at=now,
            tokens_in=F("tokens_in") + usage.tokens_in,
            tokens_out=F("tokens_out") + usage.tokens_out,
            cost_estimate=F("cost_estimate") + _cost(usage),
        )
        if not final and requeue:
            _job_enqueue(locked)
    logger.warning("Generation job %s: %s", job.pk, reason)
    return GenerationJob.Status.FAILED if final else GenerationJob.Status.QUEUED
