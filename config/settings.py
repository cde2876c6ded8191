"""Mux Minus settings: every production difference comes from the environment.

Values are read from the process environment first, then from a local `.env`
file (which `make run` writes on first run). See `.env.example` for the list.
"""

import socket
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The environment wins over .env: read_env never overwrites a variable that is set.
environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: fail fast in production
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    # First, so that its createsuperuser (a verified account with the signup
    # bonus) replaces django.contrib.auth's.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
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
    # Accounts
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    # Always installed; each is listed only when its client id and secret are set.
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.facebook",
    # API and queue
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "csp",
    # Ours (accounts is first in the list, above)
    "billing",
    "jobs",
    "webhooks",
    "mixes",
    "cms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.csp.StoreAwareCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "accounts.context_processors.email_verification",
                "billing.context_processors.payments",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    # A fresh machine: PostgreSQL from a wheel, in var/ (config/embedded.py),
    # the same engine and row locks as production. SQLite is not an option:
    # dispatch relies on SELECT ... FOR UPDATE SKIP LOCKED.
    from .embedded import postgres_database

    DATABASES = {"default": postgres_database(BASE_DIR / "var" / "postgres")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Where people may write to the people who run this server (shown where it
# helps, such as how to get credits on a server that does not sell them).
SITE_CONTACT_EMAIL = env("SITE_CONTACT_EMAIL", default="")
# The footer's "Source code" link.
PROJECT_SOURCE_URL = env(
    "PROJECT_SOURCE_URL", default="https://github.com/muxminus/muxminus"
)
# Database 3: a Redis shared with other projects most often serves them on 0.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/3")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "muxminus",
    }
}

# Short housekeeping goes to `default`; separations (minutes each) to `stems`.
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300},
    # Dispatch turns carry their own limit (jobs.budget.turn_timeout_seconds).
    "stems": {"URL": REDIS_URL},
    # Its own workers (compose's `webhooks`): a slow receiver never holds a job's.
    "webhooks": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
}

# --- Accounts ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "jobs:dashboard"
LOGOUT_REDIRECT_URL = "/"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# One address per account; a new one is verified before it replaces the old,
# and the old address is told about the change.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
# One click: following the emailed link verifies the address (and, in the
# browser that signed up or logged in, logs the person in).
ACCOUNT_CONFIRM_EMAIL_ON_GET = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Counted in the Django cache (Redis). "login" and "signup" answer 429.html;
# "login_failed" shows a form error for the address being guessed.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip,50/h/ip",
    "reset_password": "10/m/ip,3/5m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
    # One verification link per address per 3 minutes (allauth's default
    # cooldown); the pages say when the last one went out (accounts/verification.py).
    "confirm_email": "1/3m/key",
}
# The salted hashes of closed accounts' addresses (no signup bonus for them
# again) use this secret; keep it stable when rotating DJANGO_SECRET_KEY.
CLOSED_ACCOUNT_SECRET = env("CLOSED_ACCOUNT_SECRET", default="") or SECRET_KEY

SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False  # social sign-in starts with a POST (CSRF)
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_STORE_TOKENS = False


def _social_provider(prefix: str, **options: object) -> dict[str, object]:
    """A provider's settings; its app (and so its button) only when configured."""
    client_id = env(f"{prefix}_CLIENT_ID", default="")
    secret = env(f"{prefix}_CLIENT_SECRET", default="")
    if client_id and secret:
        options["APP"] = {"client_id": client_id, "secret": secret, "key": ""}
    return options


SOCIALACCOUNT_PROVIDERS = {
    "github": _social_provider("GITHUB", SCOPE=["read:user", "user:email"]),
    "google": _social_provider(
        "GOOGLE", SCOPE=["profile", "email"], AUTH_PARAMS={"access_type": "online"}
    ),
    "facebook": _social_provider(
        "FACEBOOK", METHOD="oauth2", SCOPE=["email", "public_profile"]
    ),
}
# GitHub Enterprise (or a local fake in tests): the API is then at $GITHUB_URL/api/v3.
if env("GITHUB_URL", default=""):
    SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"] = env("GITHUB_URL")

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Mux Minus <noreply@localhost>")

