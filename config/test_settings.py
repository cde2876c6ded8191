"""Test settings: real PostgreSQL and Redis, fast hashing, no e-mail sent."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("STEMWORKER_TOKEN", "test-stemworker-token")
os.environ.setdefault("DJANGO_DEBUG", "false")
# Never the embedded database of a local run (config/embedded.py).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/muxminus")

from .settings import *  # noqa: E402,F403
from .settings import env  # noqa: E402

DATABASES = {
    "default": env.db(
        "TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/muxminus"
    )
}
TEST_REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": TEST_REDIS_URL,
        "KEY_PREFIX": "muxminus-test",
    }
}
RQ_QUEUES = {
    "default": {"URL": TEST_REDIS_URL, "DEFAULT_TIMEOUT": 300},
    "stems": {"URL": TEST_REDIS_URL},
    "webhooks": {"URL": TEST_REDIS_URL, "DEFAULT_TIMEOUT": 120},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECURE_SSL_REDIRECT = False
# Each test run gets its own shared volume; tests that need a fresh one override
# it, and processes a test starts (an RQ worker) are handed the test's one.
SHARED_ROOT = Path(
    os.environ.get("MUXMINUS_TEST_SHARED_ROOT")
    or tempfile.mkdtemp(prefix="muxminus-shared-")
)
FILE_UPLOAD_TEMP_DIR = str(SHARED_ROOT / "tmp")
STEMWORKER_POLL_SECONDS = 1.0
STEMWORKER_DOWN_SECONDS = env.int("STEMWORKER_DOWN_SECONDS", default=3)
# Nothing listens here; tests that need the stemworker start one and point at it.
STEMWORKER_URL = os.environ.get("MUXMINUS_TEST_STEMWORKER_URL", "http://127.0.0.1:9")
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="muxminus-static-"))
