"""Writes of the generation app: briefs, job submission and runs, regeneration.

The entry points, for views, the API, the command and the admin:

- `brief_create(...)` then `brief_submit(brief=..., user=...)` -> a queued job,
  run by a worker after commit (or inline: `generation_job_run(job_id=...)`);
- `draft_regenerate(page=..., feedback=..., user=...)` -> a queued job that saves
  a new revision of the same page, with the feedback in the prompt;
- `draft_section_regenerate(page=..., section=..., feedback=..., user=...)` -> a
  queued job that rewrites one section only, the other blocks left as they are;
- `generation_job_cancel(job=...)`; `generation_jobs_resume()` (the sweep).

A job run claims the job with one conditional UPDATE, so a duplicated or retried
task finds it taken (or finished) and does nothing. The claim is a lease that a
live worker renews while it runs; a job whose worker died (SIGKILL, OOM, a lost
machine) is claimable again once its claim is older than
GENERATION_JOB_LEASE_SECONDS, and the sweep (every minute) sends it again.
"""

import html
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from cms.models import ArticlePage, SectionPage, Topic
from cms.timestamps import rfc3339
from cms.webhooks.events import WebhookEvent
from cms.webhooks.services import webhook_event_emit
from generation.feedback import FeedbackActions, feedback_parse
from generation.formats import Format
from generation.models import FEEDBACK_MAX_LENGTH, Brief, GenerationJob, PromptTemplate
from generation.pipeline.checks import (
    SOURCES_HEADING,
    DraftRejected,
    draft_check,
    live_articles_for_hrefs,
    plain_text,
    section_check,
)
from generation.pipeline.media import cover_make
from generation.pipeline.retrieve import source_document, sources_retrieve
from generation.pipeline.save import JobLost, draft_revise, draft_save, section_revise
from generation.pipeline.sections import section_html, section_words
from generation.pipeline.write import (
    draft_write,
    prompt_build,
    prompt_template_ensure,
    sources_for_prompt,
)
from generation.providers.base import (
    ProviderError,
    SectionRequest,
    Usage,
    image_provider_get,
    text_provider_get,
)
from generation.selectors import draft_sections, tokens_used_today
from recommend.audiences.audiences import audience_get

logger = logging.getLogger(__name__)

TASK = "generation.tasks.generation_job_run"
OFFLINE_PROVIDERS = frozenset({"composer", "cover"})
# The composer gives the same draft every time: retrying a rejected one is useless.
DETERMINISTIC_TEXT_PROVIDERS = frozenset({"composer"})
# A queued job untouched this long has probably lost its task (prefetched by a
# worker that died): the sweep sends it again; a duplicate is harmless.
QUEUED_STALL_SECONDS = 120
UNFINISHED = (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)
# "shorter" on a section of 60 words asks for about 40, not the article minimum.
SECTION_MIN_WORDS = 15
_HREF = re.compile(r'<a href="([^"]*)"')


class SectionRegenerateRefused(ValueError):
    """A section regeneration that cannot be asked for; the message says why."""


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
    format: str = "",
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
        format=Format.parse(format).value,
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
    return _regenerate_job_get_or_create(
        original=original, feedback=feedback.strip(), user=user, enqueue=enqueue
    )


def _regenerate_job_get_or_create(
    *, original: GenerationJob, feedback: str, user, enqueue: bool, **section
) -> GenerationJob:
    """The page's unfinished regeneration if there is one (one at a time per
    page), else a new one answering `feedback`, sent to a worker when `enqueue`."""
    running = GenerationJob.objects.filter(
        page=original.page_id, kind=GenerationJob.Kind.REGENERATE, status__in=UNFINISHED
    ).first()
    if running is not None:
        return running
    job = GenerationJob.objects.create(
        brief=original.brief,
        kind=GenerationJob.Kind.REGENERATE,
        page_id=original.page_id,
        feedback=feedback,
        feedback_actions=feedback_parse(feedback).as_json(),
        requested_by=user,
        **section,
    )
    if enqueue:
        _job_enqueue(job)
    return job


