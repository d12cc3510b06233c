"""The provenance panel on an AI draft's edit view, and when to offer regeneration."""

from django.urls import reverse
from wagtail.admin.panels import Panel
from wagtail.models import TaskState, WorkflowState

from cms.models import ArticlePage
from cms.selectors import article_live_ids
from generation.models import GenerationJob, PromptTemplate
from generation.selectors import (
    draft_ai_revision_ids,
    draft_provenance,
    job_get,
    prompt_revision_number,
)
from generation.workflow import draft_last_rejection


def draft_rejection_open(*, page: ArticlePage) -> TaskState | None:
    """The reviewer's "request changes" the AI draft still waits on, if any.

    Only while the workflow stands at "needs changes": once the draft is back in
    review (resubmitted, or regenerated), the old comment is answered.
    """
    if not getattr(page, "ai_generated", False):
        return None
    state = page.current_workflow_state
    if state is None or state.status != WorkflowState.STATUS_NEEDS_CHANGES:
        return None
    return draft_last_rejection(page=page)


def _prompt_history_url(*, template_id: int | None, user) -> str | None:
    """The prompt template's history, for those who may see snippets of its kind."""
    viewset = PromptTemplate.snippet_viewset
    if template_id is None or not viewset.permission_policy.user_has_any_permission(
        user, {"add", "change", "delete", "view"}
    ):
        return None
    return reverse(viewset.get_url_name("history"), args=[template_id])


def _compare_url(*, page_id: int | None) -> str | None:
    """Wagtail's comparison of the last two AI-written revisions, if there are two."""
    revisions = draft_ai_revision_ids(page_id=page_id) if page_id else []
    if len(revisions) < 2:
        return None
    previous, latest = revisions[-2:]
    return reverse(
        "wagtailadmin_pages:revisions_compare", args=[page_id, previous, latest]
    )


class ProvenancePanel(Panel):
    """Where the draft came from: brief, sources, prompt, model, tokens and cost.

    Shown on AI-written articles only; a human article's edit view is unchanged.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("heading", "AI provenance")
        kwargs.setdefault("icon", "info-circle")
        super().__init__(**kwargs)

    class BoundPanel(Panel.BoundPanel):
        template_name = "generation/admin/provenance_panel.html"

        def is_shown(self) -> bool:
            # The edit view binds the latest revision, whose flag is what counts.
            return bool(getattr(self.instance, "ai_generated", False))

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            page = self.instance
            provenance = draft_provenance(page=page)
            record = provenance["provenance"]
            job = None
            if record.get("job"):
                try:
                    job = job_get(job_id=record["job"])
                except GenerationJob.DoesNotExist:
                    job = None
            live_ids = article_live_ids()
            sources = [
                {
                    **source,
                    "edit_url": reverse("wagtailadmin_pages:edit", args=[source["id"]]),
                    "live": source.get("id") in live_ids,
                }
                for source in record.get("sources", [])
            ]
            running = [
                item
                for item in provenance["jobs"]
                if item["status"]
                in (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)
            ]
            context.update(
                {
                    "provenance": provenance,
                    "record": record,
                    "brief": job.brief if job else None,
                    "job": job,
                    "sources": sources,
                    "prompt_template": job.prompt_template if job else None,
                    "prompt_version_number": prompt_revision_number(
                        template_id=record.get("prompt_template"),
                        revision_id=record.get("prompt_version"),
                    ),
                    "brief_topics": list(job.brief.topics.all()) if job else [],
                    "compare_url": _compare_url(page_id=page.pk),
                    "prompt_history_url": _prompt_history_url(
                        template_id=record.get("prompt_template"),
                        user=self.request.user,
                    ),
                    "jobs": [
                        {
                            **item,
                            "url": reverse("generation:job", args=[item["pk"]]),
                        }
                        for item in provenance["jobs"]
                    ],
                    "running_job": running[-1] if running else None,
                    "rejection": draft_rejection_open(page=page) if page.pk else None,
                    "regenerate_url": reverse("generation:regenerate", args=[page.pk])
                    if page.pk
                    else None,
                    "section_regenerate_url": reverse(
                        "generation:section_regenerate", args=[page.pk]
                    )
                    if page.pk and job is not None
                    else None,
                }
            )
            return context
