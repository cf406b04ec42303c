"""Settings for production: everything secret or site-specific comes from the environment."""

import os
from email.utils import getaddresses
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, env_bool, env_list

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment for production.")
# Former secret keys, still accepted for signatures (sessions, newsletter links) while they expire: how a
# key is rotated without signing everyone out and breaking the links already mailed (docs/deployment.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment for production.")

if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must point at the PostgreSQL database in production.")
# Each gunicorn worker keeps its connection between requests (opening one costs PostgreSQL a new backend
# process, several milliseconds a request), checked before reuse so a restarted server is not noticed
# (archive.postgresql: without a round trip while the connection is quiet).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Several app servers share one cache, so it lives in Redis, never in process memory: a
# withdrawal bumps the page versions there, and every server must see it at once (and the
# newsletter's rate limits must count across servers).
if not os.environ.get("REDIS_URL"):
    raise ImproperlyConfigured("REDIS_URL must point at the shared Redis cache in production.")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        # A cache that does not answer within a second counts as down: pages render uncached rather than wait.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# Canonical and hreflang links name this site, never the Host of whoever asked first: pages are cached
# and shared between readers (archive.i18n.absolute_url).
SITE_URL = os.environ.get("SITE_URL", "").strip().rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.netloc or _site.path or _site.query or _site.fragment:
    raise ImproperlyConfigured(
        "SITE_URL must be set in the environment for production: the site's origin, e.g. https://archive.example.org."
    )

# Static files are served by the app servers themselves, compressed and with far-future cache headers.
MIDDLEWARE = [*MIDDLEWARE[:1], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Tasks wait in the database until a worker (`manage.py db_worker`, docs/deployment.md) runs them. Enqueued
# in the transaction of the change that asks for them, they commit with it or not at all (background/queue.py).
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading protects a reader's very first visit from a network that strips HTTPS; it commits the domain
# and all its subdomains to HTTPS for a long time. SECURE_HSTS_PRELOAD=false is a deliberate choice, and
# then the deployment check's reminder about it is silenced.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Who receives error reports by email: ADMINS="Name <ops@example.org>, Other <other@example.org>".
ADMINS = [(name or address, address) for name, address in getaddresses([os.environ.get("ADMINS", "")]) if address]
if any("@" not in address for _name, address in ADMINS):
    raise ImproperlyConfigured('ADMINS must be a comma-separated list of addresses, e.g. "Name <ops@example.org>".')

# Optional error reports to Sentry, scrubbed of request bodies, cookies, local variables and addresses.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "").strip()
if SENTRY_DSN:
    from archive.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=os.environ.get("SENTRY_ENVIRONMENT", "production"))
