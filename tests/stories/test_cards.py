"""``{% cover %}`` writes what the include it replaced (``includes/cover.html``) wrote, byte for byte."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

from stories.models import StoryImage
from tests.stories.test_part_page_markup import HOSTILE

# includes/cover.html as it was, and the two includes' calls of it.
COVER_INCLUDE = (
    '{% if cover %}{% with picture=cover.picture %}<picture class="cover {{ modifier }}">\n'
    '    <source type="image/webp" srcset="{{ picture.webp_srcset }}" sizes="{{ sizes }}">\n'
    '    <img class="cover__img" src="{{ picture.fallback_url }}" srcset="{{ picture.jpeg_srcset }}" '
    'sizes="{{ sizes }}" width="{{ cover.width }}" height="{{ cover.height }}" alt="" loading="lazy" '
    'decoding="async">\n'
    '  </picture>{% endwith %}{% else %}<div class="cover cover--text {{ modifier }}" aria-hidden="true">'
    '<span class="cover__mark">“</span><span class="cover__title">{{ title }}</span></div>{% endif %}\n'
)
CALLS = [
    ("cover--card", "(min-width: 64rem) 20rem, (min-width: 36rem) 50vw, 100vw"),
    ("cover--thumb", "8rem"),
]


def images() -> list:
    def item(width, extension):
        return {"width": width, "height": width * 2 // 3, "extension": extension, "name": f"r/{width}.{extension}"}

    rendered = StoryImage(
        pk=31,
        rendition_key="9f1c2e",
        width=12000,
        height=8000,
        renditions={"items": [item(w, e) for w in (1600, 480, 960) for e in ("jpg", "webp")]},
    )
    only_wide = StoryImage(
        pk=32, rendition_key="77aa", width=1600, height=900, renditions={"items": [item(1600, "jpg")]}
    )
    unrendered = StoryImage(pk=33, rendition_key="", width=0, height=0, renditions={})
    return [rendered, only_wide, unrendered, None, ""]


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("thousands", [False, True])
def test_cover_is_the_include_it_replaces(language, thousands):
    tag = Template("{% load cards %}{% cover cover title modifier sizes %}")
    include = Template(COVER_INCLUDE)
    with override_settings(USE_THOUSAND_SEPARATOR=thousands), translation.override(language):
        for image in images():
            for title in (HOSTILE, "비 & <등불>", None):
                for modifier, sizes in [*CALLS, (HOSTILE, HOSTILE)]:
                    values = {"cover": image, "title": title, "modifier": modifier, "sizes": sizes}
                    expected = include.render(Context(values))
                    assert tag.render(Context(values)) == expected
                    assert "<script>" not in expected
                    if image and image.rendition_items:
                        assert f"/{language}/" in expected and 'alt=""' in expected
