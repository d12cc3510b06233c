"""Save: the checked draft as an unpublished article (or a new revision) in review.

Everything the save writes, the cover image, the page, its revision, the
workflow state and the job's link to them, happens in one transaction. If any of
it fails, nothing is left: the rows roll back and the image file is deleted.
Inside the transaction the job row is locked and its claim re-checked, so a
worker that lost the job (timed out, or the job was cancelled) saves nothing.
"""

import io
import logging
import uuid
from collections.abc import Callable

from django.core.files.images import ImageFile
from django.db import transaction
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.models import Revision
from wagtail.rich_text import RichText

from cms.models import ArticlePage, Topic
from cms.services import article_create
from generation.models import GenerationJob
from generation.pipeline.checks import CheckedDraft, DraftRejected
from generation.pipeline.sections import body_sections
from generation.providers.base import GeneratedImage
from generation.workflow import draft_review_start

logger = logging.getLogger(__name__)

ATTRIBUTION = "Drafted with AI from our own reporting; reviewed by our editors."


class JobLost(Exception):
    """The job is no longer this worker's to finish (taken over, or cancelled)."""


def _image_store(*, image: GeneratedImage, title: str, created_files: list[str]):
    image_model = get_image_model()
    stored = image_model(title=f"Cover: {title}"[:255], description=image.alt_text)
    stored.file = ImageFile(io.BytesIO(image.data), name=image.filename)
    try:
        stored.save()
    finally:
        # Saving wrote the file under its final name: remember it for clean-up.
        if stored.file.name:
            created_files.append(stored.file.name)
    return stored


def _files_delete(names: list[str]) -> None:
    storage = get_image_model()._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the transaction's error matters more than this one
            logger.exception("Could not delete the orphaned image file %s", name)


def _job_locked(*, job: GenerationJob, claim_token: str) -> GenerationJob:
    locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if (
        locked.status != GenerationJob.Status.RUNNING
        or locked.claim_token != claim_token
    ):
        raise JobLost(f"Job {job.pk} is {locked.status} under another claim.")
    return locked


def _atomic_with_files(write: Callable[[list[str]], object]):
    created_files: list[str] = []
    try:
        with transaction.atomic():
            return write(created_files)
    except BaseException:
        _files_delete(created_files)
        raise


def draft_save(
    *,
    job: GenerationJob,
    claim_token: str,
    checked: CheckedDraft,
    image: GeneratedImage | None,
    topics: list[Topic],
    provenance: dict,
    job_fields: dict,
    user=None,
) -> tuple[ArticlePage, Revision]:
    """A new unpublished article from the draft, in "AI review", linked to the job."""

    def write(created_files: list[str]):
        locked = _job_locked(job=job, claim_token=claim_token)
        if locked.page_id is not None:
            raise JobLost(f"Job {job.pk} already has its page {locked.page_id}.")
        hero = (
            _image_store(image=image, title=checked.title, created_files=created_files)
            if image is not None
            else None
        )
        page = article_create(
            section=job.brief.section,
            title=checked.title,
            standfirst=checked.standfirst,
            body=checked.body,
            topics=topics,
            hero_image=hero,
            published_date=timezone.localdate(),
            attribution=ATTRIBUTION,
            publish=False,
        )
        page.ai_generated = True
        page.ai_provenance = provenance
        page.seo_title = checked.seo_title
        page.search_description = checked.search_description
        page.save(
            update_fields=[
                "ai_generated",
                "ai_provenance",
                "seo_title",
                "search_description",
            ]
        )
        # article_create saved a first revision without provenance: amend it in
        # place rather than leave a provenance-less revision in the history.
        revision = page.save_revision(overwrite_revision=page.latest_revision)
        if user is not None:
            # Wagtail's "Task submitted by" is the revision's user: the editor who
            # asked for the draft, not a blank.
            Revision.objects.filter(pk=revision.pk).update(user=user)
            revision.user = user
        draft_review_start(page=page, user=user)
        GenerationJob.objects.filter(pk=job.pk).update(
            page=page, revision=revision, updated_at=timezone.now(), **job_fields
        )
        return page, revision

    return _atomic_with_files(write)


def draft_revise(
    *,
    job: GenerationJob,
    claim_token: str,
    checked: CheckedDraft,
    image: GeneratedImage | None,
    topics: list[Topic],
    provenance: dict,
    job_fields: dict,
    user=None,
) -> Revision:
    """A new revision of the job's page from the draft, history kept, in review."""

    def write(created_files: list[str]):
        locked = _job_locked(job=job, claim_token=claim_token)
        if locked.revision_id is not None:
            raise JobLost(f"Job {job.pk} already saved revision {locked.revision_id}.")
        page = ArticlePage.objects.get(pk=locked.page_id)
        # Start from the latest revision, so edits an editor made are the base.
        draft = page.get_latest_revision_as_object()
        draft.title = checked.title
        draft.standfirst = checked.standfirst
        draft.seo_title = checked.seo_title
        draft.search_description = checked.search_description
        draft.body = [
            (kind, RichText(value) if kind == "paragraph" else value)
            for kind, value in checked.body
        ]
        draft.topics = topics
        if image is not None:
            draft.hero_image = _image_store(
                image=image, title=checked.title, created_files=created_files
            )
        draft.published_date = draft.published_date or timezone.localdate()
        draft.ai_generated = True
        draft.ai_provenance = provenance
        if not draft.live:
            # A never-published page keeps its draft in the row too, as the
            # Wagtail editor does.
            draft.save()
        revision = draft.save_revision(user=user, log_action=True)
        draft_review_start(page=draft, user=user)
        GenerationJob.objects.filter(pk=job.pk).update(
            revision=revision, updated_at=timezone.now(), **job_fields
        )
        return revision

    return _atomic_with_files(write)


def section_revise(
    *,
    job: GenerationJob,
    claim_token: str,
    paragraphs: list[str],
    provenance: dict,
    job_fields: dict,
    user=None,
) -> Revision:
    """A new revision of the job's page with its section replaced by `paragraphs`.

    Every other block keeps its raw data and id; the section is found again in
    the latest revision (by position and heading) inside the transaction.
    """

    def write(created_files: list[str]):
        locked = _job_locked(job=job, claim_token=claim_token)
        if locked.revision_id is not None:
            raise JobLost(f"Job {job.pk} already saved revision {locked.revision_id}.")
        page = ArticlePage.objects.get(pk=locked.page_id)
        draft = page.get_latest_revision_as_object()
        raw = list(draft.body.raw_data)
        sections = body_sections(raw)
        index = locked.section_index
        if index >= len(sections) or sections[index].heading != locked.section_heading:
            raise DraftRejected(
                f"The section “{locked.section_heading}” was moved or renamed while "
                "it was being rewritten."
            )
        section = sections[index]
        rewritten = [
            {"type": "paragraph", "value": paragraph, "id": str(uuid.uuid4())}
            for paragraph in paragraphs
        ]
        stream_block = ArticlePage._meta.get_field("body").stream_block
        draft.body = stream_block.to_python(
            raw[: section.start + 1] + rewritten + raw[section.end :]
        )
        draft.ai_provenance = {**(draft.ai_provenance or {}), **provenance}
        if not draft.live:
            draft.save()
        revision = draft.save_revision(user=user, log_action=True)
        draft_review_start(page=draft, user=user)
        GenerationJob.objects.filter(pk=job.pk).update(
            revision=revision, updated_at=timezone.now(), **job_fields
        )
        return revision

    return _atomic_with_files(write)
