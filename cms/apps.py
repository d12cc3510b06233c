"""App configuration for the CMS site."""

from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "CMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cms.signal_handlers import register_signal_handlers

        register_signal_handlers()