@transaction.atomic
def draft_section_regenerate(
    *,
    page: ArticlePage,
    section: int | str,
    feedback: str,
    user=None,
    enqueue: bool = True,
) -> GenerationJob:
    """A job that rewrites one section of an AI draft answering `feedback`.

    `section` is the section's position among the headed sections (from 0) or
    its heading. The new revision keeps every other block as it is and stays in
    "AI review". SectionRegenerateRefused says what is wrong with the request.
    """
    if not page.ai_generated:
        raise SectionRegenerateRefused(
            f"“{page.title}” is not an AI draft: only AI drafts are regenerated."
        )
    original = (
        GenerationJob.objects.filter(page=page, kind=GenerationJob.Kind.DRAFT)
        .select_related("brief")
        .first()
    )
    if original is None:
        raise SectionRegenerateRefused(
            f"“{page.title}” was not drafted by the generation app."
        )
    feedback = (feedback or "").strip()
    if not feedback:
        raise SectionRegenerateRefused(
            "Write a comment for the rewritten section to answer."
        )
    if len(feedback) > FEEDBACK_MAX_LENGTH:
        raise SectionRegenerateRefused(
            f"The comment is longer than {FEEDBACK_MAX_LENGTH} characters."
        )
    sections = draft_sections(page=page)
    chosen = next(
        (
            item
            for item in sections
            if (isinstance(section, int) and item.index == section)
            or (isinstance(section, str) and item.heading == section.strip())
        ),
        None,
    )
    if chosen is None:
        headings = ", ".join(f"“{item.heading}”" for item in sections) or "none"
        raise SectionRegenerateRefused(
            f"The draft has no section {section!r}; its sections are: {headings}."
        )
    return _regenerate_job_get_or_create(
        original=original,
        feedback=feedback,
        user=user,
        enqueue=enqueue,
        section_index=chosen.index,
        section_heading=chosen.heading,
    )


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
    stale_claim = now - timedelta(seconds=settings.GENERATION_JOB_LEASE_SECONDS)
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
    stale_claim = now - timedelta(seconds=settings.GENERATION_JOB_LEASE_SECONDS)
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
            run = _pipeline_run if job.section_index is None else _section_run
            with _claim_renewed(job_id=job.pk, claim_token=token):
                timings = run(job=job, claim_token=token)
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
def _claim_renewed(*, job_id: int, claim_token: str):
    """Renew the job's lease every quarter lease while the block runs.

    A live worker keeps its job however long the model server takes; a dead one
    stops renewing, and its job is claimable again one lease later.
    """
    stop = threading.Event()
    interval = settings.GENERATION_JOB_LEASE_SECONDS / 4

    def renew() -> None:
        try:
            while not stop.wait(interval):
                try:
                    GenerationJob.objects.filter(
                        pk=job_id,
                        claim_token=claim_token,
                        status=GenerationJob.Status.RUNNING,
                    ).update(claimed_at=timezone.now())
                except DatabaseError as exc:  # the next renewal tries again
                    logger.warning("Job %s lease not renewed: %s", job_id, exc)
        finally:
            connection.close()

    thread = threading.Thread(
        target=renew, name=f"generation-job-{job_id}-lease", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _failures_counted(usage: Usage):
    """A provider error, or a failed attempt, as a GenerationFailed carrying the
    tokens spent so far (they count against the budget whatever happened)."""
    try:
        yield
    except ProviderError as error:
        usage.add(tokens_in=error.usage.tokens_in, tokens_out=error.usage.tokens_out)
        raise GenerationFailed(
            str(error), retryable=error.retryable, usage=usage
        ) from error
    except GenerationFailed as failed:
        failed.usage = usage
        raise


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


def _job_actions(job: GenerationJob) -> FeedbackActions:
    """The job's feedback actions (read now for a job queued before they were kept)."""
    if job.feedback_actions or not job.feedback:
        return FeedbackActions.from_json(job.feedback_actions)
    return feedback_parse(job.feedback)


def _current_words(job: GenerationJob) -> int | None:
    """The length of the version the editor saw, sources list left out."""
    page = ArticlePage.objects.filter(pk=job.page_id).first()
    if page is None:
        return None
    page = page.get_latest_revision_as_object()
    words = len(page.standfirst.split())
    for block in page.body:
        if block.block_type == "heading" and str(block.value) == SOURCES_HEADING:
            break
        if block.block_type == "paragraph":
            words += len(plain_text(block.value.source).split())
        elif block.block_type == "heading":
            words += len(str(block.value).split())
    return words or None


def _pipeline_run(*, job: GenerationJob, claim_token: str) -> dict[str, float]:
    """retrieve -> write -> media -> check -> save; the timings of each step."""
    brief = job.brief
    timings: dict[str, float] = {}
    usage = Usage()
    if brief.section_id is None:
        raise GenerationFailed(
            "The brief's target section no longer exists.", retryable=False
        )
    with _failures_counted(usage):
        text_provider = text_provider_get()
        image_provider = image_provider_get()
        metered = bool(
            {text_provider.name, getattr(image_provider, "name", "cover")}
            - OFFLINE_PROVIDERS
        )
        _budget_check(metered=metered)
        regenerating = job.kind == GenerationJob.Kind.REGENERATE
        actions = _job_actions(job)
        with _timed(timings, "retrieve"):
            retrieval = sources_retrieve(brief=brief, actions=actions)
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
                actions=actions,
                current_words=_current_words(job) if regenerating else None,
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
            # Every generated image has alt text: the provider's, or the title's.
            image.alt_text = (
                plain_text(image.alt_text)
                or f"Illustration for the article “{plain_text(draft.title)}”."
            )[:255]
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
    documents = {document.page_id: document for document in retrieval.candidates}
    flags = media_flags + checked.flags
    provenance = {
        "job": job.pk,
        "brief_id": brief.pk,
        "brief_summary": brief.summary,
        # The key alone, as recommend.serving.routing reads it; the name for people.
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
        "feedback_actions": actions.as_json() if job.feedback else {},
        "flags": flags,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "cost_estimate": str(_cost(usage)),
        "generated_at": rfc3339(timezone.now()),
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


def _section_run(*, job: GenerationJob, claim_token: str) -> dict[str, float]:
    """write -> check -> save for one section of the job's page."""
    timings: dict[str, float] = {}
    usage = Usage()
    page = ArticlePage.objects.filter(pk=job.page_id).first()
    if page is None:
        raise GenerationFailed("The draft no longer exists.", retryable=False)
    latest = page.get_latest_revision_as_object()
    raw = list(latest.body.raw_data)
    sections = draft_sections(page=page)
    index = job.section_index
    if index >= len(sections) or sections[index].heading != job.section_heading:
        raise GenerationFailed(
            f"The section “{job.section_heading}” is no longer in the draft.",
            retryable=False,
        )
    section = sections[index]
    current_html = section_html(raw, section)
    brief = job.brief
    with _failures_counted(usage):
        provider = text_provider_get()
        _budget_check(metered=provider.name not in OFFLINE_PROVIDERS)
        actions = _job_actions(job)
        current = section_words(raw, section)
        target = (
            actions.target_words(current=current, minimum=SECTION_MIN_WORDS)
            if actions.length
            else current
        )
        hrefs = {html.unescape(href) for href in _HREF.findall(current_html)}
        linked = live_articles_for_hrefs(hrefs)
        sources = [
            source_document(article)
            for article in {article.pk: article for article in linked.values()}.values()
        ]
        tone = actions.tone_for(brief.tone)
        template = prompt_template_ensure(kind=PromptTemplate.Kind.SECTION)
        prompt = prompt_build(
            template=template,
            values={
                "title": latest.title,
                "topic": brief.topic,
                "tone": tone,
                "target_words": target,
                "heading": section.heading,
                "section": current_html,
                "feedback": job.feedback,
                "sources": sources_for_prompt(sources) or "none",
            },
        )
        request = SectionRequest(
            heading=section.heading,
            html=current_html,
            prompt=prompt,
            feedback=job.feedback,
            target_words=target,
            tone=tone,
            sources=tuple(sources),
            exclude_terms=actions.exclude,
            focus_terms=actions.focus,
        )
        with _timed(timings, "write"):
            rewritten, spent = provider.rewrite_section(request)
        usage.add(tokens_in=spent.tokens_in, tokens_out=spent.tokens_out)
        with _timed(timings, "check"):
            try:
                paragraphs, flags = section_check(html_text=rewritten.html)
            except DraftRejected as rejected:
                raise GenerationFailed(
                    str(rejected),
                    retryable=provider.name not in DETERMINISTIC_TEXT_PROVIDERS,
                ) from rejected
    provenance = {
        "job": job.pk,
        "provider": provider.name,
        "model": provider.model,
        "prompt_template": prompt.template_id,
        "prompt_version": prompt.revision_id,
        "feedback": job.feedback,
        "feedback_actions": actions.as_json(),
        "section": {"index": section.index, "heading": section.heading},
        "flags": list((latest.ai_provenance or {}).get("flags", [])) + flags,
        "generated_at": timezone.now().isoformat(),
    }
    job_fields = {
        "provider": provider.name,
        "model": provider.model,
        "prompt_template_id": prompt.template_id,
        "prompt_revision_id": prompt.revision_id,
        "prompt_text": prompt.user,
        "tokens_in": F("tokens_in") + usage.tokens_in,
        "tokens_out": F("tokens_out") + usage.tokens_out,
        "cost_estimate": F("cost_estimate") + _cost(usage),
        "sources": [source.page_id for source in sources],
        "flags": flags,
        "timings": timings,
    }
    with _timed(timings, "save"):
        try:
            section_revise(
                job=job,
                claim_token=claim_token,
                paragraphs=paragraphs,
                provenance=provenance,
                job_fields=job_fields,
                user=job.requested_by,
            )
        except DraftRejected as moved:
            raise GenerationFailed(str(moved), retryable=False) from moved
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
    with transaction.atomic():
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
        # Committed with the job's success, or not at all.
        webhook_event_emit(
            event=WebhookEvent.DRAFT_READY_FOR_REVIEW,
            data=_draft_ready_data(job=current),
        )


def _draft_ready_data(*, job: GenerationJob) -> dict:
    page = ArticlePage.objects.filter(pk=job.page_id).only("title").first()
    return {
        "job": job.pk,
        "kind": job.kind,
        "brief": job.brief_id,
        "page": job.page_id,
        "title": page.title if page else "",
        "review_url": (
            f"{settings.WAGTAILADMIN_BASE_URL}/admin/pages/{job.page_id}/edit/"
            if job.page_id
            else None
        ),
    }


def attempt_outcome(*, attempts: int, retryable: bool, reason: str) -> tuple[bool, str]:
    """Whether a failed attempt is final (not retryable, or the last allowed by
    GENERATION_MAX_ATTEMPTS) and the reason as the job or media item shows it."""
    limit = settings.GENERATION_MAX_ATTEMPTS
    final = not retryable or attempts >= limit
    if final and retryable:
        return final, f"Gave up after {attempts} attempts. Last error: {reason}"
    if not final:
        return final, f"Attempt {attempts} of {limit} failed: {reason}"
    return final, reason


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
        final, reason = attempt_outcome(
            attempts=locked.attempts, retryable=retryable, reason=reason
        )
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