# --- Credits and jobs -------------------------------------------------------
FREE_CREDITS = env.int("FREE_CREDITS", default=3)
MAX_ACTIVE_JOBS_PER_USER = env.int("MAX_ACTIVE_JOBS_PER_USER", default=5)
OUTPUT_RETENTION_HOURS = env.int("OUTPUT_RETENTION_HOURS", default=24)
MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=200)
MAX_AUDIO_MINUTES = env.int("MAX_AUDIO_MINUTES", default=20)
DEMUCS_MODELS = env.list(
    "DEMUCS_MODELS", default=["htdemucs", "htdemucs_ft", "htdemucs_6s"]
)
# The stemworker's weights folder; `manage.py fetch_models` fills it (var/models
# when unset). The URL root it downloads from: empty means demucs' own.
DEMUCS_REPO = env("DEMUCS_REPO", default="")
DEMUCS_WEIGHTS_URL = env("DEMUCS_WEIGHTS_URL", default="")
SHARED_ROOT = Path(env("SHARED_ROOT", default=str(BASE_DIR / "var" / "shared")))
STEMWORKER_URL = env("STEMWORKER_URL", default="http://127.0.0.1:8001")
STEMWORKER_TOKEN = env("STEMWORKER_TOKEN")
# How long a queued job may wait for a free stemworker slot, or for an
# unreachable stemworker to come back, before it fails with its credit back.
STEMWORKER_WAIT_SECONDS = env.int("STEMWORKER_WAIT_SECONDS", default=6 * 3600)
# The stemworker's cap on one separation; the same variable configures the
# stemworker (stemworker/config.py), so set it once for both. Every limit of a
# job is derived in jobs/budget.py and checked against this at start-up.
STEMWORKER_JOB_TIMEOUT = env.int("STEMWORKER_JOB_TIMEOUT", default=8 * 3600)
STEMWORKER_DOWN_SECONDS = env.int("STEMWORKER_DOWN_SECONDS", default=300)
# The worker long-polls the stemworker: the answer comes as soon as a separation
# ends, or after this many seconds with its progress. Asking rarely matters:
# every wake-up of another process stalls torch's threads on a small machine.
STEMWORKER_POLL_SECONDS = env.float("STEMWORKER_POLL_SECONDS", default=2.0)
# RQ worker processes `manage.py rqworkers` starts; 0: two per stemworker slot,
# plus one (jobs/management/commands/rqworkers.py).
RQ_WORKERS = env.int("RQ_WORKERS", default=0)
# This machine's name among the separation hosts (jobs/hosts.py): each host's
# workers say which jobs they run under it, and its heartbeat keeps its row.
MUXMINUS_HOST = (env("MUXMINUS_HOST", default="") or socket.gethostname())[:100]
HOST_BEAT_SECONDS = env.float("HOST_BEAT_SECONDS", default=10.0)
# After a SIGTERM a host finishes what it runs for this long, then hands back
# to the queue whatever is still separating (keep it under the orchestrator's
# stop grace period, docker-compose.worker.yml: 60 s).
HOST_DRAIN_SECONDS = env.float("HOST_DRAIN_SECONDS", default=45.0)
# /healthz lists the hosts to requests bearing this token (empty: to staff only).
HEALTHZ_TOKEN = env("HEALTHZ_TOKEN", default="")
# A running job whose worker has not checked in for this long is failed by the
# reaper (credit back): its worker was killed or lost its machine.
JOB_HEARTBEAT_TIMEOUT_SECONDS = env.int("JOB_HEARTBEAT_TIMEOUT_SECONDS", default=120)
# New uploads are refused (503, Retry-After) while the shared volume is fuller.
SHARED_VOLUME_MAX_FILL_PERCENT = env.float(
    "SHARED_VOLUME_MAX_FILL_PERCENT", default=90.0
)
# Downloads go through nginx's internal location in production.
SENDFILE_ACCEL_PREFIX = env("SENDFILE_ACCEL_PREFIX", default="")

# --- Where files live for good (jobs/store.py) --------------------------------
# filesystem: in SHARED_ROOT, one folder every process mounts. s3: in a bucket
# of any S3-compatible store; SHARED_ROOT is then each host's own scratch.
STORAGE_BACKEND = env("STORAGE_BACKEND", default="filesystem")
# django-storages' names. Credentials: AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or whatever else boto3 finds (an instance role).
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default="")  # empty: AWS itself
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="")
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default="") or None
# How long a presigned download link works: long enough to start a download or
# a stream, short enough not to be shared. A browser asks the link it was sent
# on to for a stem's later ranges: when that has expired, the player loads the
# stem again through us (static/js/player.js, keepConnected).
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)

# --- Webhooks (webhooks/) ----------------------------------------------------
# Off: events go to public addresses only. On: also loopback and private
# networks (tests, self-hosters whose receivers sit on their own network).
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
# Each network operation of one attempt (connect, send, first byte).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Seconds between attempts (jittered by 20%), within WEBHOOK_RETRY_HOURS.
WEBHOOK_RETRY_DELAYS = [
    float(delay)
    for delay in env.list(
        "WEBHOOK_RETRY_DELAYS",
        default=["5", "300", "1800", "7200", "18000", "36000", "36000"],
    )
]
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
# An endpoint whose every delivery failed for this long is disabled (owner told).
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=24)
WEBHOOK_WORKERS = env.int("WEBHOOK_WORKERS", default=2)

