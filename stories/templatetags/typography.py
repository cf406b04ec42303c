"""Typography for reader pages: line breaks where a reader expects them, and a part's numbered title."""

from collections.abc import Callable

from django import template
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from archive.i18n import localized

register = template.Library()

NO_BREAK_SPACE = "\u00a0"


@register.filter(is_safe=True)
def keep_dash(value) -> str:
    """Keep a dash on the line of the word before it, so "Part 3 —" never ends a line alone on a phone."""
    # is_safe: only a space is replaced, so text that was safe (escaped) stays safe.
    return str(value).replace(" —", NO_BREAK_SPACE + "—")


def blocktranslated(translated: str, **values) -> SafeString:
    """``{% blocktranslate with … %}message{% endblocktranslate %}``, given the message already translated.

    The same catalogue entry and the same output, byte for byte: each value localised and escaped as
    the template would write it, the translated text trusted as the template trusts it. Built in
    Python because a serial's table of contents writes one a part, and the tags cost ten times more.
    """
    data = {name: conditional_escape(localized(value)) for name, value in values.items()}
    return mark_safe(translated % data)  # noqa: S308 - the values are escaped above


def _translated(translated: str, **values) -> SafeString:
    """``{% filter keep_dash %}{% blocktranslate with … %}message{% endblocktranslate %}{% endfilter %}``."""
    return mark_safe(keep_dash(blocktranslated(translated, **values)))  # noqa: S308 - keep_dash keeps it safe


@register.filter
def part_label(part) -> SafeString:
    """ "Part 3 — A Difficult Decision", in the active language."""
    return _translated(gettext("Part %(number)s — %(title)s"), number=part.number, title=part.title)


def part_labeller() -> Callable[[object], SafeString]:
    """``part_label`` for a list of parts in the active language, its catalogue entry read once."""
    message = gettext("Part %(number)s — %(title)s")
    return lambda part: _translated(message, number=part.number, title=part.title)


@register.filter
def part_heading(part) -> SafeString:
    """ "Joy's Story: Part 3 — A Difficult Decision", in the active language."""
    message = gettext("%(story)s: Part %(number)s — %(title)s")
    return _translated(message, story=part.story.title, number=part.number, title=part.title)


@register.simple_tag
def other_language_link(part) -> SafeString:
    """A link to a part in the one language it can be read in, named in that language (``mark_available``)."""
    code = part.available_language
    with translation.override(code):
        title = conditional_escape(part.story.title) if part.is_single_piece else part_heading(part)
        return format_html('<a href="{}" hreflang="{}" lang="{}">{}</a>', part.get_absolute_url(), code, code, title)
