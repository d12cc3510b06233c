"""What finishing a workflow does: publish, trusting the AI review's approvers.

Wagtail calls the function named by WAGTAIL_FINISH_WORKFLOW_ACTION when a
workflow's last task is approved. Stock Wagtail then publishes only if the
approving user also holds the publish permission; for "AI review" the approval
task's group (Editors) is the authority, so Editors approve AI drafts without a
site-wide right to publish anything directly. Other workflows keep Wagtail's
behaviour. Imports are deferred: Wagtail reads the setting while loading its models.
"""


def workflow_state_publish(workflow_state, user=None) -> None:
    from wagtail.workflows import publish_workflow_state

    from generation.workflow import AI_REVIEW_WORKFLOW_NAME

    if workflow_state.workflow.name != AI_REVIEW_WORKFLOW_NAME:
        publish_workflow_state(workflow_state, user=user)
        return
    revision = workflow_state.content_object.get_latest_revision()
    revision.publish(user=user, skip_permission_checks=True)
