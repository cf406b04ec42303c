"""x-default hreflang alternates on reader pages and in the sitemap: the English version when the page
exists in English (the site's default language), else the first language it exists in."""

import re

import pytest
from django.utils import translation

from archive.i18n import x_default_language
from tests.advocacy.conftest import make_campaign
from tests.conftest import first_sitemap_page, make_part, make_story, sitemap_text


def url_in(obj, language):
    with translation.override(language):
        return obj.get_absolute_url()


def head_alternates(html):
    """The page's hreflang alternates, as {hreflang: href}."""
    return dict(re.findall(r'<link rel="alternate" hreflang="([\w-]+)" href="([^"]+)">', html))


def test_the_x_default_language_is_english_when_there_else_the_first_language():
    assert x_default_language(["ko", "en"]) == "en"
    assert x_default_language(["ko"]) == "ko"
    assert x_default_language([]) is None


@pytest.mark.parametrize("language", ["en", "ko"])
def test_pages_in_both_languages_point_x_default_at_the_english_version(client, db, language):
    part = make_part(story=make_story(original_language="ko"))
    campaign = make_campaign(stories=[part.story])
    for english, page in (
        ("/en/", f"/{language}/"),
        ("/en/stories/", f"/{language}/stories/"),
        (url_in(part.story, "en"), url_in(part.story, language)),
        (url_in(part, "en"), url_in(part, language)),
        (url_in(campaign, "en"), url_in(campaign, language)),
    ):
        alternates = head_alternates(client.get(page).content.decode())
        assert set(alternates) == {"en", "ko", "x-default"}, page
        assert alternates["x-default"] == f"http://testserver{english}", page
        assert alternates["ko"] != alternates["en"]


def test_a_page_only_in_korean_points_x_default_at_the_korean_version(client, db):
    story = make_story(title_en="", original_language="ko")
    part = make_part(story=story, title_en="", body_en="")
    for page in (url_in(story, "ko"), url_in(part, "ko")):
        alternates = head_alternates(client.get(page).content.decode())
        assert alternates == {"ko": f"http://testserver{page}", "x-default": f"http://testserver{page}"}


def test_the_sitemap_gives_every_entry_its_x_default(client, db):
    both = make_part()
    korean_only = make_part(story=make_story(title_en="", original_language="ko"), title_en="", body_en="")
    text = sitemap_text(client)
    for part, default in ((both, "en"), (korean_only, "ko")):
        for obj in (part, part.story):
            expected = f'hreflang="x-default" href="http://testserver{url_in(obj, default)}"'
            entries = re.findall(r"<url>.*?</url>", text, re.DOTALL)
            mine = [entry for entry in entries if url_in(obj, default) + "<" in entry]
            assert mine, obj
            assert all(expected in entry for entry in mine), obj
    pages = client.get(first_sitemap_page("pages")).content.decode()
    assert pages.count('hreflang="x-default" href="http://testserver/en/"') == 2
