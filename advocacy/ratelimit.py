"""Per-client rate limits on the shared cache, and the client's address as seen through trusted proxies.

The limits fail closed: while the cache cannot be reached nothing is counted as allowed, so a form that
writes (the newsletter sign-up) asks the reader to try again later instead of writing without a limit.
The outage is logged once per process (archive.health.CACHE), not once per request.
"""

import enum
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from archive import health

KEY_PREFIX = "advocacy:rate"


class Verdict(enum.Enum):
    """What counting one attempt decided; only ALLOWED is true."""

    ALLOWED = "allowed"
    LIMITED = "limited"
    # The shared cache could not be reached, so the attempt could not be counted: refused.
    UNAVAILABLE = "unavailable"

    def __bool__(self) -> bool:
        return self is Verdict.ALLOWED


def client_ip(request: HttpRequest) -> str:
    """Return the address of the client that sent the request.

    With no trusted proxy (``ARCHIVE_TRUSTED_PROXY_COUNT = 0``) that is REMOTE_ADDR and
    X-Forwarded-For is ignored, since anyone can send it. Behind N trusted proxies, each of which
    appends the address it received the request from, the client is the right-most entry that no
    trusted proxy wrote: the N-th from the right. Entries further left were sent by the client
    itself and are never believed.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = max(0, int(getattr(settings, "ARCHIVE_TRUSTED_PROXY_COUNT", 0)))
    if trusted == 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if not forwarded:
        return remote
    candidate = forwarded[-trusted] if len(forwarded) >= trusted else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def client_key(request: HttpRequest) -> str:
    """Return an opaque key for the client's network, so that no address is ever stored in the cache.

    An IPv6 client usually holds a whole /64, so that is what is limited.
    """
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        network = "unknown"
    else:
        network = str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)
    return salted_hmac("advocacy.ratelimit.client", network).hexdigest()[:32]


def count(*, scope: str, key: str, limit: int, window: int) -> Verdict:
    """Count one attempt and say whether it is allowed: at most ``limit`` in any ``window`` seconds.

    The counters live in the shared cache (Redis in production), so every app server and process
    sees the same count; ``incr`` is atomic there. Each window of the clock has its own counter, and
    an attempt is weighed against this window's count plus the previous window's, scaled by how much
    of the previous window still lies within the last ``window`` seconds (a sliding window). A client
    therefore cannot spend its limit at the end of one window and again at the start of the next.
    A cache that cannot be reached refuses the attempt.
    """
    bucket, elapsed = divmod(time.time(), window)
    current = f"{KEY_PREFIX}:{scope}:{key}:{int(bucket)}"
    previous = f"{KEY_PREFIX}:{scope}:{key}:{int(bucket) - 1}"
    # A counter is read as the previous window's during the next window, so it outlives its own.
    timeout = 2 * window + 1
    try:
        cache.add(current, 0, timeout=timeout)
        try:
            attempts = cache.incr(current)
        except ValueError:
            # The key expired between add and incr: this is the first attempt of a new window.
            cache.add(current, 1, timeout=timeout)
            attempts = 1
        before = cache.get(previous) or 0
    except health.CACHE_ERRORS as error:
        health.CACHE.failed(error)
        return Verdict.UNAVAILABLE
    health.CACHE.recovered()
    weighed = attempts + before * (1 - elapsed / window)
    return Verdict.ALLOWED if weighed <= limit else Verdict.LIMITED


def hit(*, scope: str, key: str, limit: int, window: int) -> bool:
    """Count one attempt in the current window; return False once the key has used up its limit, or unknown."""
    return count(scope=scope, key=key, limit=limit, window=window) is Verdict.ALLOWED


def check_client(request: HttpRequest, *, scope: str, limit: int, window: int) -> Verdict:
    """Count an attempt by this request's client; the verdict says why one is refused."""
    return count(scope=scope, key=client_key(request), limit=limit, window=window)


def allow_client(request: HttpRequest, *, scope: str, limit: int, window: int) -> bool:
    """Count an attempt by this request's client and say whether it is within the limit (False when unknown)."""
    return check_client(request, scope=scope, limit=limit, window=window) is Verdict.ALLOWED


def allow_value(value: str, *, scope: str, limit: int, window: int) -> bool:
    """Count an attempt about a value, such as an address, kept in the cache only as a keyed hash."""
    key = salted_hmac(f"advocacy.ratelimit.{scope}", value).hexdigest()[:32]
    return hit(scope=scope, key=key, limit=limit, window=window)
