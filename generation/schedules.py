"""The generation app's sweeps, created idempotently after every migrate.

They send again the jobs whose task was lost (a worker SIGKILLed mid-job, a
Redis broker that forgets a dead cluster's tasks): without the row, a lost job
would wait forever, so it is ensured after every migrate and flush rather than
by a migration alone.
"""

from django_q.models import Schedule

from cms.schedules import schedule_ensure

JOBS_RESUME_SCHEDULE_NAME = "generation: resume stalled jobs"
JOBS_RESUME_TASK = "generation.tasks.generation_jobs_resume"
MEDIA_RESUME_SCHEDULE_NAME = "AI media: resume lost jobs"
MEDIA_RESUME_TASK = "generation.media.tasks.media_items_resume"


def resume_schedules_ensure(*, using: str = "default") -> list[Schedule]:
    """The job sweep every minute, the media sweep every ten minutes."""
    return [
        schedule_ensure(
            name=JOBS_RESUME_SCHEDULE_NAME,
            func=JOBS_RESUME_TASK,
            minutes=1,
            using=using,
            delay_first=False,
        ),
        schedule_ensure(
            name=MEDIA_RESUME_SCHEDULE_NAME,
            func=MEDIA_RESUME_TASK,
            minutes=10,
            using=using,
            delay_first=False,
        ),
    ]
