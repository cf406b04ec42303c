"""Markdown rendering and HTML sanitising: the only module that knows about bleach.

Everything that turns editor-written text into HTML for readers goes through
``render_markdown``; nothing else in the project may import bleach, so that
replacing it (it has reached its end of life) touches this file alone. Only
output of this module may be marked safe in templates.
"""

import re
import unicodedata
from html import unescape
from html.entities import html5 as HTML5_ENTITIES

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
# A scheme as a browser reads one: an ASCII letter, then ASCII letters, digits, "+", "-" or ".", then ":".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# "//host" and its backslash spellings: browsers resolve them against the page's own http(s) scheme.
_NETWORK_PATH = re.compile(r"[/\\]{2}")
# Character references, as html.unescape finds them.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def _scheme(url: str) -> str | None:
    """Return the lower-cased scheme, "" for a relative URL, or None when a colon comes after something
    that is not a scheme ("x y:z", "１:2"), which is refused rather than guessed at."""
    head = re.split(r"[/?#]", url, maxsplit=1)[0]
    if ":" not in head:
        return ""
    match = _SCHEME.match(head)
    return match.group(1).lower() if match else None


def clean_url(value: str) -> str | None:
    """Return the URL without control or invisible characters, or None when its scheme is not allowed.

    ``value`` is the URL itself, not HTML: character references must already be decoded.
    """
    cleaned = "".join(
        char
        for char in _URL_JUNK.sub("", value)
        # Cc: control characters; Cf: invisible format characters such as zero-width spaces.
        if unicodedata.category(char) not in {"Cc", "Cf", "Zs", "Zl", "Zp"}
    )
    if not cleaned:
        return None
    scheme = _scheme(cleaned)
    if scheme is None or (scheme and scheme not in ALLOWED_SCHEMES):
        return None
    # "ｊａｖａｓｃｒｉｐｔ：" is no scheme to a browser, but it folds into one under NFKC, which other
    # software reading the stored HTML (feeds, exports, search) may apply. No honest link looks like that.
    folded = _scheme(unicodedata.normalize("NFKC", cleaned))
    if folded and folded not in ALLOWED_SCHEMES:
        return None
    return cleaned


def _decode_attribute(value: str) -> str:
    """Decode character references in an attribute value the way browsers do.

    bleach hands attribute values over with their references still encoded, and its serialiser
    writes well-formed references back out as they are. Checking the encoded text is therefore
    checking something other than what the browser follows: "javascript&#5\u200b8;" passes as
    text with no colon, then loses its zero-width space and becomes "javascript&#58;".
    """

    def replace(match: re.Match) -> str:
        ref = match.group(1)
        if ref.startswith("#"):
            return unescape(match.group(0))
        for end in range(len(ref), 1, -1):  # The longest known name wins, as in the HTML standard.
            name = ref[:end]
            if name in HTML5_ENTITIES:
                following = ref[end : end + 1] or match.string[match.end() : match.end() + 1]
                # Inside attributes, a legacy name without ";" before "=" or a letter or digit stays
                # literal, so that query strings such as "?a=1&copy=2" survive.
                if not name.endswith(";") and (following == "=" or (following.isascii() and following.isalnum())):
                    return match.group(0)
                return HTML5_ENTITIES[name] + ref[end:]
        return match.group(0)

    return _CHARREF.sub(replace, value)


def _encode_attribute(url: str) -> str:
    # The serialiser keeps anything shaped like a reference, so a decoded "&#58;" would be decoded
    # once more by the browser. Writing every "&" as "&amp;" makes the browser see exactly ``url``.
    return url.replace("&", "&amp;")


def _is_external(url: str) -> bool:
    scheme = _scheme(url)
    return scheme in EXTERNAL_SCHEMES or (scheme == "" and _NETWORK_PATH.match(url) is not None)


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name in URL_ATTRIBUTES:
        return clean_url(_decode_attribute(value)) is not None
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
    """Store URLs as checked, in a form the browser decodes to exactly that, and mark external links
    noopener and nofollow."""

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in {"StartTag", "EmptyTag"} and token["name"] in {"a", "img"}:
                attrs = dict(token["data"])
                href = ""
                for key in list(attrs):
                    _namespace, name = key
                    if name in URL_ATTRIBUTES:
                        cleaned = clean_url(_decode_attribute(attrs[key]))
                        if cleaned is None:
                            del attrs[key]
                        else:
                            attrs[key] = _encode_attribute(cleaned)
                            if key == (None, "href"):
                                href = cleaned
                if token["name"] == "a":
                    attrs.pop((None, "rel"), None)
                    if _is_external(href):
                        attrs[(None, "rel")] = EXTERNAL_REL
                token["data"] = attrs
            yield token


class _PreNewlineFilter(Filter):
    """Put back the newline that parsing drops straight after <pre>.

    Without it "<pre>\\n\\ncode" loses a line on every pass, and sanitising never settles.
    """

    def __iter__(self):
        after_pre = False
        for token in super().__iter__():
            if after_pre and token["type"] in {"Characters", "SpaceCharacters"} and token["data"].startswith("\n"):
                token = {**token, "data": "\n" + token["data"]}
            after_pre = token["type"] == "StartTag" and token["name"] == "pre"
            yield token


class _AttributeEscapeFilter(Filter):
    """Write '"' and '>' in attribute values as references, to keep bleach's serialiser on track.

    Values here are HTML text, references still encoded, and the serialiser writes them out with
    "&" doubled; bleach then undoes the doubling, but only while it believes it is inside a double-
    quoted value. A '"' in a value makes the serialiser switch to single quotes, and a value of just
    ">" looks to bleach like the end of the tag: either way "&amp;" came out as "&amp;amp;", so the
    browser read something other than what was checked, and every pass grew the value.
    """

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in {"StartTag", "EmptyTag"} and token["data"]:
                token["data"] = {
                    key: value.replace('"', "&quot;").replace(">", "&gt;") for key, value in token["data"].items()
                }
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
        filters=[_DropElementsFilter, _LinkFilter, _PreNewlineFilter, _AttributeEscapeFilter],
    )
    return cleaner.clean(html)


def render_markdown(text: str) -> str:
    """Render Markdown to sanitised HTML ready to store and show to readers."""
    if not text.strip():
        return ""
    return sanitize_html(markdown.markdown(text, extensions=["sane_lists"], output_format="html")).strip()


def render_translated_markdown(obj, save_kwargs: dict, *, derived: dict | None = None) -> None:
    """Render ``body_<lang>`` into ``body_html_<lang>`` for every language before a model saves.

    ``derived`` maps further per-language fields to functions of (html, language), such as a
    reading time. A save limited by ``update_fields`` to the body saves what is derived from it too.
    """
    from django.conf import settings

    derived = derived or {}
    for code, _name in settings.LANGUAGES:
        html = render_markdown(getattr(obj, f"body_{code}") or "")
        setattr(obj, f"body_html_{code}", html)
        for field, compute in derived.items():
            setattr(obj, f"{field}_{code}", compute(html, code))
    update_fields = save_kwargs.get("update_fields")
    if update_fields is not None and any(name.startswith("body") for name in update_fields):
        save_kwargs["update_fields"] = {
            *update_fields,
            *(f"{field}_{code}" for field in ("body_html", *derived) for code, _name in settings.LANGUAGES),
        }
