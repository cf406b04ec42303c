"""Settings for `manage.py bench` only: production's request path, runnable on this machine.

DEBUG off, WhiteNoise and the production middleware, the compressed manifest storage and Redis as the
cache (when REDIS_URL is set), but a published secret key, plain HTTP on 127.0.0.1, any database and a
fixed identity key. So that no server ever starts with it by mistake, it refuses to load unless
ARCHIVE_BENCH=1 is set, which only the bench command does for the servers it starts.

Environment: BENCH_DATABASE (a database URL, or the path of a SQLite file; else DATABASE_URL; else the
demo's db.sqlite3), REDIS_URL and BENCH_CACHE_PREFIX, PUBLIC_PAGE_CACHE_SECONDS, SITE_URL,
BENCH_STATIC_ROOT, IDENTITY_ENCRYPTION_KEYS.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    BASE_DIR,
    IDENTITY_ENCRYPTION_KEYS,
    MIDDLEWARE,
    STORAGES,
    on_postgresql_backend,
    with_prepared_statements,
)

if os.environ.get("ARCHIVE_BENCH") != "1":
    raise ImproperlyConfigured(
        "archive.settings.bench is for `manage.py bench` alone: it has a published secret key. "
        "Servers use archive.settings.production."
    )

DEBUG = False
# Published on purpose: sessions the bench creates for staff pages must be valid in the servers it starts.
SECRET_KEY = "bench-only-not-secret-5c1d9e7a"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


def bench_database(value: str) -> dict:
    """A database URL, or the path of a SQLite file."""
    if "://" not in value:
        value = f"sqlite:///{Path(value).resolve()}"
    # As in production (archive/settings/production.py): connections kept between requests, checked first.
    return with_prepared_statements(
        on_postgresql_backend(
            dj_database_url.parse(
                value, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")), conn_health_checks=True
            )
        )
    )


DATABASES = {
    "default": bench_database(
        os.environ.get("BENCH_DATABASE") or os.environ.get("DATABASE_URL") or str(BASE_DIR / "db.sqlite3")
    )
}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            # Every run has its own prefix, so it reads no page another run (or anything else) stored.
            "KEY_PREFIX": os.environ.get("BENCH_CACHE_PREFIX", "archive-bench"),
        }
    }

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").strip().rstrip("/")

# As production.py: static files served by the app servers, compressed, with far-future headers.
MIDDLEWARE = [*MIDDLEWARE[:1], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Outside the checkout, so a bench run never changes the files a developer collected.
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", Path(tempfile.gettempdir()) / "archive-bench-static"))

# As production, except that the servers answer plain HTTP on 127.0.0.1.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# A fixed key when none is given, so identity screens work; the bench command passes the developer's own.
IDENTITY_ENCRYPTION_KEYS = IDENTITY_ENCRYPTION_KEYS or ["3VrNc-G0wO48DneBrXpIXS6oGGx7hki6TBeP8u5JCpo="]
