"""``{% share_meta share %}``: what a shared link shows (Open Graph, Twitter card) and the page's structured data.

From the view's share card (``stories.covers``). Every value is escaped for its attribute as ``{{ }}``
escapes it; the JSON-LD was escaped for a script element by ``stories.covers.json_ld``. A data block:
browsers never execute ``application/ld+json``, so the CSP's ``script-src 'self'`` is not involved.

Written in Python, to the byte what the template include wrote (tests/stories/test_part_page_markup.py):
twenty values and five conditions cost an include more than the rest of the page's head.
"""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from archive.i18n import localized

register = template.Library()

# Each line as the include had it: the value it writes, and whether a line without one is left blank
# (its indentation only) rather than written with an empty value.
LINES = (
    ("type", '<meta property="og:type" content="{}">', False),
    ("site_name", '<meta property="og:site_name" content="{}">', False),
    ("locale", '<meta property="og:locale" content="{}">', False),
    ("title", '<meta property="og:title" content="{}">', False),
    ("description", '<meta property="og:description" content="{}">', True),
    ("url", '<meta property="og:url" content="{}">', False),
    ("image.url", '<meta property="og:image" content="{}">', False),
    ("image.type", '<meta property="og:image:type" content="{}">', False),
    ("image.width", '<meta property="og:image:width" content="{}">', False),
    ("image.height", '<meta property="og:image:height" content="{}">', False),
    ("image.alt", '<meta property="og:image:alt" content="{}">', True),
    ("published_time", '<meta property="article:published_time" content="{}">', True),
    (None, '<meta name="twitter:card" content="summary_large_image">', False),
    ("title", '<meta name="twitter:title" content="{}">', False),
    ("description", '<meta name="twitter:description" content="{}">', True),
    ("image.url", '<meta name="twitter:image" content="{}">', False),
    ("image.alt", '<meta name="twitter:image:alt" content="{}">', True),
    ("json_ld", '<script type="application/ld+json">{}</script>', False),
)
INDENT = "  "


def _value(share: dict, path: str):
    """``share.image.alt`` as a template reads it: a missing key is empty."""
    value = share
    for key in path.split("."):
        value = value.get(key, "") if isinstance(value, dict) else ""
    return value


@register.simple_tag
def share_meta(share: dict) -> SafeString:
    """The share card's ``<meta>`` tags and JSON-LD, a line each."""
    lines = [""]
    for path, markup, optional in LINES:
        if path is None:
            lines.append(INDENT + markup)
            continue
        value = _value(share, path)
        if optional and not value:
            lines.append(INDENT)
        else:
            lines.append(INDENT + markup.format(conditional_escape(localized(value))))
    return mark_safe("\n".join(lines) + "\n")  # noqa: S308 - every value is escaped above
