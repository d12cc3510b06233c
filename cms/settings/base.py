"""Settings shared by every environment, read from environment variables."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from cms.request_urls import api_base_url_lazy

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "cms",
    "cms.webhooks",
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
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_q",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # First: a preflight is answered before anything asks for credentials, and
    # every answer (the feed fast path's too) gets its CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    # Answers plain feed requests before the rest of the stack (see its docstring).
    "recommend.api.fast_path.FeedFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "cms.http_caching.ApiCacheControlMiddleware",
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

# Feed candidate lists and readers' recent events (recommend/serving/candidates.py):
# seen by every process. Redis when REDIS_URL is set; otherwise a disk cache (SQLite
# files, shared by the processes of one machine) beside the embedded database, since
# the database-table cache culls at a few hundred entries and costs a query per read.
if REDIS_URL:
    CACHES["feeds"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cms-feeds",
    }
else:
    FEEDS_CACHE_DIR = env("FEEDS_CACHE_DIR", default="") or (
        f"{DATABASES['default']['NAME']}.feeds-cache"
        if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
        else str(BASE_DIR / ".cache" / "feeds")
    )
    CACHES["feeds"] = {
        "BACKEND": "cms.caches.PersistentDiskCache",
        "LOCATION": FEEDS_CACHE_DIR,
        "TIMEOUT": 86_400,
        # How long a write waits for another process's write (SQLite's busy
        # timeout). diskcache's 10 ms default drops the write silently when it
        # runs out, and a lost recent-events note breaks read-your-writes.
        "DATABASE_TIMEOUT": 2.0,
        # One SQLite file: a feed's two keys are then read in one query
        # (cms/caches.py). Its writes (lists, notes) are few next to its reads.
        "SHARDS": 1,
        # Read through a memory map of the whole file (SQLite's cap is 2 GiB),
        # not 64 MiB: a feed's list is then read from the page cache shared by
        # every worker, without a read() into each connection's own page cache
        # (measured: a first read of a list 58 -> 30 us, a warm one 22 -> 19 us).
        "OPTIONS": {"size_limit": 4 * 2**30, "sqlite_mmap_size": 2**31},
    }

Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", default="content-engine"),
    "workers": env.int("Q_WORKERS", default=2),
    # A task running longer than timeout is killed; a task whose worker died
    # (SIGKILL, OOM) is delivered again after retry, which must stay above
    # timeout so that a slow task is killed before it is re-queued. Generation
    # jobs recover sooner through their lease (GENERATION_JOB_LEASE_SECONDS).
    "timeout": env.int("Q_TIMEOUT", default=900),
    "retry": env.int("Q_RETRY", default=960),
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
# Media (uploaded images, AI covers and their renditions, narration) and model
# artifacts all go through the "default" storage, so that every web and worker
# machine sees the same files. MEDIA_STORAGE=s3 puts them in an S3 bucket (AWS S3
# or any S3-compatible store: MinIO, Ceph, R2, ...) through django-storages.
MEDIA_STORAGE = env("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("MEDIA_S3_BUCKET"),
            "endpoint_url": env("MEDIA_S3_ENDPOINT_URL", default=None),
            "region_name": env("MEDIA_S3_REGION", default=None),
            "access_key": env("MEDIA_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env("MEDIA_S3_SECRET_ACCESS_KEY", default=None),
            "custom_domain": env("MEDIA_S3_CUSTOM_DOMAIN", default=None),
            "location": env("MEDIA_S3_PREFIX", default=""),
            # Signed, expiring URLs by default: covers of drafts in review must not
            # be readable by whoever guesses a key. A public bucket behind a CDN
            # sets MEDIA_S3_SIGNED_URLS=false and MEDIA_S3_CUSTOM_DOMAIN.
            "querystring_auth": env.bool("MEDIA_S3_SIGNED_URLS", default=True),
            "querystring_expire": env.int("MEDIA_S3_URL_EXPIRE_SECONDS", default=3600),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
elif MEDIA_STORAGE != "local":
    raise ImproperlyConfigured(
        f"MEDIA_STORAGE must be 'local' or 's3', not {MEDIA_STORAGE!r}"
    )

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
# Event batches of 1,000 with context run to a few hundred kilobytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Mail (workflow notifications to editors): SMTP when EMAIL_HOST is set; otherwise
# written to the console, so that a machine without a mail server logs each
# notification instead of a connection-refused traceback.
EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="content-engine@localhost")

WAGTAIL_SITE_NAME = "Content engine"
WAGTAILADMIN_BASE_URL = env(
    "WAGTAILADMIN_BASE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}"
)
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx"]
# API v2's absolute URLs follow the request (cms.request_urls) unless a public
# base URL is fixed here; outside a request they fall back to the admin's.
WAGTAILAPI_BASE_URL = env("WAGTAILAPI_BASE_URL", default="") or api_base_url_lazy(
    WAGTAILADMIN_BASE_URL
)
WAGTAILAPI_LIMIT_MAX = 100
WAGTAILAPI_SEARCH_ENABLED = True
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cms.auth.ApiKeyAuthentication",
        "cms.reader_tokens.ReaderTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cms.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["cms.auth.ApiKeyThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cms.api_errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["cms.limits.LimitedJSONParser"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_THROTTLE_RATE", default="6000/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Content engine API",
    "DESCRIPTION": (
        "Headless CMS content (Wagtail API v2 under /api/v2/) and project endpoints "
        "under /api/v1/. Servers authenticate with `Authorization: Api-Key <key>`; "
        "browsers and apps with `Authorization: Reader <token>` from "
        "POST /api/v1/reader-tokens."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the project's static files (drf-spectacular-sidecar):
    # the docs work without internet and never change under a CDN's @latest.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["cms.openapi.only_api_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cms.openapi_content.content_api_paths",
        "cms.openapi.shared_error_responses",
        "cms.openapi.servers_from_request",
        "cms.openapi.operation_links",
    ],
}

API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"
# Reader tokens (POST /api/v1/reader-tokens) live this long; a request may ask less.
READER_TOKEN_TTL_SECONDS = env.int("READER_TOKEN_TTL_SECONDS", default=3600)

# CORS (django-cors-headers) for browser front-ends on other origins: the API only,
# origins listed in CORS_ALLOWED_ORIGINS (none by default; dev allows localhost).
# Credentials are headers (API keys, reader tokens), never cookies.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOWED_ORIGIN_REGEXES = env.list("CORS_ALLOWED_ORIGIN_REGEXES", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["Retry-After", "ETag", "Last-Modified", "X-Feed-Source"]
CORS_PREFLIGHT_MAX_AGE = 600
# Whether reading the Wagtail content API (/api/v2/) needs a key with content:read.
CONTENT_API_REQUIRES_KEY = env.bool("CONTENT_API_REQUIRES_KEY", default=False)
# Seconds a browser or CDN may reuse public content (v2, similar items) before
# revalidating with its ETag; short, so that an unpublished page leaves caches soon.
API_CACHE_MAX_AGE = env.int("API_CACHE_MAX_AGE", default=30)

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
# Performance reports read daily aggregates refreshed this often (today and
# yesterday; any missing day of the retention window is filled in).
RECOMMEND_PERFORMANCE_INTERVAL_MINUTES = env.int(
    "RECOMMEND_PERFORMANCE_INTERVAL_MINUTES", default=10
)
RECOMMEND_PERFORMANCE_RETENTION_DAYS = env.int(
    "RECOMMEND_PERFORMANCE_RETENTION_DAYS", default=90
)
RECOMMEND_EVENTS_MAX_BATCH = 1000
# Client clocks drift: an event up to this far in the future is still accepted
# (by the events API and import_interactions; earlier than 1970 never is).
RECOMMEND_EVENTS_MAX_FUTURE_SECONDS = env.int(
    "RECOMMEND_EVENTS_MAX_FUTURE_SECONDS", default=300
)
# The largest event value (dwell seconds, a rating, a weight) accepted.
RECOMMEND_EVENTS_MAX_VALUE = env.float("RECOMMEND_EVENTS_MAX_VALUE", default=1e6)
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
# How old the shared trending counts may grow before a background refresh (one
# grouped query over the window's events; the decay works in whole days).
RECOMMEND_TRENDING_CACHE_SECONDS = env.int(
    "RECOMMEND_TRENDING_CACHE_SECONDS", default=300
)
# How often each process re-reads audience targets and members (recommend/serving/
# routing.py): the lift of an article written for an audience fades with its events.
RECOMMEND_ROUTING_CACHE_SECONDS = 60
# How often a process looks at the shared version stamps (model, live content).
RECOMMEND_STAMP_CHECK_SECONDS = env.float("RECOMMEND_STAMP_CHECK_SECONDS", default=1.0)
# A publish or an unpublish updates each process's serving catalogue in place
# (rows added or removed) rather than rebuilding it; off: a full build each time.
RECOMMEND_CATALOGUE_UPDATES = env.bool("RECOMMEND_CATALOGUE_UPDATES", default=True)
# The next serving state is made in a background thread while requests keep the
# current one (no request pauses for it); off: in the request that notices.
RECOMMEND_STATE_REFRESH_IN_BACKGROUND = env.bool(
    "RECOMMEND_STATE_REFRESH_IN_BACKGROUND", default=True
)
# Card data (standfirst, date, reading time, section, renditions) of every live
# item is read by each web worker before its first request and in the background
# after each new catalogue, up to this size (each process keeps it: about 1 KB an
# item); larger catalogues, and items not read yet, are read per request.
RECOMMEND_CARDS_WARM = env.bool("RECOMMEND_CARDS_WARM", default=True)
RECOMMEND_CARDS_WARM_MAX_ITEMS = env.int(
    "RECOMMEND_CARDS_WARM_MAX_ITEMS", default=100_000
)
# Impressions are buffered per process and written in one insert.
RECOMMEND_IMPRESSIONS_FLUSH_SECONDS = env.float(
    "RECOMMEND_IMPRESSIONS_FLUSH_SECONDS", default=5.0
)
# Rows per insert. Each flush takes the web process's interpreter lock for a while
# (a thread of its own builds and inserts the rows): at 50 rows a busy worker
# flushed 40 times a second and lost about a fifth of its feed throughput
# waiting; the seconds bound keeps the delay (and the loss in a crash) short.
RECOMMEND_IMPRESSIONS_FLUSH_SIZE = env.int(
    "RECOMMEND_IMPRESSIONS_FLUSH_SIZE", default=1000
)
RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND = env.bool(
    "RECOMMEND_IMPRESSIONS_FLUSH_IN_BACKGROUND", default=True
)
# A reader's most recent events considered when serving (seen filter, fold-in).
RECOMMEND_HISTORY_LIMIT = 500
# Two-stage feeds (recommend/serving/candidates.py): each reader's top items are kept
# in the "feeds" cache, rebuilt after a promotion and after the reader's events.
RECOMMEND_CANDIDATES_SIZE = env.int("RECOMMEND_CANDIDATES_SIZE", default=200)
RECOMMEND_CANDIDATES_TTL_SECONDS = env.int(
    "RECOMMEND_CANDIDATES_TTL_SECONDS", default=86_400
)
# A reader's list is refreshed at most once per window after their events.
RECOMMEND_CANDIDATES_DEBOUNCE_SECONDS = env.float(
    "RECOMMEND_CANDIDATES_DEBOUNCE_SECONDS", default=5.0
)
# Readers with events in this many days get a list after each promotion.
RECOMMEND_CANDIDATES_ACTIVE_DAYS = env.int(
    "RECOMMEND_CANDIDATES_ACTIVE_DAYS", default=30
)
RECOMMEND_CANDIDATES_REBUILD_ON_PROMOTION = env.bool(
    "RECOMMEND_CANDIDATES_REBUILD_ON_PROMOTION", default=True
)
# A list built from fewer events than this is recomputed on the reader's next feed
# after new events (a new reader's first clicks count at once).
RECOMMEND_CANDIDATES_YOUNG_EVENTS = 10
# Events per reader kept for read-your-writes until the list is rebuilt.
RECOMMEND_RECENT_EVENTS = 50
# API keys verified in the last this many seconds are not checked again (per
# process): a revoked or deleted key keeps working at most this long.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=30.0)

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
# A running job's claim is a lease its worker renews every quarter of it; a job
# whose worker died is claimed again (by the sweep, every minute) one lease later.
GENERATION_JOB_LEASE_SECONDS = env.float("GENERATION_JOB_LEASE_SECONDS", default=120.0)
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
# The currency of the GENERATION_COST_PER_* prices, printed with every cost estimate.
GENERATION_COST_CURRENCY = env("GENERATION_COST_CURRENCY", default="USD")
# A draft whose TF-IDF cosine to an existing article reaches this is flagged.
GENERATION_NEAR_DUPLICATE_THRESHOLD = env.float(
    "GENERATION_NEAR_DUPLICATE_THRESHOLD", default=0.8
)
GENERATION_MIN_WORDS = env.int("GENERATION_MIN_WORDS", default=150)
GENERATION_MAX_WORDS = env.int("GENERATION_MAX_WORDS", default=3000)
GENERATION_MAX_SOURCES = env.int("GENERATION_MAX_SOURCES", default=5)
# Narration and clips (AI media): speech from espeak-ng offline or any server with
# /v1/audio/speech; ffmpeg encodes (mp3 or opus), normalises loudness, renders clips.
GENERATION_SPEECH_PROVIDER = env("GENERATION_SPEECH_PROVIDER", default="espeak")
GENERATION_SPEECH_MODEL = env("GENERATION_SPEECH_MODEL", default="gpt-4o-mini-tts")
GENERATION_SPEECH_VOICE = env("GENERATION_SPEECH_VOICE", default="alloy")
GENERATION_SPEECH_TIMEOUT_SECONDS = env.float(
    "GENERATION_SPEECH_TIMEOUT_SECONDS", default=120.0
)
GENERATION_ESPEAK_VOICE = env("GENERATION_ESPEAK_VOICE", default="en-us")
GENERATION_ESPEAK_WORDS_PER_MINUTE = env.int(
    "GENERATION_ESPEAK_WORDS_PER_MINUTE", default=165
)
GENERATION_AUDIO_FORMAT = env("GENERATION_AUDIO_FORMAT", default="mp3")
# Publishing an article (approving its AI review included) asks for a narration.
GENERATION_NARRATE_ON_PUBLISH = env.bool("GENERATION_NARRATE_ON_PUBLISH", default=False)
GENERATION_CLIP_MAX_SECONDS = env.float("GENERATION_CLIP_MAX_SECONDS", default=30.0)
GENERATION_CLIP_SIZE = env("GENERATION_CLIP_SIZE", default="540x960")
GENERATION_COST_PER_AUDIO_MINUTE = env.float(
    "GENERATION_COST_PER_AUDIO_MINUTE", default=0.0
)
GENERATION_COST_PER_CLIP = env.float("GENERATION_COST_PER_CLIP", default=0.0)
# Seconds of audio a metered (non-offline) speech provider may make per UTC day.
GENERATION_DAILY_AUDIO_SECONDS_BUDGET = env.int(
    "GENERATION_DAILY_AUDIO_SECONDS_BUDGET", default=36_000
)
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

# Webhooks (docs/webhooks.md): one POST waits at most TIMEOUT; a failed delivery
# is retried after BASE, 3 x BASE, 9 x BASE... seconds (at most MAX_DELAY) by the
# every-minute sweep, MAX_ATTEMPTS times in all. Private and loopback targets are
# refused when WEBHOOK_ALLOW_PRIVATE is off (the default in production).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_DELAY_SECONDS = env.float(
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS", default=6 * 3600.0
)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# A sender that claimed a delivery and has not finished it this long later is
# presumed dead, and the sweep sends the delivery again (keep it above TIMEOUT).
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=120.0)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=True)

# No Gravatar: the admin must work offline, and a user's email hash is not sent to
# a third party. Wagtail then shows its default avatar (or an uploaded one).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
