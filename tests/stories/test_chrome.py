"""{% constant %}: the header and footer every page repeats, rendered once per language and named values."""

from django.template import Context, Template
from django.test import override_settings
from django.urls import set_script_prefix
from django.utils import translation

from stories.templatetags.chrome import language_switcher

SOURCE = (
    "{% load chrome i18n %}{% constant EXIT %}"
    "<a href=\"{% url 'stories:home' %}\">{% translate 'Quick exit' %}</a> {{ EXIT }} {{ other }}{% endconstant %}"
)

# The include base.html had.
SWITCHER_INCLUDE = Template(
    '{% load i18n %}<nav class="language-switcher" aria-label="{% translate \'Language\' %}">\n'
    '  <ul class="language-switcher__list">\n'
    "    {% for link in language_links %}\n"
    "      <li>\n"
    "        {% if link.is_current %}\n"
    '          <span class="language-switcher__current" lang="{{ link.code }}" aria-current="true">'
    "{{ link.name }}</span>\n"
    "        {% else %}\n"
    '          <a class="language-switcher__link" href="{{ link.url }}" hreflang="{{ link.code }}" '
    'lang="{{ link.code }}">{{ link.name }}</a>\n'
    "        {% endif %}\n"
    "      </li>\n"
    "    {% endfor %}\n"
    "  </ul>\n"
    "</nav>\n"
)


def render(template: Template, **context) -> str:
    return template.render(Context(context))


def test_markup_is_kept_per_language_and_per_named_value():
    template = Template(SOURCE)
    with translation.override("en"):
        first = render(template, EXIT="https://example.org/weather", other="one")
        # Kept: a variable it does not name is read once only (so it must not use any).
        assert render(template, EXIT="https://example.org/weather", other="two") == first
        assert first == '<a href="/en/">Quick exit</a> https://example.org/weather one'
        # A named value is in the key.
        assert "https://example.org/news" in render(template, EXIT="https://example.org/news", other="one")
    with translation.override("ko"):
        korean = render(template, EXIT="https://example.org/weather", other="one")
    assert korean == '<a href="/ko/">바로 나가기</a> https://example.org/weather one'


def test_nothing_is_kept_while_debugging_or_after_a_setting_changed():
    template = Template(SOURCE)
    with translation.override("en"):
        assert render(template, EXIT="x", other="one").endswith(" one")
        with override_settings(DEBUG=True):
            assert render(template, EXIT="x", other="two").endswith(" two")
        # override_settings sent setting_changed (twice): what was kept is forgotten.
        assert render(template, EXIT="x", other="three").endswith(" three")


def test_the_site_header_and_footer_are_the_same_on_every_page_of_a_language(client, story):
    from tests.conftest import make_part

    part = make_part(story=story)
    pages = {}
    for language in ("en", "ko"):
        with translation.override(language):
            for url in (f"/{language}/", part.get_absolute_url(), f"/{language}/search/?q=river"):
                html = client.get(url).content.decode()
                start, end = html.index('<a class="skip-link"'), html.index('<nav class="language-switcher"')
                pages.setdefault(language, set()).add(html[start:end] + html[html.index("<footer") :])
    assert len(pages["en"]) == 1 and len(pages["ko"]) == 1
    assert "Skip to main content" in next(iter(pages["en"])) and "본문으로 건너뛰기" in next(iter(pages["ko"]))
    assert pages["en"] != pages["ko"]


def test_a_render_under_another_script_prefix_or_in_a_language_block_gets_its_own_markup():
    template = Template(SOURCE)
    with translation.override("en"):
        assert render(template, EXIT="x", other="one").startswith('<a href="/en/">')
        set_script_prefix("/archive/")
        try:
            # The prefix is read once a render, and is in the key: another render sees the new one.
            assert render(template, EXIT="x", other="one").startswith('<a href="/archive/en/">')
        finally:
            set_script_prefix("/")
        assert render(template, EXIT="x", other="one").startswith('<a href="/en/">')
        # Within one render, a {% language %} block changes the language of the markup kept for it: the
        # same node, rendered in each language in turn, writes each.
        each = Template(
            "{% load chrome i18n %}{% for code in codes %}{% language code %}"
            "{% constant %}{% translate 'Quick exit' %}{% endconstant %}|{% endlanguage %}{% endfor %}"
        )
        assert render(each, codes=["en", "ko", "en"]) == "Quick exit|바로 나가기|Quick exit|"


def test_the_language_switcher_is_the_include_it_replaces():
    hostile = '<script>x</script> & "q"'
    links = [
        {"code": "en", "name": "English", "label": "English", "url": "/en/a/?x=1&y=<2>", "is_current": False},
        {"code": "ko", "name": "한국어 " + hostile, "label": "Korean", "url": "/ko/a/", "is_current": True},
    ]
    for language in ("en", "ko"):
        with translation.override(language):
            for shown in (links, links[:1], []):
                expected = SWITCHER_INCLUDE.render(Context({"language_links": shown}))
                assert language_switcher(shown) == expected
                assert "<script>" not in expected
