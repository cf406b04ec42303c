"""What every request to /api/ gets around the views: a rate limit, CORS for reading, and HTTP caching.

Nothing the API answers is kept by the server: its responses are not in the page cache (stories.caching),
so a withdrawal is gone from the very next response on every app server. Browsers and proxies may keep
a copy but must revalidate it before each use (``Cache-Control: no-cache``); a response that has not
changed then costs a 304 instead of the body. The ETag is a hash of the body; ``Last-Modified`` is the
time of the last write to anything public (kept in the shared cache until the next write, as the page
cache's write counter moves) or the moment the clock last changed what is public (the newest part that
became due, or midnight, when consent reviews and campaign dates lapse), whichever is later.
"""

import datetime
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.utils.http import http_date
from django.utils.translation import gettext as _

from advocacy import ratelimit
from stories import caching
from stories.models import PartPublication
from stories.querysets import LANGUAGE_SCOPES

PREFIX = "/api/"
READ_METHODS = frozenset({"GET", "HEAD"})
# Requests one client network may make in a window, on every app server together (the shared cache).
REQUESTS_PER_WINDOW = 300
WINDOW_SECONDS = 60
# How long the time of the last write may outlive an invalidation the cache never received.
LAST_WRITE_SECONDS = 300

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Retry-After",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def rate_limit() -> tuple[int, int]:
    """The limit and its window in seconds: ``API_RATE_LIMIT`` (requests, seconds) in the settings."""
    limit, window = getattr(settings, "API_RATE_LIMIT", (REQUESTS_PER_WINDOW, WINDOW_SECONDS))
    return int(limit), int(window)


def error(status: int, code: str, detail: str, **headers) -> JsonResponse:
    response = JsonResponse({"code": code, "detail": detail, "errors": []}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def last_modified(language: str) -> datetime.datetime:
    """When what the API shows in the language last changed, by a write or by the clock (see above)."""
    now = timezone.now()
    written = caching.kept_until_next_write("api:last-write", timezone.now, seconds=LAST_WRITE_SECONDS)
    midnight = timezone.make_aware(datetime.datetime.combine(timezone.localdate(now), datetime.time()))
    due = PartPublication.objects.filter(language=language, published_at__lte=now).aggregate(
        newest=Max("published_at")
    )["newest"]
    return max(moment for moment in (written, midnight, due) if moment is not None)


class ApiMiddleware:
    """Place it outermost but for the security and health-check middleware: a limited client costs nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        # /api/v1/<language>/...: the API's own messages are in that language, when it is one.
        segments = request.path_info.split("/")
        language = segments[3] if len(segments) > 3 and segments[3] in LANGUAGE_SCOPES else None
        with translation.override(language or translation.get_language()):
            return self._answer(request, language)

    def _answer(self, request: HttpRequest, language: str | None) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            for name, value in PREFLIGHT_HEADERS.items():
                response[name] = value
            return response
        head = request.method == "HEAD"
        if head:
            # Answered as the GET it asks about, without the body (as Django's generic views do).
            request.method = "GET"
        if request.method in READ_METHODS:
            limit, window = rate_limit()
            verdict = ratelimit.check_client(request, scope="api", limit=limit, window=window)
            # A cache that cannot be reached counts nothing and refuses nothing: reading writes nothing,
            # and public pages stay up through a cache outage too (logged once, archive.health).
            if verdict is ratelimit.Verdict.LIMITED:
                retry = str(window - int(time.time()) % window)
                return self._cors(
                    error(429, "rate_limited", _("Too many requests. Try again in a minute."), **{"Retry-After": retry})
                )
        response = self.get_response(request)
        # LocaleMiddleware, inside, activated the Accept-Language one.
        if language:
            translation.activate(language)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            # Django's own answers (an unknown address, a method not allowed), in the API's form.
            allow = response.get("Allow")
            if response.status_code == 405:
                response = error(405, "method_not_allowed", _("The API only reads: use GET."))
            elif response.status_code == 404:
                response = error(404, "not_found", _("There is nothing at this address in the API."))
            else:
                response = error(response.status_code, "error", _("The request could not be answered."))
            if allow:
                response["Allow"] = allow
        if request.method not in READ_METHODS:
            return response
        patch_cache_control(response, no_cache=True)
        if response.status_code == 200 and not response.streaming:
            response = self._conditional(request, response)
        if head:
            request.method = "HEAD"
            response.content = b""
        return self._cors(response)

    def _conditional(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        match = getattr(request, "resolver_match", None)
        language = match.kwargs.get("language") if match else None
        modified = None
        if language in LANGUAGE_SCOPES:
            modified = last_modified(language)
            response["Last-Modified"] = http_date(modified.timestamp())
            response["Content-Language"] = language
        set_response_etag(response)
        return get_conditional_response(
            request,
            etag=response["ETag"],
            last_modified=int(modified.timestamp()) if modified else None,
            response=response,
        )

    @staticmethod
    def _cors(response: HttpResponse) -> HttpResponse:
        for name, value in CORS_HEADERS.items():
            response[name] = value
        return response
