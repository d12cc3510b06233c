"""App configuration for AI generation."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def schedules_after_migrate(sender, using: str = "default", **kwargs) -> None:
    from cms.schedules import schedules_table_exists
    from generation.schedules import resume_schedules_ensure

    if schedules_table_exists(using):
        resume_schedules_ensure(using=using)


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from generation.media.api import api_fields_attach
        from generation.media.signal_handlers import register_signal_handlers

        register_signal_handlers()
        api_fields_attach()
        post_migrate.connect(
            schedules_after_migrate,
            sender=self,
            dispatch_uid="generation.schedules",
        )
