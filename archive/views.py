"""Error pages that never echo the request back, so hidden and missing pages look alike."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

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
