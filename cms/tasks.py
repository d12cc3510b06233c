"""Background jobs of the CMS app (django-q2 runs them by dotted path)."""

from cms.services import pages_publish_scheduled


def pages_publish_scheduled_task() -> str:
    """The per-minute scheduled publishing; returns the live-content stamp."""
    return pages_publish_scheduled()
