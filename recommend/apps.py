"""App configuration for recommendations."""

from django.apps import AppConfig
from django.core.signals import request_finished
from django.db.models.signals import post_migrate


def schedules_after_migrate(sender, using: str = "default", **kwargs) -> None:
    from cms.schedules import schedules_table_exists
    from recommend.training.schedules import (
        content_gap_schedule_ensure,
        performance_schedule_ensure,
        training_schedule_ensure,
        trending_schedule_ensure,
    )

    if schedules_table_exists(using):
        training_schedule_ensure(using=using)
        content_gap_schedule_ensure(using=using)
        performance_schedule_ensure(using=using)
        trending_schedule_ensure(using=using)


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = "Recommendations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(
            schedules_after_migrate,
            sender=self,
            dispatch_uid="recommend.schedules",
        )
        from recommend.serving.impressions import impressions_flush_if_due

        # After the response is sent: the buffered impressions' one insert.
        request_finished.connect(
            impressions_flush_if_due, dispatch_uid="recommend.impressions"
        )
