"""The lists of parts built in Python write what the template loops they replace wrote, byte for byte."""

import datetime

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation

from stories.models import Part, Story
from stories.templatetags.contents import part_list, table_of_contents

# The loops as part_detail.html and story_detail.html had them, with the markup around them.
TOC_LOOP = Template(
    "{% load typography %}"
    "{% for entry in table_of_contents %}\n"
    '      <li class="toc__item">{% if entry.pk == part.pk %}<span aria-current="page">{{ entry|part_label }}</span>'
    "{% else %}<a href=\"{% if is_preview %}{% url 'stories:part-preview' entry.pk %}"
    '{% else %}{{ entry.get_absolute_url }}{% endif %}">{{ entry|part_label }}</a>{% endif %}</li>\n'
    "    {% endfor %}"
)
PART_LIST_LOOP = Template(
    "{% load typography %}"
    "{% for part in parts %}\n"
    '        <li class="part-list__item">\n'
    '          <a class="part-list__link" href="{{ part.get_absolute_url }}">{{ part|part_label }}</a>\n'
    '          <time class="part-list__date" datetime="{{ part.published_at|date:\'c\' }}">'
    '{{ part.published_at|date:"DATE_FORMAT" }}</time>\n'
    '          {% if part.summary %}<p class="part-list__summary">{{ part.summary }}</p>{% endif %}\n'
    "        </li>\n"
    "      {% endfor %}"
)
HOSTILE = "<script>alert('x')</script> & \"quoted\" — 100% {{ story }} %(title)s"


def serial() -> list[Part]:
    story = Story(pk=41, slug="rain-lamps", title_en=HOSTILE, title_ko="비 & <등불> — " + HOSTILE)
    parts = []
    # Just before and after midnight in UTC and in Seoul, so a date that the time zone moves shows it.
    published = datetime.datetime(2024, 12, 31, 23, 30, tzinfo=datetime.UTC)
    for number in (1, 2, 3, 10, 11):
        part = Part(
            pk=500 + number,
            story=story,
            number=number,
            title_en=f"{HOSTILE} {number}" if number != 2 else "",
            title_ko=f"{number}편 <script>굵게</script> & '따옴표'",
            summary_en=HOSTILE if number % 2 else "",
            summary_ko="요약 <i>&amp;</i>" if number != 3 else "",
            published_at=published + datetime.timedelta(hours=number * 7) if number != 11 else None,
        )
        parts.append(part)
    return parts


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Seoul"])
def test_table_of_contents_is_the_loop_it_replaces(language, zone):
    parts = serial()
    with override_settings(TIME_ZONE=zone), translation.override(language):
        for current in (parts[0], parts[2], parts[-1]):
            for is_preview in (False, True):
                context = {"table_of_contents": parts, "part": current, "is_preview": is_preview}
                expected = TOC_LOOP.render(Context(context))
                assert table_of_contents(parts, current, is_preview) == expected
                assert "&lt;script&gt;" in expected and "<script>" not in expected
                assert ("/preview/" in expected) == is_preview


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Seoul"])
def test_part_list_is_the_loop_it_replaces(language, zone):
    parts = serial()
    with override_settings(TIME_ZONE=zone), translation.override(language):
        timezone.activate(zone)
        try:
            expected = PART_LIST_LOOP.render(Context({"parts": parts}))
            assert part_list(parts) == expected
        finally:
            timezone.deactivate()
    assert "part-list__summary" in expected and "<script>" not in expected and "<i>" not in expected
    assert ("2025년" in expected) == (language == "ko")


def test_empty_lists_write_nothing():
    assert table_of_contents([], Part(pk=1)) == ""
    assert part_list([]) == ""


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_rows_address_is_the_parts_own(language):
    from stories.templatetags.contents import part_url

    single = Story(pk=7, slug="one-piece-9", kind=Story.Kind.SINGLE)
    serial_story = Story(pk=8, slug="part-9-story", kind=Story.Kind.SERIAL)
    parts = [Part(pk=1, story=single, number=1)] + [Part(pk=n, story=serial_story, number=n) for n in (1, 9, 987)]
    around = {}
    with translation.override(language):
        assert [part_url(part, around) for part in parts] == [part.get_absolute_url() for part in parts]
    assert parts[0].get_absolute_url().endswith("/stories/one-piece-9/")
