"""Error pages that never echo the request back, so hidden and missing pages look alike; the sitemap."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseServerError
from django.template import loader
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET

from archive import sitemaps
from archive.i18n import language_links


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer every missing or hidden page with the same body."""
    template = loader.get_template("404.html")
    # An empty mapping sends the switcher to each language's home page, never to this path.
    return HttpResponseNotFound(template.render({"language_links": language_links(request, {})}, request))


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """Render the error page without a request context, which could touch the database."""
    template = loader.get_template("500.html")
    context = {"language_links": language_links(request, {}), "QUICK_EXIT_URL": settings.QUICK_EXIT_URL}
    return HttpResponseServerError(template.render(context))


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """Serve the sitemap index: every page of every section, in two probes of an id index per section."""
    context = {"sitemaps": sitemaps.index_entries(timezone.now())}
    return TemplateResponse(request, "sitemap_index.xml", context, content_type="application/xml")


@require_GET
def sitemap_section(request: HttpRequest, section: str, page: int) -> HttpResponse:
    """Serve one page of one section of the sitemap, in two queries."""
    entries = sitemaps.section_entries(section, page, timezone.now())
    if entries is None:
        raise Http404
    return HttpResponse(sitemaps.urlset_xml(entries), content_type="application/xml")
