"""Helpers for moving a reader between the site's languages."""

import functools
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse, translate_url
from django.utils import formats, translation
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext


def localized(value) -> str:
    """``formats.localize(value)``: a value as ``{{ value }}`` writes it in the active language.

    A whole number without thousands separators is its digits, which ``localize`` finds only after
    looking up three of the language's number formats.
    """
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return str(formats.localize(value))


def in_some_language(obj, field: str, language: str | None = None, *, default: str = "—") -> str:
    """A translated field's text in the language (the active one if not given), else in another one with
    that language named: "Morning Lark (English)"; ``default`` when it has none in any language.

    For the back office, whose lists, selects and messages must name an object in either interface
    language: modeltranslation's own field reads the active language alone, and is "" there.
    """
    language = language or translation.get_language()
    shown = (getattr(obj, f"{field}_{language}", None) or "").strip()
    if shown:
        return shown
    for code, name in settings.LANGUAGES:
        other = (getattr(obj, f"{field}_{code}", None) or "").strip()
        if other:
            return gettext("{text} ({language})").format(text=other, language=name)
    return default


def absolute_url(path: str) -> str:
    """Return the path on the configured site (SITE_URL), never on the Host a request named.

    Pages are cached and shared, so a link built from one reader's Host would reach every reader.
    """
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"absolute_url() takes a path on this site, such as /en/stories/, not {path!r}.")
    return settings.SITE_URL.rstrip("/") + iri_to_uri(path)


@functools.lru_cache(maxsize=16384)
def _reversed(viewname: str, kwargs: tuple, language: str | None, prefix: str, urlconf: str | None) -> str:
    return reverse(viewname, kwargs=dict(kwargs))


def reverse_page(viewname: str, **kwargs) -> str:
    """``reverse()`` for the links a page repeats (every part of a serial, every campaign), remembered.

    A URL depends only on the name, the arguments, the language prefix, the script prefix and the URLconf,
    all of which are in the key; reversing the same ones again costs a fifth of a page's rendering.
    """
    return _reversed(
        viewname,
        tuple(sorted(kwargs.items())),
        translation.get_language(),
        get_script_prefix(),
        get_urlconf(settings.ROOT_URLCONF),
    )


# A key no object has, replaced in a reversed address by each real one (around_key).
KEY_PLACEHOLDER = 987654321


def around_key(viewname: str, key: str = "pk", **kwargs) -> tuple[str, str]:
    """The address of ``viewname`` for any integer ``key``, as what comes before and after the key.

    For a list that draws a link a row: one remembered ``reverse_page`` for every row, each row's link
    then ``f"{before}{pk}{after}"``. ``kwargs`` are the address's other arguments.
    """
    address = reverse_page(viewname, **kwargs, **{key: KEY_PLACEHOLDER})
    before, _found, after = address.partition(str(KEY_PLACEHOLDER))
    return before, after


def x_default_language(codes: Iterable[str]) -> str | None:
    """The language a page's ``x-default`` alternate points to, among those it exists in.

    The site's default language (LANGUAGE_CODE, English) when the page exists in it: the one a searcher
    whose language is neither is likelier to read, and the same choice on every page. Otherwise the
    first language of LANGUAGES the page exists in. None for a page in no language.
    """
    codes = set(codes)
    for code in [settings.LANGUAGE_CODE, *(code for code, _name in settings.LANGUAGES)]:
        if code in codes:
            return code
    return None


def hreflang_links(urls: dict[str, str]) -> list[dict]:
    """The ``<link rel="alternate" hreflang>`` entries of a page: one per language it exists in, and x-default."""
    links = [{"code": code, "url": absolute_url(url)} for code, url in urls.items()]
    default = x_default_language(urls)
    if default is not None:
        links.append({"code": "x-default", "url": absolute_url(urls[default])})
    return links


def home_url(language: str) -> str:
    """Return the home page in the given language (remembered, as ``reverse_page`` remembers it)."""
    if language == translation.get_language():
        return reverse_page("stories:home")
    with translation.override(language):
        return reverse_page("stories:home")


def language_links(request: HttpRequest, urls: dict[str, str] | None = None) -> list[dict]:
    """Return one switcher entry per language.

    ``urls`` maps a language to the same page in that language. Without it the
    current path is translated; a language missing from it links to that
    language's home page, so the switcher never leads to a 404.
    """
    current = translation.get_language()
    links = []
    for code, name in settings.LANGUAGES:
        if urls is None:
            url = translate_url(request.path, code)
        else:
            url = urls.get(code) or home_url(code)
        links.append(
            {
                "code": code,
                "name": translation.get_language_info(code)["name_local"],
                "label": name,
                "url": url,
                "is_current": code == current,
            }
        )
    return links
