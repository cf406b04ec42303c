"""Full-page caching of public pages that can never outlive a withdrawal.

Every cached page is keyed by a site-wide content version. Any saved or deleted story,
part, storyteller or consent record bumps the version once its transaction commits, so
the very next request misses the cache and goes back through the visibility rule. The
key also holds today's date, because consent lapses on its review-by date with no write
to bump anything.
"""

import functools
import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone, translation

CONTENT_VERSION_KEY = "archive:content-version"
# Apps whose changes can alter what a public page shows...
CONTENT_APPS = frozenset({"stories", "translations", "advocacy"})
# ...except models no public page shows: a newsletter sign-up must not empty the whole cache.
NOT_CONTENT = frozenset({"advocacy.subscriber", "advocacy.actioncount"})


def content_version() -> int:
    """Return the current content version, starting a new one if the cache lost it."""
    version = cache.get(CONTENT_VERSION_KEY)
    if version is None:
        # Start from the clock, never from 1: an evicted version must not come back with a
        # number that stale pages still in the cache were stored under.
        cache.add(CONTENT_VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(CONTENT_VERSION_KEY)
    return version


def bump_content_version() -> None:
    """Make every cached public page stale at once."""
    try:
        cache.incr(CONTENT_VERSION_KEY)
    except ValueError:
        cache.add(CONTENT_VERSION_KEY, time.time_ns(), timeout=None)


def _content_changed(sender, **kwargs) -> None:
    if sender._meta.app_label in CONTENT_APPS and sender._meta.label_lower not in NOT_CONTENT:
        # Bump now and again after commit: a page rendered from the old state between the
        # two is stored under the old version and never served after the commit.
        bump_content_version()
        transaction.on_commit(bump_content_version)


def connect_signals() -> None:
    post_save.connect(_content_changed, dispatch_uid="archive-content-saved")
    post_delete.connect(_content_changed, dispatch_uid="archive-content-deleted")
    m2m_changed.connect(_content_changed, dispatch_uid="archive-content-m2m")


def page_key(request) -> str:
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return ":".join(
        [
            "archive:page",
            str(content_version()),
            timezone.localdate().isoformat(),
            translation.get_language() or "",
            request.method,
            path,
        ]
    )


def cache_public_page(view):
    """Cache a public page's successful responses under the current content version."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in {"GET", "HEAD"}:
            return view(request, *args, **kwargs)
        key = page_key(request)
        cached = cache.get(key)
        if cached is not None:
            return cached
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        # A page that handed out a CSRF token or set a cookie is personal; never share it.
        personal = request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or response.cookies
        if response.status_code == 200 and not personal:
            cache.set(key, response, settings.PUBLIC_PAGE_CACHE_SECONDS)
        return response

    return wrapper
