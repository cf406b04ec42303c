"""Typography for reader pages: line breaks where a reader expects them."""

from django import template

register = template.Library()

NO_BREAK_SPACE = "\u00a0"


@register.filter(is_safe=True)
def keep_dash(value) -> str:
    """Keep a dash on the line of the word before it, so "Part 3 —" never ends a line alone on a phone."""
    # is_safe: only a space is replaced, so text that was safe (escaped) stays safe.
    return str(value).replace(" —", NO_BREAK_SPACE + "—")
