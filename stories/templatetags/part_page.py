"""The lines a part's page writes about it: its date, reading time and teller, its opening parts, its feed,
its content warnings (the story page's too).

Each is the markup the template's tags wrote, byte for byte (tests/stories/test_part_page_markup.py):
values escaped and localised as ``{{ }}`` writes them, dates formatted by the ``date`` filter in the
current time zone, the catalogue's text trusted as ``{% blocktranslate %}`` trusts it. Built in Python
because a ``{% blocktranslate %}``, a ``{% url %}`` or a date filter costs several times the few string
operations it comes to, and a part page wrote eight of them.
"""

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from archive.i18n import reverse_page
from stories.templatetags.contents import part_url, published_dates
from stories.templatetags.typography import blocktranslated

register = template.Library()

DATE = (
    '<time class="part__date" datetime="{}">{}</time><span class="part__meta-separator" aria-hidden="true">'
    "&nbsp;·</span>"
)
READING_TIME = (
    '<span class="part__reading-time">{}</span><span class="part__meta-separator" aria-hidden="true">&nbsp;·</span>'
)
TELLER = '<span class="part__teller">{}</span>'
# The indentation of the template's lines, kept so the page is the same to the byte.
META_LINE = "\n      "


@register.simple_tag
def part_meta(part, story) -> SafeString:
    """The lines of ``<p class="part__meta">``: when the part came out, how long it takes to read, who told it."""
    lines = []
    lines.append(format_html(DATE, *published_dates(part.published_at)) if part.published_at else "")
    minutes = part.reading_minutes
    if minutes:
        message = ngettext("%(minutes)s minute read", "%(minutes)s minute read", minutes)
        lines.append(format_html(READING_TIME, blocktranslated(message, minutes=minutes)))
    else:
        lines.append("")
    lines.append(format_html(TELLER, told_by(story.storyteller.pseudonym)))
    return mark_safe(META_LINE + META_LINE.join(lines) + "\n    ")  # noqa: S308 - each line came out of format_html


@register.filter
def told_by(name: str) -> SafeString:
    """ "Told by Joy", the pseudonym escaped: ``{{ pseudonym|told_by }}`` for the cards' blocktranslate."""
    return blocktranslated(gettext("Told by %(name)s"), name=name)


OPENING = '<a href="{}">{}</a>'
OPENING_SEPARATOR = "&nbsp;· "


@register.simple_tag
def opening_links(parts) -> SafeString:
    """ "Part 1 · Part 2": a link to each of the serial's opening parts, for a reader arriving mid-serial."""
    message = gettext("Part %(number)s")
    around = {}
    links = [
        format_html(OPENING, part_url(part, around), blocktranslated(message, number=part.number)) for part in parts
    ]
    return mark_safe(OPENING_SEPARATOR.join(links))  # noqa: S308 - each link came out of format_html


@register.simple_tag
def all_parts_title(story) -> SafeString:
    """ "All parts of Joy's Story": the heading of the serial's table of contents."""
    return blocktranslated(gettext("All parts of %(story)s"), story=story.title)


FEED = '<link rel="alternate" type="application/atom+xml" title="{}" href="{}">'


@register.simple_tag
def story_feed_link(story) -> SafeString:
    """The ``<link rel="alternate">`` to the Atom feed of the story's new parts."""
    title = blocktranslated(gettext("New parts of %(story)s"), story=story.title)
    return format_html(FEED, title, reverse_page("stories:story-feed", slug=story.slug))


WARNINGS = (
    '\n<aside class="content-warning{gated}" aria-labelledby="content-warning-title">\n'
    '  <h2 class="content-warning__title" id="content-warning-title">{title}</h2>\n'
    "  <p>{describes}</p>\n"
    '  <ul class="content-warning__list">\n'
    "    {items}\n"
    "  </ul>\n"
    "  \n"
    "  {note}\n"
    "</aside>\n\n"
)
WARNINGS_NOTE = (
    '<p class="content-warning__note"><span class="content-warning__while-hidden">{hidden} </span>{leave}</p>'
)


@register.simple_tag
def content_warnings(warnings, gate: bool = False) -> SafeString:
    """The story's content warnings, before its text: on the part page (``gate``) the text stays folded
    until the reader chooses to continue, and the note says so. Nothing without warnings."""
    if not warnings:
        return mark_safe("\n")  # noqa: S308 - a line break
    note = ""
    if gate:
        note = WARNINGS_NOTE.format(
            hidden=gettext("The story stays hidden until you choose to continue."),
            leave=gettext("You can stop here, and leave at any time with Quick exit."),
        )
    # The catalogue's text trusted as {% translate %} trusts it; each label escaped.
    return mark_safe(  # noqa: S308
        WARNINGS.format(
            gated=" content-warning--gated" if gate else "",
            title=gettext("Content warning"),
            describes=gettext("This story describes:"),
            items="".join(f"<li>{conditional_escape(warning.label)}</li>" for warning in warnings),
            note=note,
        )
    )


@register.simple_tag
def warning_gate_key(story, warnings) -> str:
    """What js/content-warnings.js remembers a reader continued past: the story and its warnings."""
    return f"{story.pk}:{','.join(warning.slug for warning in warnings)}"
