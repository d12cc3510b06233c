"""The recommend app's recurring jobs, created idempotently after every migrate."""

from django.conf import settings
from django_q.models import Schedule

from cms.schedules import schedule_ensure

TRAINING_SCHEDULE_NAME = "recommend-train"
TRAINING_TASK = "recommend.tasks.train_model_task"

CONTENT_GAP_SCHEDULE_NAME = "recommend-content-gaps"
CONTENT_GAP_TASK = "recommend.tasks.content_gap_refresh_task"
CONTENT_GAP_INTERVAL_MINUTES_DEFAULT = 360

TRENDING_SCHEDULE_NAME = "recommend-trending"
TRENDING_TASK = "recommend.tasks.trending_share_task"

PERFORMANCE_SCHEDULE_NAME = "recommend-performance-aggregates"
PERFORMANCE_TASK = "recommend.tasks.performance_aggregate_task"
PERFORMANCE_INTERVAL_MINUTES_DEFAULT = 10


def training_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "recommend-train" schedule, every RECOMMEND_TRAIN_INTERVAL_MINUTES."""
    return schedule_ensure(
        name=TRAINING_SCHEDULE_NAME,
        func=TRAINING_TASK,
        minutes=settings.RECOMMEND_TRAIN_INTERVAL_MINUTES,
        using=using,
    )


def content_gap_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "recommend-content-gaps" schedule, every
    RECOMMEND_GAP_INTERVAL_MINUTES (default six hours)."""
    minutes = getattr(
        settings, "RECOMMEND_GAP_INTERVAL_MINUTES", CONTENT_GAP_INTERVAL_MINUTES_DEFAULT
    )
    return schedule_ensure(
        name=CONTENT_GAP_SCHEDULE_NAME,
        func=CONTENT_GAP_TASK,
        minutes=int(minutes),
        using=using,
    )


def performance_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "recommend-performance-aggregates" schedule, every
    RECOMMEND_PERFORMANCE_INTERVAL_MINUTES (default ten minutes)."""
    minutes = getattr(
        settings,
        "RECOMMEND_PERFORMANCE_INTERVAL_MINUTES",
        PERFORMANCE_INTERVAL_MINUTES_DEFAULT,
    )
    return schedule_ensure(
        name=PERFORMANCE_SCHEDULE_NAME,
        func=PERFORMANCE_TASK,
        minutes=int(minutes),
        using=using,
    )


def trending_schedule_ensure(*, using: str = "default") -> Schedule:
    """The one "recommend-trending" schedule: the trending counts every serving
    process takes, recomputed every RECOMMEND_TRENDING_CACHE_SECONDS (whole
    minutes, at least one)."""
    return schedule_ensure(
        name=TRENDING_SCHEDULE_NAME,
        func=TRENDING_TASK,
        minutes=max(1, settings.RECOMMEND_TRENDING_CACHE_SECONDS // 60),
        using=using,
    )
