"""Settings shared by every environment; the others import from here."""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean from the environment ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated list from the environment."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    # modeltranslation patches the admin, so it must come before it.
    "modeltranslation",
    # Django's admin with the archive's own site (archive.backoffice): a second factor for identity readers.
    "archive.apps.ArchiveAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "simple_history",
    # Failed sign-ins, counted and locked out per account and per address (see AXES_* below).
    "axes",
    # Codes from an authenticator app (TOTP), the second step of signing in (archive.backoffice).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "stories",
    "translations",
    "advocacy",
    "search",
    # The public read API, /api/v1/ (django-ninja; docs/api.md).
    "api",
    # The task queue (django-tasks, the backport of Django 6's tasks, and its database backend). "background"
    # comes first: its db_worker (the library's, with a heartbeat and the reaper of dead workers' tasks) wins.
    "background",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The load balancer's /healthz, answered before host validation, sessions and the page cache.
    "archive.health.HealthCheckMiddleware",
    # The read API's rate limit, CORS and HTTP caching, before anything else reads the request.
    "api.middleware.ApiMiddleware",
    # ETags on public pages; a withdrawn page answers 404, never 304.
    "django.middleware.http.ConditionalGetMiddleware",
    # Cached public pages are served from here, before sessions, CSRF and the rest, and stored here
    # with every header the middleware below adds.
    "stories.caching.PublicPageCacheMiddleware",
    "archive.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the locale, so the answer is in the reader's language; before anything reads the data.
    "archive.middleware.RejectNulBytesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks a session whose second factor was given (user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends a staff session left idle for STAFF_SESSION_IDLE_SECONDS.
    "archive.middleware.StaffSessionTimeoutMiddleware",
    # A session that owes its second factor opens nothing but the second-factor pages.
    "archive.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the audit trail.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Answers a locked-out sign-in with the lockout page (AXES_LOCKOUT_CALLABLE); last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "archive.urls"
WSGI_APPLICATION = "archive.wsgi.application"
ASGI_APPLICATION = "archive.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "archive.context_processors.language_links",
                "archive.context_processors.quick_exit",
            ],
        },
    },
]

# SQLite is the embedded default so a new machine needs nothing installed;
# production sets DATABASE_URL to its PostgreSQL server.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}


# Django's PostgreSQL backend with a health check that costs no round trip on a quiet connection.
POSTGRESQL_ENGINE = "archive.postgresql"


def on_postgresql_backend(database: dict) -> dict:
    """A PostgreSQL database on our backend (archive.postgresql), which is Django's but for its health check."""
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["ENGINE"] = POSTGRESQL_ENGINE
    return database


def with_prepared_statements(database: dict) -> dict:
    """On PostgreSQL, parameters apart from the SQL, and the statements a connection repeats prepared there.

    A statement run ``DATABASE_PREPARE_THRESHOLD`` times (default 2) on one connection is prepared, so
    PostgreSQL parses it once per connection and, once its generic plan costs no more than planning it anew,
    plans it once too: planning cost the reading pages' queries more than running them. Every reading query's
    generic plan was checked against its plan for the values at 1,000 and 100,000 parts (docs/deployment.md),
    the few that a generic plan got wrong rewritten or run with ``archive.prepared.planned_each_time``.
    ``DATABASE_PREPARED_STATEMENTS=0`` turns it off, behind a pooler that cannot keep prepared statements
    (PgBouncer in transaction mode before 1.21).
    """
    postgresql = database["ENGINE"] in ("django.db.backends.postgresql", POSTGRESQL_ENGINE)
    if postgresql and env_bool("DATABASE_PREPARED_STATEMENTS", True):
        threshold = int(os.environ.get("DATABASE_PREPARE_THRESHOLD", "2"))
        database.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": threshold})
    return database


