"""Signing in to the back office: the admin site, failed sign-ins and the second factor.

Anyone who can see storytellers' identity records or consent evidence (consent officers, superusers) signs in
with a password and then a code from an authenticator app (TOTP, django-otp). Until the code is given, the
session can open nothing but the second-factor pages and sign out (archive.middleware.SecondFactorMiddleware).
"""

import base64
import io

import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Permission
from django.db.models import BooleanField, IntegerField, QuerySet, Value
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from archive.prepared import Param, PreparedQuery

# Whoever holds one of these can read who a storyteller really is, or the signed evidence of their consent.
SECOND_FACTOR_PERMISSIONS = (
    "stories.view_storytelleridentity",
    "stories.change_storytelleridentity",
    "stories.add_storytelleridentity",
    "stories.view_consentevidence",
    "stories.add_consentevidence",
)
# The name an enrolled authenticator app is kept under.
DEVICE_NAME = "Authenticator app"


def _permissions_of_user() -> QuerySet:
    """A user's own permissions and their groups', each row saying which, as ModelBackend reads them apart."""
    user = Param("user", IntegerField())
    shown = ("from_group", "content_type__app_label", "codename")
    own = Permission.objects.filter(user=user).annotate(from_group=Value(False, BooleanField())).values(*shown)
    grouped = Permission.objects.filter(group__user=user).annotate(from_group=Value(True, BooleanField()))
    return own.order_by().union(grouped.values(*shown).order_by(), all=True)


PERMISSIONS_OF_USER = PreparedQuery(_permissions_of_user)


def load_permissions(user: AbstractBaseUser) -> None:
    """Read an active user's permissions into the caches ModelBackend keeps on the user for the request.

    The same permissions ModelBackend would find, their own and their groups', in one query compiled once
    per process, where ModelBackend asks in two, each built and compiled anew: a staff request checks
    permissions on every page (the second factor's rule, then the page's), and those two queries cost it
    about a millisecond. A superuser has every permission without asking; an inactive user has none.
    """
    if not user.is_active or user.is_anonymous or user.is_superuser or hasattr(user, "_perm_cache"):
        return
    own, grouped = set(), set()
    for row in PERMISSIONS_OF_USER(user=user.pk):
        (grouped if row["from_group"] else own).add(f"{row['content_type__app_label']}.{row['codename']}")
    user._user_perm_cache = own
    user._group_perm_cache = grouped
    user._perm_cache = own | grouped


