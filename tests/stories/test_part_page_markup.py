"""The part page's lines built in Python write what the template tags they replace wrote, byte for byte."""

import datetime

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation

from archive.i18n import localized
from stories import covers
from stories.models import ContentWarning, Part, Story, Storyteller
from stories.templatetags.part_page import (
    all_parts_title,
    content_warnings,
    opening_links,
    part_meta,
    story_feed_link,
    warning_gate_key,
)
from stories.templatetags.share import share_meta

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
# The include base.html had (its comment shortened: it writes nothing).
SHARE_META = Template(
    "{% comment %}\n  What a shared link shows.\n{% endcomment %}\n"
    '  <meta property="og:type" content="{{ share.type }}">\n'
    '  <meta property="og:site_name" content="{{ share.site_name }}">\n'
    '  <meta property="og:locale" content="{{ share.locale }}">\n'
    '  <meta property="og:title" content="{{ share.title }}">\n'
    '  {% if share.description %}<meta property="og:description" content="{{ share.description }}">{% endif %}\n'
    '  <meta property="og:url" content="{{ share.url }}">\n'
    '  <meta property="og:image" content="{{ share.image.url }}">\n'
    '  <meta property="og:image:type" content="{{ share.image.type }}">\n'
    '  <meta property="og:image:width" content="{{ share.image.width }}">\n'
    '  <meta property="og:image:height" content="{{ share.image.height }}">\n'
    '  {% if share.image.alt %}<meta property="og:image:alt" content="{{ share.image.alt }}">{% endif %}\n'
    '  {% if share.published_time %}<meta property="article:published_time" '
    'content="{{ share.published_time }}">{% endif %}\n'
    '  <meta name="twitter:card" content="summary_large_image">\n'
    '  <meta name="twitter:title" content="{{ share.title }}">\n'
    '  {% if share.description %}<meta name="twitter:description" content="{{ share.description }}">{% endif %}\n'
    '  <meta name="twitter:image" content="{{ share.image.url }}">\n'
    '  {% if share.image.alt %}<meta name="twitter:image:alt" content="{{ share.image.alt }}">{% endif %}\n'
    '  <script type="application/ld+json">{{ share.json_ld }}</script>\n'
)
# The include part_detail.html and story_detail.html had, and the gate's key as part_detail.html wrote it.
WARNINGS_INCLUDE = Template(
    "{% load chrome i18n %}{% if content_warnings %}\n"
    '<aside class="content-warning{% if warning_gate %} content-warning--gated{% endif %}" aria'
    '-labelledby="content-warning-title">\n'
    '  {% constant %}<h2 class="content-warning__title" id="content-warning-title">{% translate'
    ' "Content warning" %}</h2>\n'
    '  <p>{% translate "This story describes:" %}</p>{% endconstant %}\n'
    '  <ul class="content-warning__list">\n'
    "    {% for warning in content_warnings %}<li>{{ warning.label }}</li>{% endfor %}\n"
    "  </ul>\n"
    "  {% comment %}\n"
    "    The first sentence is true only while the gate below is closed: site.css hides it once the reader opens the\n"
    "    <details> (or js/content-warnings.js opens it for a story already continued in this tab).\n"
    "  {% endcomment %}\n"
    '  {% if warning_gate %}{% constant %}<p class="content-warning__note"><span class="content'
    '-warning__while-hidden">{% translate "The story stays hidden until you choose to continue.'
    '" %} </span>{% translate "You can stop here, and leave at any time with Quick exit." %}</p'
    ">{% endconstant %}{% endif %}\n"
    "</aside>\n"
    "{% endif %}\n"
)
GATE_KEY = Template(
    "{{ story.pk }}:{% for warning in content_warnings %}{{ warning.slug }}{% if not forloop.last %},{% endif %}"
    "{% endfor %}"
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


def share_cards() -> list[dict]:
    """Cards as the views build them (stories.covers), and with every optional value missing or empty."""
    with translation.override("en"):
        story = serial()[0].story
    full = {
        "type": "article",
        "site_name": "Testimony archive",
        "locale": "ko_KR",
        "title": HOSTILE,
        "description": HOSTILE + " 설명",
        "url": "https://example.org/ko/stories/rain-lamps/part-2/?a=1&b=<2>",
        "image": {
            "url": "https://example.org/p/k/1200.jpg",
            "type": "image/jpeg",
            "width": 1200,
            "height": 630,
            "alt": '"alt" & <b>',
        },
        "published_time": "2024-12-31T23:30:00+00:00",
        "json_ld": covers.json_ld({"name": HOSTILE, "teller": story.title_en}),
    }
    bare = {**full, "description": "", "image": {**full["image"], "alt": ""}}
    del bare["published_time"]
    return [full, bare, {**full, "title": None, "image": {"url": "", "type": "", "width": 0, "height": 0}}]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_share_meta_is_the_include_it_replaces(language):
    with translation.override(language):
        for card in share_cards():
            expected = SHARE_META.render(Context({"share": card}))
            assert share_meta(card) == expected
            assert "<b>" not in expected and "\\u003cscript" in expected


@pytest.mark.parametrize("language", ["en", "ko"])
def test_content_warnings_are_the_include_they_replace(language):
    story = serial()[0].story
    warnings = [
        ContentWarning(pk=1, slug="hunger", label_en="Hunger", label_ko="굶주림"),
        ContentWarning(pk=2, slug="violence", label_en=HOSTILE, label_ko="<폭력> & '따옴표'"),
    ]
    with translation.override(language):
        for shown in (warnings, warnings[:1], []):
            for gate in (False, True):
                expected = WARNINGS_INCLUDE.render(Context({"content_warnings": shown, "warning_gate": gate}))
                assert content_warnings(shown, gate=gate) == expected
                assert "<script>" not in expected and "<폭력>" not in expected
            key = GATE_KEY.render(Context({"story": story, "content_warnings": shown}))
            assert warning_gate_key(story, shown) == key


TOLD_BY = Template(
    "{% load i18n %}{% blocktranslate with name=story.storyteller.pseudonym %}Told by {{ name }}{% endblocktranslate %}"
)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_cards_told_by_filter_is_the_blocktranslate_it_replaces(language):
    """includes/story_card.html and related_stories.html write the teller with ``told_by``."""
    story = serial()[0].story
    filtered = Template("{% load part_page %}{{ story.storyteller.pseudonym|told_by }}")
    with translation.override(language):
        for pseudonym in (HOSTILE, "<b>별</b> & '따옴표' %(minutes)s", "Quiet Heron", ""):
            story.storyteller.pseudonym = pseudonym
            expected = TOLD_BY.render(Context({"story": story}))
            assert filtered.render(Context({"story": story})) == expected
            assert "<script>" not in expected and "<b>" not in expected
