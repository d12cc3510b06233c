"""The webhooks sweep, a recurring job created idempotently after every migrate."""

from django_q.models import Schedule

from cms.schedules import schedule_ensure

SWEEP_SCHEDULE_NAME = "webhooks-sweep"
SWEEP_TASK = "cms.webhooks.tasks.webhook_deliveries_sweep_task"


def sweep_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "webhooks-sweep" schedule, every minute from now: it sends
    retries once due and any delivery whose task or sender was lost."""
    return schedule_ensure(
        name=SWEEP_SCHEDULE_NAME,
        func=SWEEP_TASK,
        minutes=1,
        using=using,
        delay_first=False,
    )
