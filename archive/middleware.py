"""Site-wide response headers."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Send the strict Content-Security-Policy on every page outside the admin."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The admin ships inline scripts of its own; it is staff-only and not cached.
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class RejectNulBytesMiddleware:
    """Answer any request whose path, query or form carries a NUL byte as a page that does not exist.

    No real link or form sends one, and PostgreSQL refuses text containing it, so without this a
    junk query string could turn a public page into a server error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.has_nul(request):
            from archive.views import page_not_found

            return page_not_found(request)
        return self.get_response(request)

    @staticmethod
    def has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
        for data in sources:
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return True
        return False
