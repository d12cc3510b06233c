"""App configuration for the CMS site."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def publish_schedule_after_migrate(sender, using: str = "default", **kwargs) -> None:
    from django.db import connections
    from wagtail.models import Collection

    from cms.schedules import publish_schedule_ensure, schedules_table_exists

    if schedules_table_exists(using):
        publish_schedule_ensure(using=using)
    # Wagtail's root collection comes from a migration: a flush (tests, a
    # restore) loses it, and every image upload would then fail.
    tables = connections[using].introspection.table_names()
    if Collection._meta.db_table in tables and not (
        Collection.objects.using(using).filter(depth=1).exists()
    ):
        Collection.add_root(instance=Collection(name="Root"))


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "CMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from cms.limits import IdConverter
        from cms.signal_handlers import register_signal_handlers

        register_signal_handlers()
        # `<id:name>` in any app's URLs: a 64-bit id or a 404, never an overflow.
        register_converter(IdConverter, "id")
        post_migrate.connect(
            publish_schedule_after_migrate,
            sender=self,
            dispatch_uid="cms.publish_schedule",
        )
