"""The part page's lines built in Python write what the template tags they replace wrote, byte for byte."""

import datetime

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation

from archive.i18n import localized
from stories.models import Part, Story, Storyteller
from stories.templatetags.part_page import all_parts_title, opening_links, part_meta, story_feed_link

# The markup as part_detail.html and story_detail.html had it.
META = Template(
    "{% load i18n %}\n"
    '      {% if part.published_at %}<time class="part__date" datetime="{{ part.published_at|date:\'c\' }}">'
    '{{ part.published_at|date:"DATE_FORMAT" }}</time><span class="part__meta-separator" aria-hidden="true">'
    "&nbsp;·</span>{% endif %}\n"
    '      {% if part.reading_minutes %}<span class="part__reading-time">{% blocktranslate count '
    "minutes=part.reading_minutes %}{{ minutes }} minute read{% plural %}{{ minutes }} minute read"
    '{% endblocktranslate %}</span><span class="part__meta-separator" aria-hidden="true">&nbsp;·</span>{% endif %}\n'
    '      <span class="part__teller">{% blocktranslate with name=story.storyteller.pseudonym %}Told by {{ name }}'
    "{% endblocktranslate %}</span>\n"
    "    "
)
OPENING = Template(
    "{% load i18n %}"
    '{% for opening in opening_parts %}<a href="{{ opening.get_absolute_url }}">{% blocktranslate with '
    "number=opening.number %}Part {{ number }}{% endblocktranslate %}</a>{% if not forloop.last %}&nbsp;· "
    "{% endif %}{% endfor %}"
)
FEED = Template(
    "{% load i18n %}"
    '<link rel="alternate" type="application/atom+xml" title="{% blocktranslate with story=story.title %}'
    'New parts of {{ story }}{% endblocktranslate %}" href="{% url \'stories:story-feed\' story.slug %}">'
)
ALL_PARTS = Template(
    "{% load i18n %}{% blocktranslate with story=story.title %}All parts of {{ story }}{% endblocktranslate %}"
)
HOSTILE = "<script>alert('x')</script> & \"quoted\" — 100% {{ story }} %(name)s"


def serial() -> list[Part]:
    teller = Storyteller(pk=7, pseudonym_en=HOSTILE, pseudonym_ko="<b>별</b> & '따옴표' %(minutes)s")
    story = Story(pk=41, slug="rain-lamps", storyteller=teller, title_en=HOSTILE, title_ko="비 & <등불> " + HOSTILE)
    # Just before and after midnight in UTC and in Seoul, so a date that the time zone moves shows it.
    published = datetime.datetime(2024, 12, 31, 23, 30, tzinfo=datetime.UTC)
    return [
        Part(
            pk=500 + number,
            story=story,
            number=number,
            published_at=published + datetime.timedelta(hours=number * 7) if number != 4 else None,
            reading_minutes=[0, 1, 2, 12, 0][number - 1],
        )
        for number in (1, 2, 3, 4, 5)
    ]


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Seoul"])
def test_part_meta_is_the_markup_it_replaces(language, zone):
    parts = serial()
    with override_settings(TIME_ZONE=zone), translation.override(language):
        timezone.activate(zone)
        try:
            for part in parts:
                expected = META.render(Context({"part": part, "story": part.story}))
                assert part_meta(part, part.story) == expected
                assert "&lt;" in expected and "<script>" not in expected and "<b>" not in expected
        finally:
            timezone.deactivate()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_opening_links_feed_link_and_contents_title_are_the_markup_they_replace(language):
    parts = serial()
    story = parts[0].story
    with translation.override(language):
        for opening in ([], parts[:1], parts[:2]):
            assert opening_links(opening) == OPENING.render(Context({"opening_parts": opening}))
        expected = FEED.render(Context({"story": story}))
        assert story_feed_link(story) == expected
        assert f"/{language}/stories/rain-lamps/feed/" in expected and "<script>" not in expected
        assert all_parts_title(story) == ALL_PARTS.render(Context({"story": story}))


@pytest.mark.parametrize(
    "value", [0, 7, 1234567, -3, True, 2.5, "<b>", datetime.date(2024, 5, 6), None], ids=lambda value: repr(value)
)
@pytest.mark.parametrize("language", ["en", "ko"])
def test_localized_writes_a_value_as_the_template_does(value, language):
    with translation.override(language):
        assert localized(value) == Template("{{ value }}").render(Context({"value": value}, autoescape=False))
    with override_settings(USE_THOUSAND_SEPARATOR=True), translation.override(language):
        assert localized(1234567) == Template("{{ value }}").render(Context({"value": 1234567}))
