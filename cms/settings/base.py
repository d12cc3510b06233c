"""Settings shared by every environment, read from environment variables."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "cms",
    "generation",
    "recommend",
    "wagtail.api.v2",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.simple_translation",
    "wagtail.locales",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "django_q",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cms.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "cms.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "cms.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "cms.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
# Keep connections across requests: opening one (and its PRAGMAs) per request
# cost a third of a feed's time.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Caches: "default" is per-process; "shared" is seen by every process (web and
# workers) and holds version stamps and worker heartbeats. Redis when REDIS_URL is set,
# otherwise a database table so that the embedded setup needs no extra service.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cms",
        },
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cms-shared",
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cms_shared_cache",
        },
    }

Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", default="content-engine"),
    "workers": env.int("Q_WORKERS", default=2),
    # timeout must stay below retry so a slow task is killed before it is re-queued.
    "timeout": env.int("Q_TIMEOUT", default=1800),
    "retry": env.int("Q_RETRY", default=1860),
    "max_attempts": 3,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "cache": "shared",
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "static")
STATIC_URL = "/static/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
# Event batches of 1,000 with context run to a few hundred kilobytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

WAGTAIL_SITE_NAME = "Content engine"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx"]
WAGTAILAPI_BASE_URL = WAGTAILADMIN_BASE_URL
WAGTAILAPI_LIMIT_MAX = 100
WAGTAILAPI_SEARCH_ENABLED = True
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["cms.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["cms.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["cms.auth.ApiKeyThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cms.api_errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_THROTTLE_RATE", default="6000/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Content engine API",
    "DESCRIPTION": (
        "Headless CMS content (Wagtail API v2 under /api/v2/) and project endpoints "
        "under /api/v1/. Authenticate with `Authorization: Api-Key <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["cms.openapi.only_api_paths"],
}

API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"
# Whether reading the Wagtail content API (/api/v2/) needs a key with content:read.
CONTENT_API_REQUIRES_KEY = env.bool("CONTENT_API_REQUIRES_KEY", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Wagtail logs every page creation and publish at INFO: too chatty for seeds.
        "wagtail": {"level": env("WAGTAIL_LOG_LEVEL", default="WARNING")},
        "django_tasks": {"level": "WARNING"},
    },
}

# Recommender. Event weights feed the reader x item matrix; a read's weight scales
# with dwell seconds (value) up to RECOMMEND_READ_FULL_SECONDS; a dismissal removes
# the pair from training and hides the item from that reader.
RECOMMEND_EVENT_WEIGHTS = {
    "view": 1.0,
    "read": 2.0,
    "like": 4.0,
    "bookmark": 4.0,
    "share": 5.0,
    "dismiss": 0.0,
}
RECOMMEND_READ_FULL_SECONDS = env.float("RECOMMEND_READ_FULL_SECONDS", default=120.0)
RECOMMEND_HALF_LIFE_DAYS = env.float("RECOMMEND_HALF_LIFE_DAYS", default=90.0)
RECOMMEND_DEFAULT_ALGORITHM = env("RECOMMEND_DEFAULT_ALGORITHM", default="als")
RECOMMEND_TRAIN_INTERVAL_MINUTES = env.int(
    "RECOMMEND_TRAIN_INTERVAL_MINUTES", default=360
)
RECOMMEND_EVENTS_MAX_BATCH = 1000
# Client clocks drift: an event up to this far in the future is still accepted.
RECOMMEND_EVENTS_MAX_FUTURE_SECONDS = 300
# Serving (feeds and similar items).
# At most this many items of one topic in the first n of a feed (0 turns it off).
RECOMMEND_FEED_MAX_PER_TOPIC = env.int("RECOMMEND_FEED_MAX_PER_TOPIC", default=4)
# Freshness: a just-published item gains this much score, halving every half-life.
RECOMMEND_FRESHNESS_WEIGHT = env.float("RECOMMEND_FRESHNESS_WEIGHT", default=0.02)
RECOMMEND_FRESHNESS_HALF_LIFE_DAYS = env.float(
    "RECOMMEND_FRESHNESS_HALF_LIFE_DAYS", default=14.0
)
# Trending for unknown readers: events of the last N days, halving every half-life.
RECOMMEND_TRENDING_DAYS = env.int("RECOMMEND_TRENDING_DAYS", default=14)
RECOMMEND_TRENDING_HALF_LIFE_DAYS = env.float(
    "RECOMMEND_TRENDING_HALF_LIFE_DAYS", default=3.0
)
RECOMMEND_TRENDING_CACHE_SECONDS = 60
# How often a process looks at the shared version stamps (model, live content).
RECOMMEND_STAMP_CHECK_SECONDS = env.float("RECOMMEND_STAMP_CHECK_SECONDS", default=1.0)
# Impressions are buffered per process and written in one insert.
RECOMMEND_IMPRESSIONS_FLUSH_SECONDS = 5.0
RECOMMEND_IMPRESSIONS_FLUSH_SIZE = 50
# A reader's most recent events considered when serving (seen filter, fold-in).
RECOMMEND_HISTORY_LIMIT = 500

# AI generation. "composer" (text) and "cover" (image) run offline; "openai_compatible"
# talks to any OpenAI-compatible server (OpenAI, Azure, vLLM, Ollama, llama.cpp) at
# OPENAI_BASE_URL (empty: api.openai.com). GENERATION_IMAGE_PROVIDER may also be "none".
GENERATION_TEXT_PROVIDER = env("GENERATION_TEXT_PROVIDER", default="composer")
GENERATION_IMAGE_PROVIDER = env("GENERATION_IMAGE_PROVIDER", default="cover")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
GENERATION_MODEL = env("GENERATION_MODEL", default="gpt-4o-mini")
GENERATION_IMAGE_MODEL = env("GENERATION_IMAGE_MODEL", default="gpt-image-1")
GENERATION_IMAGE_SIZE = env("GENERATION_IMAGE_SIZE", default="1536x1024")
# One model call may take GENERATION_TIMEOUT_SECONDS and is tried 1 + MAX_RETRIES
# times with exponential backoff; text plus image stays well below Q_CLUSTER timeout.
GENERATION_TIMEOUT_SECONDS = env.float("GENERATION_TIMEOUT_SECONDS", default=60.0)
GENERATION_IMAGE_TIMEOUT_SECONDS = env.float(
    "GENERATION_IMAGE_TIMEOUT_SECONDS", default=120.0
)
GENERATION_MAX_RETRIES = env.int("GENERATION_MAX_RETRIES", default=3)
GENERATION_RETRY_BACKOFF_SECONDS = env.float(
    "GENERATION_RETRY_BACKOFF_SECONDS", default=1.0
)
# Whole-pipeline attempts of one job before it ends "failed".
GENERATION_MAX_ATTEMPTS = env.int("GENERATION_MAX_ATTEMPTS", default=3)
# Model tokens (in + out) all jobs may use per UTC day; 0 means no limit.
GENERATION_DAILY_TOKEN_BUDGET = env.int(
    "GENERATION_DAILY_TOKEN_BUDGET", default=1_000_000
)
GENERATION_COST_PER_1K_INPUT_TOKENS = env.float(
    "GENERATION_COST_PER_1K_INPUT_TOKENS", default=0.0
)
GENERATION_COST_PER_1K_OUTPUT_TOKENS = env.float(
    "GENERATION_COST_PER_1K_OUTPUT_TOKENS", default=0.0
)
GENERATION_COST_PER_IMAGE = env.float("GENERATION_COST_PER_IMAGE", default=0.0)
# A draft whose TF-IDF cosine to an existing article reaches this is flagged.
GENERATION_NEAR_DUPLICATE_THRESHOLD = env.float(
    "GENERATION_NEAR_DUPLICATE_THRESHOLD", default=0.8
)
GENERATION_MIN_WORDS = env.int("GENERATION_MIN_WORDS", default=150)
GENERATION_MAX_WORDS = env.int("GENERATION_MAX_WORDS", default=3000)
GENERATION_MAX_SOURCES = env.int("GENERATION_MAX_SOURCES", default=5)
# Approving the last task of "AI review" publishes even when the approving Editor
# has no site-wide publish permission (other workflows behave as in stock Wagtail).
WAGTAIL_FINISH_WORKFLOW_ACTION = "generation.approval.workflow_state_publish"
# The reader demo page at /demo/ hands the browser a feed:read + events:write key.
RECOMMEND_DEMO_PAGE = env.bool("RECOMMEND_DEMO_PAGE", default=DEBUG)

# Audiences: k clusters of readers' topic profiles, recomputed after a promotion;
# readers need this many events to be placed. An article written for an audience
# is lifted to about the PRIOR_RANK-th place of its members' feeds until it has
# had PRIOR_INTERACTIONS events and the model takes over.
RECOMMEND_AUDIENCE_COUNT = env.int("RECOMMEND_AUDIENCE_COUNT", default=8)
RECOMMEND_AUDIENCE_MIN_EVENTS = 3
RECOMMEND_AUDIENCE_PRIOR_INTERACTIONS = 50
RECOMMEND_AUDIENCE_PRIOR_RANK = 3
