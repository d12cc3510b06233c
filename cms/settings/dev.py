"""Local development: the embedded defaults with DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
RECOMMEND_DEMO_PAGE = env.bool("RECOMMEND_DEMO_PAGE", default=True)
