"""Recurring jobs, created idempotently after every migrate (and every flush).

Every app's schedules go through `schedule_ensure`: found by name and updated in
place, so that every migrate (on any machine, for any number of clusters) leaves
exactly one. A migration alone is not enough: a test flush or a restored
database would lose the row, and nothing would run the job again.
"""

import datetime

from django.db import connections, transaction
from django.utils import timezone
from django_q.models import Schedule

PUBLISH_SCHEDULE_NAME = "cms-publish-scheduled"
PUBLISH_TASK = "cms.tasks.pages_publish_scheduled_task"


def schedules_table_exists(using: str = "default") -> bool:
    """`migrate some_app` can run before django_q's own tables exist."""
    return Schedule._meta.db_table in connections[using].introspection.table_names()


def schedule_ensure(
    *, name: str, func: str, minutes: int, using: str = "default", delay_first=True
) -> Schedule:
    """The one schedule called ``name``, running ``func`` every ``minutes``.

    django-q2 does not make schedule names unique, so duplicates left by a past
    race are removed here. With ``delay_first`` a new schedule first runs one
    interval on: a fresh install runs its first jobs explicitly (`make run`), and
    a worker started by the tests must not pick them up.
    """
    schedules = Schedule.objects.using(using)
    defaults = {
        "func": func,
        "schedule_type": Schedule.MINUTES,
        "minutes": minutes,
        "repeats": -1,
    }
    create_defaults = dict(defaults)
    if delay_first:
        create_defaults["next_run"] = timezone.now() + datetime.timedelta(
            minutes=minutes
        )
    with transaction.atomic(using=using):
        named = schedules.filter(name=name).order_by("pk")
        first = named.first()
        if first is not None:
            named.exclude(pk=first.pk).delete()
        schedule, _ = schedules.update_or_create(
            name=name, defaults=defaults, create_defaults=create_defaults
        )
    return schedule


def publish_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "cms-publish-scheduled" schedule, every minute, from now.

    Expiry and go-live must reach every surface within about a minute (the
    live-content stamp already honours expiry at once; this unpublishes and
    publishes the rows).
    """
    return schedule_ensure(
        name=PUBLISH_SCHEDULE_NAME,
        func=PUBLISH_TASK,
        minutes=1,
        using=using,
        delay_first=False,
    )