def needs_second_factor(user: AbstractBaseUser) -> bool:
    """Whether this user must give a code from an authenticator app after the password."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    # The first permission check of a staff request (archive.middleware.SecondFactorMiddleware): every later
    # one, the admin's and the translation workspace's, reads what this loads.
    load_permissions(user)
    return any(user.has_perm(permission) for permission in SECOND_FACTOR_PERMISSIONS)


def second_factor_done(user: AbstractBaseUser) -> bool:
    """Whether the session may go on: no second factor is needed, or it was given (django-otp's OTPMiddleware)."""
    return not needs_second_factor(user) or user.is_verified()


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def __init__(self, *args, device: TOTPDevice, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        allowed, _details = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(
                _("Too many wrong codes in a row. Wait a minute, then enter the code your app shows then."),
                code="throttled",
            )
        # Counts failures on the device itself, in the database: each one doubles the wait before the next try.
        if not self.device.verify_token(token):
            raise forms.ValidationError(
                _("That code is not right or has expired. Enter the code your app shows now."), code="invalid"
            )
        return token


class ArchiveAdminSite(admin.AdminSite):
    """The admin site: open only once the second factor is given by those who need one."""

    # Without the sidebar that lists every app and model on every page: drawing it, and checking the
    # user's permission on each of its models to build it, cost a change list of 25 rows about 4 ms of
    # its 24 ms of CPU (docs/back-office.md). The breadcrumbs and the index still lead everywhere.
    enable_nav_sidebar = False

    def each_context(self, request: HttpRequest) -> dict:
        if self.enable_nav_sidebar:
            return super().each_context(request)
        # Django's own, except that the list of apps and models, which only the sidebar reads (the index and
        # an app's page build their own), is built only if something draws it.
        script_name = request.META["SCRIPT_NAME"]
        return {
            "site_title": self.site_title,
            "site_header": self.site_header,
            "site_url": script_name if self.site_url == "/" and script_name else self.site_url,
            "has_permission": self.has_permission(request),
            "available_apps": SimpleLazyObject(lambda: self.get_app_list(request)),
            "is_popup": False,
            "is_nav_sidebar_enabled": False,
            "log_entries": self.get_log_entries(request),
        }

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_done(request.user)

    def get_urls(self):
        return [
            path("second-factor/", self.second_factor_view, name="second_factor"),
            path("second-factor/set-up/", self.second_factor_setup_view, name="second_factor_setup"),
            path("second-factor/set-up/key.svg", self.second_factor_qr_view, name="second_factor_qr"),
            # Open to a session that still owes its second factor too (the admin's own wrapper would refuse it).
            path("logout/", never_cache(self.logout), name="logout"),
            *super().get_urls(),
        ]

    def _next_url(self, request: HttpRequest) -> str:
        target = request.POST.get("next") or request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:index", current_app=self.name)

    def _second_factor_page(self, request: HttpRequest, template: str, context: dict) -> HttpResponse:
        context = {**self.each_context(request), "next": self._next_url(request), **context}
        response = render(request, template, context)
        add_never_cache_headers(response)
        return response

    def _pending(self, request: HttpRequest) -> HttpResponse | None:
        """Where to go instead, when this session has no second factor to give now."""
        user = request.user
        if not user.is_authenticated:
            return HttpResponseRedirect(f"{reverse('admin:login', current_app=self.name)}?next={request.path}")
        if second_factor_done(user):
            return HttpResponseRedirect(self._next_url(request))
        return None

    def _signed_in(self, request: HttpRequest, device: TOTPDevice) -> HttpResponse:
        otp_login(request, device)
        # A new session key once the session can read identities, so a key seen before is worth nothing.
        request.session.cycle_key()
        return HttpResponseRedirect(self._next_url(request))

    @method_decorator(never_cache)
    @method_decorator(sensitive_post_parameters("token"))
    def second_factor_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for the code from the authenticator app; without an enrolled app, set one up first."""
        elsewhere = self._pending(request)
        if elsewhere is not None:
            return elsewhere
        device = confirmed_device(request.user)
        if device is None:
            setup = reverse("admin:second_factor_setup", current_app=self.name)
            return HttpResponseRedirect(f"{setup}?next={self._next_url(request)}")
        form = TokenForm(request.POST or None, device=device)
        if request.method == "POST" and form.is_valid():
            return self._signed_in(request, device)
        return self._second_factor_page(
            request, "admin/second_factor.html", {"title": _("Second step of signing in"), "form": form}
        )

    @method_decorator(never_cache)
    @method_decorator(sensitive_post_parameters("token"))
    def second_factor_setup_view(self, request: HttpRequest) -> HttpResponse:
        """Enrol an authenticator app: show its key, and keep it once the app gives a right code."""
        elsewhere = self._pending(request)
        if elsewhere is not None:
            return elsewhere
        if confirmed_device(request.user) is not None:
            verify = reverse("admin:second_factor", current_app=self.name)
            return HttpResponseRedirect(f"{verify}?next={self._next_url(request)}")
        # The same key until it is confirmed, so that an app set up from an earlier page still matches.
        device, _created = TOTPDevice.objects.get_or_create(
            user=request.user, confirmed=False, defaults={"name": DEVICE_NAME}
        )
        form = TokenForm(request.POST or None, device=device)
        if request.method == "POST" and form.is_valid():
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            return self._signed_in(request, device)
        secret = base64.b32encode(device.bin_key).decode()
        return self._second_factor_page(
            request,
            "admin/second_factor_setup.html",
            {
                "title": _("Set up your authenticator app"),
                "form": form,
                "secret": " ".join(secret[start : start + 4] for start in range(0, len(secret), 4)),
                "config_url": device.config_url,
            },
        )

    @method_decorator(never_cache)
    def second_factor_qr_view(self, request: HttpRequest) -> HttpResponse:
        """The key being set up, as a QR code: to its own session only, and only until it is confirmed."""
        if self._pending(request) is not None:
            raise Http404
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
        if device is None or confirmed_device(request.user) is not None:
            raise Http404
        return HttpResponse(qr_code_svg(device.config_url), content_type="image/svg+xml")


def qr_code_svg(text: str) -> bytes:
    """The text as a QR code in SVG, for an authenticator app to scan."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=4, xmldecl=False, title=None)
    return out.getvalue()


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """Say that sign-in is paused here (django-axes' AXES_LOCKOUT_CALLABLE), never whether the password was right.

    The page names neither the account nor the address: whoever is guessing learns nothing from it.
    """
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        **admin.site.each_context(request),
        "title": _("Too many failed sign-ins"),
        "wait": ngettext("Try again in %(minutes)d minute.", "Try again in %(minutes)d minutes.", minutes)
        % {"minutes": minutes},
    }
    response = render(request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    add_never_cache_headers(response)
    return response
