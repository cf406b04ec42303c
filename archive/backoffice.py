"""Signing in to the back office: the admin site, failed sign-ins and the second factor."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


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
