"""A serial's lists of parts, a row a part: the part page's table of contents and the story page's list.

Each row is the markup the template's loop wrote, byte for byte, with each value escaped as ``{{ }}``
escapes it and dates formatted by the ``date`` filter in the current time zone. Built in Python because a
30-part serial writes a row 30 times, and a row of template tags (an ``if``, a URL, a label, two dates)
cost more than the rest of the page's rendering together.
"""

from django import template
from django.urls import reverse
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from archive.i18n import around_key
from stories.templatetags.typography import part_labeller

register = template.Library()

# The indentation the templates' loops gave each row, kept so the page is the same to the byte.
TOC_ROW = '\n      <li class="toc__item">{}</li>\n    '
TOC_CURRENT = '<span aria-current="page">{}</span>'
TOC_LINK = '<a href="{}">{}</a>'
PART_LIST_ROW = (
    '\n        <li class="part-list__item">'
    '\n          <a class="part-list__link" href="{}">{}</a>'
    '\n          <time class="part-list__date" datetime="{}">{}</time>'
    "\n          {}"
    "\n        </li>\n      "
)
PART_LIST_SUMMARY = '<p class="part-list__summary">{}</p>'


def _format(row: str, *values) -> SafeString:
    """``format_html``, for a row a part: each value escaped as ``{{ }}`` escapes it."""
    return mark_safe(row.format(*map(conditional_escape, values)))  # noqa: S308 - every value escaped


def _joined(rows: list[str]) -> SafeString:
    return mark_safe("".join(rows))  # noqa: S308 - each row came out of format_html


def published_dates(value, date_format: str | None = None) -> tuple[str, str]:
    """``value|date:'c'`` and ``value|date:"DATE_FORMAT"``, in the current time zone; both empty without a value.

    ``date_format``: the language's DATE_FORMAT, when a list has looked it up once for all its rows.
    """
    shown = template_localtime(value)
    if shown is None:
        return "", ""
    return dateformat.format(shown, "c"), dateformat.format(shown, date_format or get_format("DATE_FORMAT"))


def part_url(part, around: dict) -> str:
    """``part.get_absolute_url()``, for a list's parts from one remembered address a story (``around_key``,
    which a URL depends on only through the slug: nothing that a write can make stale)."""
    if part.is_single_piece:
        return part.get_absolute_url()
    slug = part.story.slug
    if slug not in around:
        around[slug] = around_key("stories:part", key="number", slug=slug)
    before, after = around[slug]
    return f"{before}{part.number}{after}"


@register.simple_tag
def table_of_contents(parts, current, is_preview=False) -> SafeString:
    """The ``<li>`` of each part of the serial: the part shown named, every other one a link to it.

    In a preview, the links go to each part's preview.
    """
    rows = []
    part_label = part_labeller()
    around = {}
    for entry in parts:
        label = part_label(entry)
        if entry.pk == current.pk:
            item = _format(TOC_CURRENT, label)
        else:
            url = reverse("stories:part-preview", args=[entry.pk]) if is_preview else part_url(entry, around)
            item = _format(TOC_LINK, url, label)
        rows.append(_format(TOC_ROW, item))
    return _joined(rows)


@register.simple_tag
def part_list(parts) -> SafeString:
    """The ``<li>`` of each part on a story's page: its link, its publication date and its summary."""
    rows = []
    part_label = part_labeller()
    around = {}
    # The date filter's formats ("c" and the language's DATE_FORMAT), looked up once for the list.
    date_format = get_format("DATE_FORMAT")
    for part in parts:
        summary = part.summary
        rows.append(
            _format(
                PART_LIST_ROW,
                part_url(part, around),
                part_label(part),
                *published_dates(part.published_at, date_format),
                _format(PART_LIST_SUMMARY, summary) if summary else "",
            )
        )
    return _joined(rows)
