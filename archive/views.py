"""Error pages that never echo the request back, so hidden and missing pages look alike; the sitemap."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET

from archive import health, sitemaps
from archive.i18n import language_links

# What the database raises when it cannot be reached or stops answering (Django's wrappers of the driver's errors).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer every missing or hidden page with the same body."""
    template = loader.get_template("404.html")
    # An empty mapping sends the switcher to each language's home page, never to this path.
    return HttpResponseNotFound(template.render({"language_links": language_links(request, {})}, request))


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer a malformed request (a bad host, a suspicious operation) without saying what was wrong."""
    template = loader.get_template("400.html")
    return HttpResponseBadRequest(template.render({"language_links": language_links(request, {})}, request))


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer a page this person may not see, without saying why."""
    template = loader.get_template("403.html")
    return HttpResponseForbidden(template.render({"language_links": language_links(request, {})}, request))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Explain that a form's security check failed and how to send it again; the reason is for logs only."""
    template = loader.get_template("403.html")
    context = {"language_links": language_links(request, {}), "csrf_failed": True}
    return HttpResponseForbidden(template.render(context, request))


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """Render the error page without a request context, which could touch the database.

    When the error is the database being unreachable, answer 503 instead: the page is fine, try again soon.
    """
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_UNAVAILABLE):
        return service_unavailable(request, error)
    template = loader.get_template("500.html")
    context = {"language_links": language_links(request, {}), "QUICK_EXIT_URL": settings.QUICK_EXIT_URL}
    return HttpResponseServerError(template.render(context))


def service_unavailable(request: HttpRequest, error: BaseException) -> HttpResponse:
    """Say, in the reader's language, that the site is briefly unavailable; touch no database or session."""
    health.DATABASE.failed(error)
    # The language of the path, else of the cookie or the browser: LocaleMiddleware may not have run.
    language = translation.get_language_from_request(request, check_path=True)
    with translation.override(language):
        template = loader.get_template("503.html")
        context = {"language_links": language_links(request, {}), "QUICK_EXIT_URL": settings.QUICK_EXIT_URL}
        response = HttpResponse(template.render(context), status=503)
    response["Retry-After"] = "60"
    add_never_cache_headers(response)
    # Logged once per outage above; Django would otherwise log (and mail) every request that met it.
    response._has_been_logged = True
    return response


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """Serve the sitemap index: every page of every section, in two probes of an id index per section."""
    return HttpResponse(sitemaps.index_xml(sitemaps.index_entries(timezone.now())), content_type="application/xml")


@require_GET
def sitemap_section(request: HttpRequest, section: str, page: int) -> HttpResponse:
    """Serve one page of one section of the sitemap, in two queries."""
    entries = sitemaps.section_entries(section, page, timezone.now())
    if entries is None:
        raise Http404
    return HttpResponse(sitemaps.urlset_xml(entries), content_type="application/xml")