with_prepared_statements(on_postgresql_backend(DATABASES["default"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ko", _("Korean")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language a new storyteller's and a new story's text is first written in, until an editor picks
# another: one default for both forms (stories.models.default_original_language).
DEFAULT_ORIGINAL_LANGUAGE = "en"
# Long dates as each language writes them ("March 4, 2021", "2021년 3월 4일"), over Django's defaults.
FORMAT_MODULE_PATH = ["archive.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Story text never falls back to another language: a reader must know which
# language they read, so a missing translation stays empty and is not public.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "ko")
MODELTRANSLATION_ENABLE_FALLBACKS = False
MODELTRANSLATION_FALLBACK_LANGUAGES: dict = {"default": ()}
# Which language is required depends on each story's original language (checked in clean()).
MODELTRANSLATION_REQUIRED_LANGUAGES: tuple = ()
# modeltranslation's admin tabs need jQuery UI; serve our own copy rather than load it from a CDN.
JQUERY_UI_URL = "vendor/jquery-ui/jquery-ui.min.js"

STATIC_URL = "/static/"
# Where `manage.py release` collects static files on each app server (served from there by WhiteNoise).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Consent forms and recordings: outside MEDIA_ROOT, never served except through a permission check.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private-media"))


def object_storages(
    *,
    bucket: str,
    private_bucket: str = "",
    endpoint_url: str = "",
    region_name: str = "",
    addressing_style: str = "",
) -> dict[str, dict]:
    """The media storages on S3-compatible object storage: ``media/`` and ``private/``, nothing public.

    Private files (originals, renditions, consent evidence) go under ``private/`` in ``private_bucket``,
    or in ``bucket`` when no bucket of their own is given. Credentials come from boto3's own chain
    (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the server's role), never from settings.
    """
    connection = {
        "endpoint_url": endpoint_url or None,
        "region_name": region_name or None,
        "addressing_style": addressing_style or None,
    }
    return {
        "default": {
            "BACKEND": "archive.storage.PrivateS3Storage",
            "OPTIONS": {"bucket_name": bucket, "location": "media", **connection},
        },
        "private": {
            "BACKEND": "archive.storage.PrivateS3Storage",
            "OPTIONS": {"bucket_name": private_bucket or bucket, "location": "private", **connection},
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Object storage instead of the local disk: several app servers then share no file system (docs/deployment.md).
ARCHIVE_S3_BUCKET = os.environ.get("ARCHIVE_S3_BUCKET", "").strip()
if ARCHIVE_S3_BUCKET:
    STORAGES = {
        **STORAGES,
        **object_storages(
            bucket=ARCHIVE_S3_BUCKET,
            private_bucket=os.environ.get("ARCHIVE_S3_PRIVATE_BUCKET", "").strip(),
            endpoint_url=os.environ.get("AWS_S3_ENDPOINT_URL", "").strip(),
            region_name=os.environ.get("AWS_S3_REGION_NAME", "").strip(),
            addressing_style=os.environ.get("AWS_S3_ADDRESSING_STYLE", "").strip(),
        ),
    }
elif os.environ.get("ARCHIVE_S3_PRIVATE_BUCKET", "").strip():
    raise ImproperlyConfigured("ARCHIVE_S3_PRIVATE_BUCKET needs ARCHIVE_S3_BUCKET: without it media stay on disk.")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
# Story URLs must not travel to embassy or social sites when a reader follows a link. Not
# "no-referrer": with it browsers send "Origin: null" on form posts, which fails CSRF checks.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Load balancers check each app server's health over plain HTTP (archive/health.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A form whose CSRF check failed gets a translated page saying how to send it again.
CSRF_FAILURE_VIEW = "archive.views.csrf_failure"

# One strict policy for every page, the back office's included: no inline code, no third parties.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Where the quick-exit button (and the Escape key) sends a reader who must hide the page at once: an
# everyday page an onlooker would not look at twice. A weather search is plausible in every country and
# language (the search engine answers in the reader's language) and says nothing about the archive. The
# browser requests it only when a reader uses the button. See docs/reader-safety.md before changing it.
QUICK_EXIT_URL = os.environ.get("QUICK_EXIT_URL", "https://www.google.com/search?q=weather")

LOGIN_URL = "admin:login"
# Where a sign-in without a safe `next` lands: the back office, the only place staff sign in for.
LOGIN_REDIRECT_URL = "admin:index"
# A staff session ends after this many seconds without a request (default four hours): a back-office screen
# left open on a shared or lost computer shows survivors' stories. Readers' sessions are left alone
# (archive.middleware.StaffSessionTimeoutMiddleware).
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", str(4 * 60 * 60)))

# Failed sign-ins (django-axes). After AXES_FAILURE_LIMIT failures an account, and separately an address, is
# locked out for AXES_COOLOFF_TIME (each further failure starts it again), whatever the password. Counted in
# the database every app server shares, never in a process; the address is the one the rate limits use,
# through ARCHIVE_TRUSTED_PROXY_COUNT proxies. A correct sign-in does not clear the count: with it, anyone
# holding one account could keep guessing another's password from the same address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "advocacy.ratelimit.client_ip"
AXES_LOCKOUT_CALLABLE = "archive.backoffice.locked_out"
AXES_RESET_ON_SUCCESS = False
# Successful sign-ins are not logged with their address and browser: sessions and the audit trail say who did what.
AXES_DISABLE_ACCESS_LOG = True

# The name authenticator apps show beside the account (django-otp's TOTP devices).
OTP_TOTP_ISSUER = "Testimony archive"

# Fernet keys that encrypt storytellers' identity records, newest first; older keys still decrypt,
# so a key can be rotated. Without any key the public site runs and the identity screens say so.
IDENTITY_ENCRYPTION_KEYS = env_list("IDENTITY_ENCRYPTION_KEYS")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    }
}

# Background work (photo processing, outgoing mail, PO imports, exports). Development and the tests run each
# task at once, in the process that enqueued it; production keeps them in the database for `manage.py
# db_worker` (archive/settings/production.py, docs/deployment.md).
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}
# ARCHIVE_TASKS=database tries production's queue on a developer's machine (then run `manage.py db_worker`).
if os.environ.get("ARCHIVE_TASKS", "").strip() == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A worker that has not recorded a heartbeat for this long is taken for dead, and its task run again (or
# failed after three attempts) by the other workers (background/reaper.py).
TASK_WORKER_STALE_SECONDS = int(os.environ.get("TASK_WORKER_STALE_SECONDS", "60"))

# Error reports mask identity, consent and subscriber fields whatever view they were posted to.
DEFAULT_EXCEPTION_REPORTER_FILTER = "archive.reporting.ArchiveExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # A dependency that stops answering is logged once per process and mailed to ADMINS; its return is logged.
        "archive.health": {"handlers": ["console", "mail_admins"], "level": "WARNING", "propagate": False},
        # A task that failed (with its traceback) and a task whose worker died are mailed to ADMINS too.
        "django_tasks": {"handlers": ["console", "mail_admins"], "level": "WARNING", "propagate": False},
        "background": {"handlers": ["console", "mail_admins"], "level": "WARNING", "propagate": False},
        # A withdrawn or erased storyteller's file that the store would not delete: kept and retried (privacy_audit).
        "stories.files": {"handlers": ["console", "mail_admins"], "level": "WARNING", "propagate": False},
    },
}

# Public pages are cached this long at most; a change invalidates the pages that show what changed at
# once, and this bounds how long a page can outlive an invalidation the cache never received. 0 turns
# the page cache off (stories/caching.py).
PUBLIC_PAGE_CACHE_SECONDS = int(os.environ.get("PUBLIC_PAGE_CACHE_SECONDS", "300"))

# How many reverse proxies (load balancer, CDN) sit in front of the app servers and append the
# address they received a request from to X-Forwarded-For. 0 trusts REMOTE_ADDR alone.
ARCHIVE_TRUSTED_PROXY_COUNT = int(os.environ.get("ARCHIVE_TRUSTED_PROXY_COUNT", "0"))

# Stories list this many entries a page.
STORIES_PAGE_SIZE = 12
# Entries in one page of a sitemap section; an index lists the pages, so no response grows with the archive.
# 500 keeps a page near the cost of a reading page (a full page of 2,000 took 17 ms of CPU at 100,000 parts);
# at 100,000 parts in two languages the index lists about 440 pages, far below the protocol's 50,000.
SITEMAP_PAGE_SIZE = 500
