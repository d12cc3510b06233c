"""App configuration for recommendations."""

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def training_schedule_after_migrate(sender, using: str = "default", **kwargs) -> None:
    from django_q.models import Schedule

    from recommend.schedules import training_schedule_ensure

    # `migrate some_app` can run before django_q's own tables exist.
    if Schedule._meta.db_table in connections[using].introspection.table_names():
        training_schedule_ensure(using=using)


def content_gap_schedule_after_migrate(
    sender, using: str = "default", **kwargs
) -> None:
    from django_q.models import Schedule

    from recommend.schedules import content_gap_schedule_ensure

    if Schedule._meta.db_table in connections[using].introspection.table_names():
        content_gap_schedule_ensure(using=using)


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = "Recommendations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(
            training_schedule_after_migrate,
            sender=self,
            dispatch_uid="recommend.training_schedule",
        )
        post_migrate.connect(
            content_gap_schedule_after_migrate,
            sender=self,
            dispatch_uid="recommend.content_gap_schedule",
        )
