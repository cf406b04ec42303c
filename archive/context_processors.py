"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from archive.i18n import language_links as build_language_links


def language_links(request: HttpRequest) -> dict:
    """Offer the current page in every language; views with stricter rules override this.

    Built only if the template reads it: most reading pages give their own, and translating the path
    costs a resolve and a reverse per language.
    """
    return {"language_links": SimpleLazyObject(lambda: build_language_links(request))}


def quick_exit(request: HttpRequest) -> dict:
    """Give every page the neutral address its quick-exit control leaves for."""
    return {"QUICK_EXIT_URL": settings.QUICK_EXIT_URL}
