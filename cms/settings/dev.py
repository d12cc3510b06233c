"""Local development: the embedded defaults with DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
RECOMMEND_DEMO_PAGE = env.bool("RECOMMEND_DEMO_PAGE", default=True)
# Any local front-end dev server (Vite, Next, ...) may call the API.
CORS_ALLOWED_ORIGIN_REGEXES = env.list(
    "CORS_ALLOWED_ORIGIN_REGEXES",
    default=[r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"],
)

# `make run` serves with gunicorn, not runserver: whitenoise serves the static
# files straight from the apps (no collectstatic needed).
MIDDLEWARE = [*MIDDLEWARE]  # noqa: F405
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
