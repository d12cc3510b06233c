"""Background jobs of the recommend app (django-q2 runs them by dotted path)."""

from django.conf import settings

from recommend.services.training import model_version_train_if_idle


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
