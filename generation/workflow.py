"""The "AI review" workflow: drafts wait in it until an Editor approves them."""

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from wagtail.models import (
    GroupApprovalTask,
    TaskState,
    Workflow,
    WorkflowPage,
    WorkflowState,
    WorkflowTask,
)

from cms.models import ArticlePage

AI_REVIEW_WORKFLOW_NAME = "AI review"
AI_REVIEW_TASK_NAME = "Editors approve AI draft"
EDITORS_GROUP_NAME = "Editors"


@transaction.atomic
def ai_review_workflow_ensure() -> Workflow:
    """The workflow the data migration made, rebuilt the same way if it is gone."""
    workflow = Workflow.objects.filter(name=AI_REVIEW_WORKFLOW_NAME).first()
    if workflow is None:
        workflow = Workflow.objects.create(name=AI_REVIEW_WORKFLOW_NAME, active=True)
    if not workflow.active:
        workflow.active = True
        workflow.save(update_fields=["active"])
    if not WorkflowTask.objects.filter(workflow=workflow).exists():
        group, _ = Group.objects.get_or_create(name=EDITORS_GROUP_NAME)
        task = GroupApprovalTask.objects.create(
            name=AI_REVIEW_TASK_NAME,
            content_type=ContentType.objects.get_for_model(GroupApprovalTask),
        )
        task.groups.add(group)
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    return workflow


def draft_review_start(*, page: ArticlePage, user=None) -> WorkflowState:
    """Put the page's latest revision in front of Editors in "AI review".

    The workflow is also assigned to the page itself, so that Wagtail's own
    "Resubmit" and "Restart workflow" buttons keep using "AI review" for it.
    A draft sent back for changes resumes its workflow; one already in review
    stays there (the approval publishes the latest revision).
    """
    workflow = ai_review_workflow_ensure()
    WorkflowPage.objects.update_or_create(page=page, defaults={"workflow": workflow})
    state = page.current_workflow_state
    if state is None:
        return workflow.start(page, user)
    if state.status == WorkflowState.STATUS_NEEDS_CHANGES:
        state.resume(user)
        state.refresh_from_db()
    return state


def draft_last_rejection(*, page: ArticlePage) -> TaskState | None:
    """The latest "request changes" on the page, with the reviewer's comment."""
    return (
        TaskState.objects.for_instance(page)
        .filter(status=TaskState.STATUS_REJECTED)
        .select_related("finished_by")
        .order_by("-finished_at", "-pk")
        .first()
    )


def draft_in_review(*, page) -> TaskState | None:
    """The open "AI review" task of an AI draft, if it is waiting on one."""
    if not getattr(page, "ai_generated", False):
        return None
    state = page.current_workflow_state
    if (
        state is None
        or state.status != WorkflowState.STATUS_IN_PROGRESS
        or state.workflow.name != AI_REVIEW_WORKFLOW_NAME
    ):
        return None
    return page.current_workflow_task_state


def draft_publish_through_review(*, page, user) -> bool:
    """A direct "Publish" of an AI draft in review, made its approval.

    Publishing past the review would cancel it with no record of who checked
    the AI text, and the disclosure would name someone who never approved. A
    user who may approve (an Editor, a superuser) approves instead, which
    publishes the revision just saved; anyone else is refused. Returns whether
    the draft was approved.
    """
    task_state = draft_in_review(page=page)
    if task_state is None:
        return False
    task = task_state.task.specific
    allowed = [name for name, _, _ in task.get_actions(page, user)]
    if "approve" not in allowed:
        return False
    task.on_action(task_state, user, "approve")
    return True
