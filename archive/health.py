"""The load balancer's health check, and one log line per outage of a dependency instead of one per request.

``/healthz`` is answered by ``HealthCheckMiddleware``, before host validation, the HTTPS redirect, sessions
and the page cache: a load balancer asks each app server directly, often by its address, over plain HTTP.
It checks the database, the cache and the storage, answers 200 when all three work and 503 when one does
not, and says nothing but ``ok`` or ``failed`` for each. It is never cached and is in no sitemap.
"""

import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable

import redis
from django.core.cache import caches
from django.core.files.storage import FileSystemStorage, storages
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"

# What a failing cache raises: redis-py's errors, and the socket errors other clients let through.
CACHE_ERRORS = (redis.RedisError, OSError)


class Outage:
    """Whether a dependency is failing in this process: logged when it starts failing and when it answers again.

    During an outage every request would otherwise log the same error (and mail it to ADMINS), so
    ``failed()`` logs only the first failure and ``recovered()`` the end, with how long it lasted.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._failures += 1
            first = self._since is None
            if first:
                self._since = time.monotonic()
        if first:
            logger.error(
                "%s cannot be used (%s). Logged once: this process logs again when it answers.",
                self.name,
                type(error).__name__,
                exc_info=(type(error), error, error.__traceback__),
            )

    def recovered(self) -> None:
        if self._since is None:  # the usual case, without taking the lock
            return
        with self._lock:
            if self._since is None:
                return
            seconds = time.monotonic() - self._since
            failures = self._failures
            self._since = None
            self._failures = 0
        logger.warning(
            "%s answers again, after %.0f s and %d failed uses in this process.", self.name, seconds, failures
        )


DATABASE = Outage("The database")
CACHE = Outage("The cache (Redis)")


def _database_connected(sender, connection, **kwargs) -> None:
    # A new connection is the first sign that the database is back.
    if connection.alias == DEFAULT_DB_ALIAS:
        DATABASE.recovered()


connection_created.connect(_database_connected, dispatch_uid="archive-health-database-connected")


# --- The checks ----------------------------------------------------------------------------------


def check_database() -> bool:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure is a failed check, never a 500
        DATABASE.failed(error)
        return False
    DATABASE.recovered()
    return True


def check_cache() -> bool:
    key = f"archive:health:{os.getpid()}"
    value = secrets.token_hex(8)
    try:
        cache = caches["default"]
        cache.set(key, value, timeout=30)
        answered = cache.get(key) == value
    except Exception as error:  # any failure is a failed check, never a 500
        CACHE.failed(error)
        return False
    if answered:
        CACHE.recovered()
    return answered


def check_storage() -> bool:
    """Write and remove a file in every local storage (public media and private files).

    Object storage comes in a later change; until then both storages are directories on this server.
    """
    try:
        for alias in ("default", "private"):
            storage = storages[alias]
            if not isinstance(storage, FileSystemStorage):
                continue
            os.makedirs(storage.location, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=storage.location, prefix=".healthz-"):
                pass
    except Exception:  # any failure is a failed check, never a 500
        logger.warning("The storage health check failed.", exc_info=True)
        return False
    return True


CHECKS: dict[str, Callable[[], bool]] = {
    "database": check_database,
    "cache": check_cache,
    "storage": check_storage,
}


def health(request: HttpRequest) -> HttpResponse:
    """Answer 200 when every dependency works and 503 when one does not, naming only which."""
    if request.method not in {"GET", "HEAD"}:
        return HttpResponseNotAllowed(["GET", "HEAD"])
    results = {name: check() for name, check in CHECKS.items()}
    healthy = all(results.values())
    response = JsonResponse(
        {name: "ok" if ok else "failed" for name, ok in results.items()}, status=200 if healthy else 503
    )
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    # A failing check is logged once per outage (Outage above); Django would log, and mail, every 503.
    response._has_been_logged = True
    return response


class HealthCheckMiddleware:
    """Answer the health check before anything that validates the host, redirects or reads a session.

    Place it right after SecurityMiddleware (WhiteNoise may sit between them); ``SECURE_REDIRECT_EXEMPT``
    lets the check through over plain HTTP.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH:
            return health(request)
        return self.get_response(request)
