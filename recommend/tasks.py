"""Background jobs of the recommend app (django-q2 runs them by dotted path)."""

from django.conf import settings

from recommend.audiences.audiences import audience_refresh
from recommend.audiences.gaps import content_gap_refresh
from recommend.audiences.performance import performance_aggregate_recent
from recommend.models import ModelVersion
from recommend.serving.candidates import (
    candidate_lists_rebuild,
    candidate_lists_refresh,
)
from recommend.serving.trending import trending_counts_share
from recommend.training.service import model_version_train_if_idle


def train_model_task(algorithm: str | None = None) -> int | None:
    """Train and maybe promote a model; a no-op while another training runs.

    Cheap to retry: a retry that finds the first attempt still training (younger
    than the queue's timeout, after which the worker is killed) does nothing.
    Returns the new ModelVersion id, or None when skipped.
    """
    version = model_version_train_if_idle(
        algorithm=algorithm, stale_after_seconds=settings.Q_CLUSTER["timeout"]
    )
    return version.pk if version is not None else None


def content_gap_refresh_task() -> int:
    """The scheduled content-gap refresh (django-q2 calls it without arguments)."""
    return content_gap_refresh()


def performance_aggregate_task() -> int:
    """The scheduled daily-aggregate refresh (today, yesterday, missing days)."""
    return performance_aggregate_recent(
        days=settings.RECOMMEND_PERFORMANCE_RETENTION_DAYS
    )


def trending_share_task() -> int:
    """The scheduled trending refresh: counts read once, shared with every
    serving process; returns how many pages have a count."""
    return len(trending_counts_share().page_ids)


def candidate_lists_rebuild_task(model_version_id: int) -> int:
    """Candidate lists of every active reader after a promotion (batches, progress
    in the shared cache and the log). A no-op once the version is no longer the
    active one; a retry recomputes the same lists."""
    if not ModelVersion.objects.filter(
        pk=model_version_id, status=ModelVersion.Status.ACTIVE
    ).exists():
        return 0
    return candidate_lists_rebuild()


def audiences_refresh_task(model_version_id: int) -> int:
    """Audiences and content gaps after a promotion (enqueued by the training).

    A no-op once the version is no longer the active one (a later promotion
    enqueued its own); returns the number of active audiences.
    """
    version = ModelVersion.objects.filter(
        pk=model_version_id, status=ModelVersion.Status.ACTIVE
    ).first()
    if version is None:
        return 0
    audiences = audience_refresh(model_version=version)
    content_gap_refresh()
    return len(audiences)


def candidate_lists_refresh_task(reader_ids: list[int]) -> int:
    """Rebuild these readers' lists after their events (debounced by the caller);
    readers whose list is already newer than their events are skipped."""
    return candidate_lists_refresh(reader_pks=reader_ids)


def audiences_refresh_now() -> int:
    """The active model's audiences and gaps, inline: what a command that just
    trained (`train`, `simulate_readers`) leaves complete without a worker."""
    from recommend.models import ModelVersion

    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    return audiences_refresh_task(active.pk) if active is not None else 0
