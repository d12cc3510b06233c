"""App configuration for recommendations."""

from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = "Recommendations"
    default_auto_field = "django.db.models.BigAutoField"
