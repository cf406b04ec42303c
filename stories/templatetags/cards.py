"""A story's cover on a card or a list, written in Python.

The home page, the story index and a campaign page draw a cover on every card. As an
``{% include … with … %}`` each cost a template lookup, a context pushed and popped and a dozen
variable lookups; ``{% cover %}`` writes the same bytes the include wrote
(tests/stories/test_cards.py holds it to that markup, with hostile titles, in both languages).
"""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from archive.i18n import localized

register = template.Library()

PICTURE = (
    '<picture class="cover {modifier}">\n'
    '    <source type="image/webp" srcset="{webp_srcset}" sizes="{sizes}">\n'
    '    <img class="cover__img" src="{fallback_url}" srcset="{jpeg_srcset}" sizes="{sizes}" width="{width}"'
    ' height="{height}" alt="" loading="lazy" decoding="async">\n'
    "  </picture>\n"
)
TEXT_CARD = (
    '<div class="cover cover--text {modifier}" aria-hidden="true"><span class="cover__mark">“</span>'
    '<span class="cover__title">{title}</span></div>\n'
)


@register.simple_tag
def cover(image, title, modifier: str, sizes: str) -> SafeString:
    """A story's cover: the cleaned photo readers may see, or else a designed text card, never a picture from elsewhere.

    ``image`` is ``story.shown_cover``, set by the view from the query it already ran (None when the story
    has no cover readers may see); the stylesheet draws the text card. Decorative here (``alt=""``): the
    card's title beside it names the story, and the story's page gives the photo's alt text.
    """
    if not image:
        return mark_safe(  # noqa: S308 - every value escaped
            TEXT_CARD.format(modifier=conditional_escape(modifier), title=conditional_escape(localized(title)))
        )
    picture = image.picture()
    return mark_safe(  # noqa: S308 - every value escaped
        PICTURE.format(
            modifier=conditional_escape(modifier),
            sizes=conditional_escape(sizes),
            width=conditional_escape(localized(image.width)),
            height=conditional_escape(localized(image.height)),
            **{name: conditional_escape(picture[name]) for name in ("webp_srcset", "jpeg_srcset", "fallback_url")},
        )
    )
