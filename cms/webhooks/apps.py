"""App configuration for webhooks."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def sweep_schedule_after_migrate(sender, using: str = "default", **kwargs) -> None:
    from cms.schedules import schedules_table_exists
    from cms.webhooks.schedules import sweep_schedule_ensure

    if schedules_table_exists(using):
        sweep_schedule_ensure(using=using)


class WebhooksConfig(AppConfig):
    name = "cms.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cms.webhooks.signal_handlers import register_signal_handlers

        register_signal_handlers()
        post_migrate.connect(
            sweep_schedule_after_migrate,
            sender=self,
            dispatch_uid="webhooks.sweep_schedule",
        )
