"""The front of the page cache: a cached public page answered before Django builds a request.

Served by ``PublicPageCacheMiddleware`` (stories.caching), a hit costs one round trip to Redis and
about 0.3 ms of CPU: the WSGI request object, the URL resolver, the middleware above the cache, and
unpickling a response object. This WSGI wrapper answers the same hit from the environ with the same
one plain read and little else, so a cached page costs not much more than a static file.

It keeps the *final* bytes of a page (status, every header the whole middleware stack added, body)
under its own key, written only after Django answered the same request from the cache entry or stored
it there (``caching.ANSWERED_FROM``), only while that entry's versions still hold, with the time the
entry has left, and stamped with the write counter of that instant (``RedisPages.store_copy``). Every
invalidation moves the counter in the same atomic step as the versions, so the copy is served, by one
plain ``MGET`` of the counter and the copy, exactly while no write came since: a withdrawal, an
unpublish or any other write makes it stale in the same instant, on every app server, and the next
request for it goes to Django, which answers from the entry (warm unless the write touched the page)
and keeps the copy again.

What it leaves to Django, which answers exactly as before: anything but ``GET``; conditional
requests (``ConditionalGetMiddleware`` answers 304); paths outside a language prefix; a query
string other than the canonical one a page declares (``?x=<random>`` is answered from the cache
entry by Django and never stored here, so it adds no key); a cache that is down or that missed
invalidations (Django logs once and delivers them); and any backend but Redis.

The key holds what the middleware above the cache decides by: the scheme (HSTS is sent only over
HTTPS, and a plain-HTTP request is redirected rather than stored), the path and query, and today's
date, as the entry's own key does.
"""

import hashlib
import pickle
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils import timezone

from archive import health
from stories import caching

FRONT_PREFIX = "archive:front"

# Requests the front leaves to Django whatever the cache holds.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
MAX_PATH = 1000


class PublicPageFront:
    """WSGI middleware around Django's application: see the module's docstring."""

    def __init__(self, application: Callable) -> None:
        self.application = application
        self.prefixes = tuple(f"/{code}/" for code, _name in settings.LANGUAGES)

    def key(self, environ: dict) -> str | None:
        """The front key of this request, or None when Django must answer it."""
        if environ.get("REQUEST_METHOD") != "GET" or settings.PUBLIC_PAGE_CACHE_SECONDS <= 0:
            return None
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        if not path.startswith(self.prefixes) or len(path) + len(query) > MAX_PATH:
            return None
        if "\x00" in path or "%00" in path or "\x00" in query or "%00" in query:
            return None  # RejectNulBytesMiddleware's plain 404
        if any(name in environ for name in CONDITIONAL):
            return None
        proxy_header = settings.SECURE_PROXY_SSL_HEADER
        scheme = "\t".join(
            [environ.get("wsgi.url_scheme", ""), environ.get(proxy_header[0], "") if proxy_header else ""]
        )
        where = f"{scheme}\n{path}?{query}".encode("utf-8", "surrogateescape")
        # The site's date, as the entry's key has it (no middleware activates another time zone), read
        # without looking up the active zone.
        today = timezone.localdate(timezone=timezone.get_default_timezone()).isoformat()
        return f"{FRONT_PREFIX}:{today}:{hashlib.sha256(where).hexdigest()}"

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        key = self.key(environ)
        # Undelivered invalidations and an ongoing outage are Django's to handle (and to log once).
        if key is None or caching.has_undelivered() or health.CACHE.ongoing:
            return self.application(environ, start_response)
        store = caching.pages()
        if not isinstance(store, caching.RedisPages):
            return self.application(environ, start_response)
        try:
            page = store.fetch_copy(key)
        except caching.CACHE_ERRORS:
            return self.application(environ, start_response)
        if page is not None:
            try:
                status, headers, body = pickle.loads(page)  # noqa: S301 (our own bytes, stored below)
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
                return self.application(environ, start_response)
            start_response(status, headers)
            return [body]
        return self._answer_and_keep(store, key, environ, start_response)

    def _answer_and_keep(self, store, key: str, environ: dict, start_response: Callable) -> Iterable[bytes]:
        asked = environ.get("QUERY_STRING", "")
        answer = {}

        def keep_status(status: str, headers: list, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.application(environ, keep_status)
        entry = environ.get(caching.ANSWERED_FROM)
        keep = (
            entry is not None
            # serve() puts the canonical query in the environ: only that one is kept here.
            and environ.get("QUERY_STRING", "") == asked
            and answer.get("status", "").startswith("200 ")
            and not any(name.lower() == "set-cookie" for name, _value in answer.get("headers", ()))
        )
        if not keep:
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        page = pickle.dumps((answer["status"], answer["headers"], body), pickle.HIGHEST_PROTOCOL)
        entry_key, header = entry
        try:
            store.store_copy(key, entry_key, header, page)
        except caching.CACHE_ERRORS as error:
            health.CACHE.failed(error)
        return [body]
