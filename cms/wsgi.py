"""WSGI entry point for gunicorn and other servers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")

django_application = get_wsgi_application()

from recommend.api.fast_path import FeedFastPathApplication  # noqa: E402 (after setup)

application = FeedFastPathApplication(django_application)
