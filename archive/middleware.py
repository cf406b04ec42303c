"""Site-wide response headers, and the first look at what a request carries."""

import re
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from archive.backoffice import second_factor_done
from stories.images import MAX_UPLOAD_BYTES

# The only places that take files: the back office (photos, consent evidence) and the translator's
# workspace (PO files). Everywhere else a form body is small text.
UPLOAD_PATHS = re.compile(r"/admin/|/[a-z]{2}/translate/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# When a staff member's session last saw a request (seconds since the epoch).
STAFF_SEEN_KEY = "archive_staff_seen"
# Recorded at most this often, so that a busy editor's requests do not each write the session.
STAFF_SEEN_EVERY_SECONDS = 60


def signed_in_user(request: HttpRequest):
    """The user signed in on this request, or None; a request without a session cookie (a reader's) is
    answered without reading the session, which would make the page personal and the page cache would
    share none of them."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class StaffSessionTimeoutMiddleware:
    """Sign a staff member out after ``STAFF_SESSION_IDLE_SECONDS`` without a request.

    The session itself (its row and its cookie) is also set to expire that long after the last request
    recorded, so an idle session is gone even if it is never sent again. Readers' sessions are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = signed_in_user(request)
        if user is not None and user.is_staff:
            idle = settings.STAFF_SESSION_IDLE_SECONDS
            now = int(time.time())
            seen = request.session.get(STAFF_SEEN_KEY)
            if isinstance(seen, int) and now - seen > idle:
                logout(request)
                messages.info(
                    request, _("You were signed out because the back office was not used for a while. Sign in again.")
                )
            elif not isinstance(seen, int) or now - seen >= STAFF_SEEN_EVERY_SECONDS:
                staff_seen(request.session, now)
        return self.get_response(request)


def staff_seen(session, now: int | None = None) -> None:
    """Record a staff request in the session, which then expires STAFF_SESSION_IDLE_SECONDS later."""
    session[STAFF_SEEN_KEY] = int(time.time()) if now is None else now
    session.set_expiry(settings.STAFF_SESSION_IDLE_SECONDS)


def staff_signed_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Count signing in as activity (the user_logged_in signal), so the first page after it writes nothing."""
    if request is not None and hasattr(request, "session") and user.is_staff:
        staff_seen(request.session)


class SecondFactorMiddleware:
    """Keep a session that still owes its second factor to the second-factor pages and signing out.

    Those who can see identity records or consent evidence sign in with a password and then a code
    (archive.backoffice); in between, no page of the back office, no preview and no evidence opens.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = signed_in_user(request)
        if user is not None and not second_factor_done(user):
            verify = reverse("admin:second_factor")
            owed = {verify, reverse("admin:second_factor_setup"), reverse("admin:second_factor_qr")}
            if request.path_info not in {*owed, reverse("admin:logout")}:
                return HttpResponseRedirect(f"{verify}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send the strict Content-Security-Policy on every page, the back office's included.

    Django's admin and modeltranslation's tabs keep their scripts and styles in static files, so the admin
    works under it (tests/browser/test_back_office.py watches a browser for violations); its pages show
    survivors' identities, so it needs the policy most.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


def body_limit(request: HttpRequest) -> int | None:
    """The most bytes a request to this URL may send: Django's limit for form data, and room for the
    largest file we accept where files are uploaded. None when the data is not limited."""
    data = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if data is None:
        return None
    if request.content_type == "multipart/form-data" and UPLOAD_PATHS.match(request.path_info):
        return MAX_UPLOAD_BYTES + data
    return data


def content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def csrf_would_reject_unread(request: HttpRequest) -> bool:
    """Whether CsrfViewMiddleware is sure to refuse this request without reading its body.

    It reads the body only to find the token in the form, and only after finding the CSRF cookie.
    A request that has none (a robot's, a 50 MB upload from another site), or that no view answers,
    is refused or sent to the 404 page without that read, so the body is left unread here too.
    """
    if getattr(request, "_dont_enforce_csrf_checks", False):  # As CsrfViewMiddleware: the test client.
        return False
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return True
    if getattr(match.func, "csrf_exempt", False):
        return False
    if settings.CSRF_USE_SESSIONS:
        return settings.SESSION_COOKIE_NAME not in request.COOKIES
    return settings.CSRF_COOKIE_NAME not in request.COOKIES


class RejectNulBytesMiddleware:
    """Answer any request whose path, query or form carries a NUL byte as a page that does not exist,
    and refuse a body larger than the URL takes before reading any of it.

    No real link or form sends a NUL byte, and PostgreSQL refuses text containing it, so without this
    a junk query string could turn a public page into a server error. The form is read only when
    something after this would read it anyway: never for a body that CSRF refuses unread.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            limit = body_limit(request)
            if limit is not None and content_length(request) > limit:
                return HttpResponse(
                    _("This request is too large."), status=413, content_type="text/plain; charset=utf-8"
                )
        read_form = request.method == "POST" and not csrf_would_reject_unread(request)
        if self.has_nul(request, read_form=read_form):
            from archive.views import page_not_found

            return page_not_found(request)
        return self.get_response(request)

    @staticmethod
    def has_nul(request: HttpRequest, *, read_form: bool = True) -> bool:
        if "\x00" in request.path:
            return True
        sources = [request.GET, request.POST] if read_form and request.method == "POST" else [request.GET]
        for data in sources:
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return True
        return False
