"""The recommend app's recurring jobs, created idempotently after every migrate."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

TRAINING_SCHEDULE_NAME = "recommend-train"
TRAINING_TASK = "recommend.tasks.train_model_task"


def training_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "recommend-train" schedule, every RECOMMEND_TRAIN_INTERVAL_MINUTES.

    Found by name and updated in place, so that every migrate (on any machine,
    for any number of clusters) leaves exactly one. django-q2 does not make
    schedule names unique, so duplicates left by a past race are removed here.
    """
    schedules = Schedule.objects.using(using)
    minutes = settings.RECOMMEND_TRAIN_INTERVAL_MINUTES
    with transaction.atomic(using=using):
        named = schedules.filter(name=TRAINING_SCHEDULE_NAME).order_by("pk")
        first = named.first()
        if first is not None:
            named.exclude(pk=first.pk).delete()
        schedule, _ = schedules.update_or_create(
            name=TRAINING_SCHEDULE_NAME,
            defaults={
                "func": TRAINING_TASK,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
            # A fresh install trains its first model explicitly (manage.py train);
            # the schedule starts one interval later instead of at the first start.
            create_defaults={
                "func": TRAINING_TASK,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "next_run": timezone.now() + datetime.timedelta(minutes=minutes),
            },
        )
    return schedule


CONTENT_GAP_SCHEDULE_NAME = "recommend-content-gaps"
CONTENT_GAP_TASK = "recommend.gaps.content_gap_refresh_task"
CONTENT_GAP_INTERVAL_MINUTES_DEFAULT = 360


def content_gap_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "recommend-content-gaps" schedule, every
    RECOMMEND_GAP_INTERVAL_MINUTES (default six hours); found by name, like
    the training schedule, so that any number of migrates leave one."""
    schedules = Schedule.objects.using(using)
    minutes = int(
        getattr(
            settings,
            "RECOMMEND_GAP_INTERVAL_MINUTES",
            CONTENT_GAP_INTERVAL_MINUTES_DEFAULT,
        )
    )
    defaults = {
        "func": CONTENT_GAP_TASK,
        "schedule_type": Schedule.MINUTES,
        "minutes": minutes,
        "repeats": -1,
    }
    with transaction.atomic(using=using):
        named = schedules.filter(name=CONTENT_GAP_SCHEDULE_NAME).order_by("pk")
        first = named.first()
        if first is not None:
            named.exclude(pk=first.pk).delete()
        # First run one interval on, as for training (a worker started by the
        # tests must not pick it up); the admin page can recompute at once.
        schedule, _ = schedules.update_or_create(
            name=CONTENT_GAP_SCHEDULE_NAME,
            defaults=defaults,
            create_defaults={
                **defaults,
                "next_run": timezone.now() + datetime.timedelta(minutes=minutes),
            },
        )
    return schedule
