"""Markdown rendering and HTML sanitising: the only module that knows about bleach.

Everything that turns editor-written text into HTML for readers goes through
``render_markdown``; nothing else in the project may import bleach, so that
replacing it (it has reached its end of life) touches this file alone. Only
output of this module may be marked safe in templates.
"""

import re
import unicodedata
from urllib.parse import urlsplit

import bleach
import markdown
from bleach.html5lib_shim import Filter

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i",
        "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title"],
    "abbr": ["title"],
    "img": ["src", "alt", "title"],
}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_SCHEMES = frozenset({"http", "https"})
EXTERNAL_REL = "noopener nofollow"

# Elements whose contents are code or foreign markup: removed with everything inside,
# never left behind as visible text.
DROPPED_ELEMENTS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
        "noembed", "noframes", "template", "textarea", "select", "option", "title", "xmp",
        "plaintext", "svg", "math", "head", "form", "button", "input", "canvas", "video", "audio",
    }
)  # fmt: skip

URL_ATTRIBUTES = frozenset({"href", "src"})
# Whitespace and the ASCII controls, which browsers ignore inside a URL scheme.
_URL_JUNK = re.compile(r"[\x00-\x20\x7f-\xa0]")


def clean_url(value: str) -> str | None:
    """Return the URL without control or invisible characters, or None when its scheme is not allowed."""
    cleaned = "".join(
        char
        for char in _URL_JUNK.sub("", value)
        # Cc: control characters; Cf: invisible format characters such as zero-width spaces.
        if unicodedata.category(char) not in {"Cc", "Cf", "Zs", "Zl", "Zp"}
    )
    if not cleaned:
        return None
    scheme = urlsplit(cleaned).scheme.lower() if ":" in cleaned.split("/", 1)[0].split("?", 1)[0] else ""
    if scheme and scheme not in ALLOWED_SCHEMES:
        return None
    if not scheme and ":" in cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        # Something like "x:y" that urlsplit would not call a scheme: refuse rather than guess.
        return None
    return cleaned


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name in URL_ATTRIBUTES:
        return clean_url(value) is not None
    return True


class _DropElementsFilter(Filter):
    """Remove dangerous elements together with their contents."""

    def __iter__(self):
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            name = token.get("name", "").lower() if kind in {"StartTag", "EndTag", "EmptyTag"} else ""
            if name in DROPPED_ELEMENTS:
                if kind == "StartTag":
                    depth += 1
                elif kind == "EndTag" and depth:
                    depth -= 1
                continue
            if depth:
                continue
            yield token


class _LinkFilter(Filter):
    """Store URLs in their cleaned form and mark external links noopener and nofollow."""

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in {"StartTag", "EmptyTag"} and token["name"] in {"a", "img"}:
                attrs = dict(token["data"])
                for key in list(attrs):
                    _namespace, name = key
                    if name in URL_ATTRIBUTES:
                        cleaned = clean_url(attrs[key])
                        if cleaned is None:
                            del attrs[key]
                        else:
                            attrs[key] = cleaned
                if token["name"] == "a":
                    attrs.pop((None, "rel"), None)
                    href = attrs.get((None, "href"), "")
                    if urlsplit(href).scheme.lower() in EXTERNAL_SCHEMES:
                        attrs[(None, "rel")] = EXTERNAL_REL
                token["data"] = attrs
            yield token


def sanitize_html(html: str) -> str:
    """Return HTML reduced to the allowlist; safe to run more than once."""
    # A Cleaner is not thread-safe, and this runs on save only, so build one per call.
    # The sanitiser lets the dropped elements through only so that the filter after it
    # removes them whole, before anything is serialised.
    cleaner = bleach.sanitizer.Cleaner(
        tags=ALLOWED_TAGS | DROPPED_ELEMENTS,
        attributes=_allow_attribute,
        protocols=ALLOWED_SCHEMES,
        strip=True,
        strip_comments=True,
        filters=[_DropElementsFilter, _LinkFilter],
    )
    return cleaner.clean(html)


def render_markdown(text: str) -> str:
    """Render Markdown to sanitised HTML ready to store and show to readers."""
    if not text.strip():
        return ""
    return sanitize_html(markdown.markdown(text, extensions=["sane_lists"], output_format="html")).strip()