# Every uploaded file streams to disk next to its final place, never into memory.
FILE_UPLOAD_HANDLERS = ["jobs.intake.upload_handler.LimitedTemporaryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = str(SHARED_ROOT / "tmp")
DATA_UPLOAD_MAX_NUMBER_FILES = 100

# --- Square (credit packs) --------------------------------------------------
# Empty values mean "payments not configured": the buy buttons say so.
SQUARE_ACCESS_TOKEN = env("SQUARE_ACCESS_TOKEN", default="")
SQUARE_ENVIRONMENT = env("SQUARE_ENVIRONMENT", default="sandbox")  # or production
SQUARE_LOCATION_ID = env("SQUARE_LOCATION_ID", default="")
SQUARE_WEBHOOK_SIGNATURE_KEY = env("SQUARE_WEBHOOK_SIGNATURE_KEY", default="")
# The exact notification URL registered with Square: the signature covers it.
SQUARE_WEBHOOK_URL = env("SQUARE_WEBHOOK_URL", default="")
# Overrides the environment's API host (tests point it at a local fake).
SQUARE_BASE_URL = env("SQUARE_BASE_URL", default="")
SQUARE_TIMEOUT_SECONDS = env.float("SQUARE_TIMEOUT_SECONDS", default=15.0)

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous call gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.api.ApiPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Per token (per user with the session); rates below, counted in Redis.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.ApiRateThrottle"],
}
# "N/second|minute|hour|day"; an empty value turns that limit off.
API_THROTTLE_RATES = {
    "api": env("API_THROTTLE_DEFAULT", default="600/minute") or None,
    "job_create": env("API_THROTTLE_JOB_CREATE", default="30/minute") or None,
}
# A retried POST /api/v1/jobs/ with the same Idempotency-Key is answered from
# what the first one created, for this long.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 - a model name, not a secret
# knox's own migrations create its default table even when the model is swapped;
# skipping them keeps a dangling table (and its foreign key) out of the database.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mux Minus API",
    "DESCRIPTION": "Split songs into stems with demucs.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["core.api.only_api_paths"],
    # Request bodies get their own components: uploads are then binary, not URLs.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Wagtail ----------------------------------------------------------------
WAGTAIL_SITE_NAME = "Mux Minus"
# Passwords are allauth's alone (config/urls.py sends Wagtail's pages there).
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt"]

# --- Static and media -------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security ---------------------------------------------------------------
# Behind the documented nginx, which sets X-Real-IP from its own $remote_addr
# (a client's value never passes through): the client address is that header,
# for allauth's per-IP limits and the API's throttles alike (core/client_ip.py).
# Not behind a proxy, every forwarding header is ignored: a client could forge it.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)
CLIENT_IP_HEADER = "X-Real-IP" if BEHIND_PROXY else None
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def _social_login_origins() -> list[str]:
    """Where each configured provider's authorize URL lives."""
    origins = {
        "github": SOCIALACCOUNT_PROVIDERS["github"].get(
            "GITHUB_URL", "https://github.com"
        ),
        "google": "https://accounts.google.com",
        "facebook": "https://www.facebook.com",
    }
    return [
        str(origins[name]).rstrip("/")
        for name, options in SOCIALACCOUNT_PROVIDERS.items()
        if "APP" in options
    ]


# Square's hosted checkout (payment links on square.link hop to square.site).
_CHECKOUT_ORIGINS = [
    "https://square.link",
    "https://*.square.link",
    "https://*.square.site",
    "https://*.squareup.com",
    "https://*.squareupsandbox.com",
    *([SQUARE_BASE_URL.rstrip("/")] if SQUARE_BASE_URL else []),
]
# Content-Security-Policy (django-csp): scripts and styles only from our own
# static files; a script that must be inline carries {{ request.csp_nonce }}.
# form-action is kept, with the origins a form's redirect goes on to: Chrome
# applies it to the redirects after a submission, and both social sign-in
# (POST /accounts/<provider>/login/) and buying credits (POST /billing/buy/)
# answer with a redirect to another site.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *_social_login_origins(), *_CHECKOUT_ORIGINS],
    },
}
# The Wagtail admin would send editors' address hashes to gravatar.com and ask
# releases.wagtail.org for news: both leave the policy's 'self', neither is needed.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"job_id": {"()": "jobs.logs.JobIdFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s job=%(job_id)s %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["job_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
