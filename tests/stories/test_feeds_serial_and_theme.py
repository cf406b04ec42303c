"""Atom feeds of one story (its new parts) and of one theme, besides the site's feed: valid Atom as a feed
reader parses it, the right entries in each language, through the visibility rule, linked from their pages,
in a constant number of queries, and a withdrawal removes the entries at the next request."""

import datetime

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from stories import feeds, services
from stories.models import Part, Theme
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_page_cache import any_cache, is_warm  # noqa: F401 (a fixture)
from tests.stories.test_safety import shared_redis_cache  # noqa: F401 (a fixture)
from tests.stories.test_visibility import STORY_TABLES, through_the_rule

LANGUAGES = ["en", "ko"]


def url_in(obj, language):
    with translation.override(language):
        return obj.get_absolute_url()


def story_feed(story, language):
    return f"/{language}/stories/{story.slug}/feed/"


def theme_feed(theme, language):
    return f"/{language}/themes/{theme.slug}/feed/"


def parsed(client, url):
    """Fetch a feed and parse it as a feed reader does; it must be well-formed Atom."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, (url, feed.get("bozo_exception"))
    assert feed.version == "atom10"
    return feed


def make_theme(slug="family", name_en="Family", name_ko="가족"):
    return Theme.objects.create(slug=slug, name_en=name_en, name_ko=name_ko)


def days_ago(days):
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture(params=["few stories", "many stories"])
def either_plan(request, monkeypatch):
    """Each theme feed test on both of its plans: through the theme's stories, and newest part first."""
    if request.param == "many stories":
        # Every theme with a live story counts as large: read newest part first.
        monkeypatch.setattr(feeds, "SMALL_THEME_STORIES", 0)
    return request.param


@pytest.fixture
def serial(db):
    story = make_story(title_en="The Long Road", title_ko="먼 길")
    parts = [make_part(story=story, published_at=days_ago(10 - n)) for n in range(3)]
    return story, parts


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_storys_feed_lists_its_parts_newest_first_in_the_readers_language(client, serial, language):
    story, parts = serial
    make_part(title_en="Somebody else's part", title_ko="다른 분의 편")
    feed = parsed(client, story_feed(story, language))

    title = {"en": "The Long Road: new parts", "ko": "먼 길: 새로 올라온 편"}[language]
    assert feed.feed.title == title
    assert feed.feed.link == f"http://testserver{url_in(story, language)}"
    assert feed.feed.author == {"en": "Testimony archive", "ko": "증언 기록관"}[language]
    links = [entry.link for entry in feed.entries]
    assert links == [f"http://testserver{url_in(part, language)}" for part in reversed(parts)]
    newest = parts[-1]
    expected = {"en": "The Long Road: Part 3 — Part title 3", "ko": "먼 길: 3편 — 3편 제목"}[language]
    assert feed.entries[0].title == expected
    assert feed.entries[0].summary == getattr(newest, f"summary_{language}")
    assert feed.entries[0].id == links[0]
    assert "다른 분의 편" not in str(feed) and "Somebody else" not in str(feed)


def test_a_storys_feed_holds_only_parts_public_in_its_language(client, serial, now):
    story, parts = serial
    untranslated = make_part(story=story, title_ko="", body_ko="", summary_ko="")
    scheduled = make_part(story=story, published_at=now + datetime.timedelta(days=2))
    draft = make_part(story=story, status=Part.Status.DRAFT)
    english = [entry.link for entry in parsed(client, story_feed(story, "en")).entries]
    korean = [entry.link for entry in parsed(client, story_feed(story, "ko")).entries]
    assert f"http://testserver{url_in(untranslated, 'en')}" in english
    assert not any(f"part-{untranslated.number}/" in link for link in korean)
    for hidden in (scheduled, draft):
        assert not any(f"part-{hidden.number}/" in link for link in english + korean)
    assert len(korean) == len(parts) and len(english) == len(parts) + 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_or_hidden_stories_and_themes_have_no_feed(client, db, language):
    english_only = make_story(title_ko="")
    make_part(story=english_only)
    draft = make_part(story=make_story(), status=Part.Status.DRAFT).story
    without_consent = make_part(story=make_story(storyteller=make_storyteller(consent={"covers_web": False}))).story
    urls = [
        f"/{language}/stories/no-such-story/feed/",
        story_feed(draft, language),
        story_feed(without_consent, language),
        f"/{language}/themes/no-such-theme/feed/",
        f"/{language}/stories/{'x' * 400}/feed/",
    ]
    if language == "ko":
        urls.append(story_feed(english_only, "ko"))
    else:
        parsed(client, story_feed(english_only, "en"))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"<html" in response.content, url  # the site's 404 page, not an empty answer


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_themes_feed_lists_the_newest_parts_of_its_stories(client, db, either_plan, language):
    family, escape = make_theme(), make_theme("escape", "Escape", "탈출")
    about_family = make_story()
    about_family.themes.add(family)
    about_both = make_story()
    about_both.themes.add(family, escape)
    elsewhere = make_story()
    elsewhere.themes.add(escape)
    older = make_part(story=about_family, published_at=days_ago(5))
    newer = make_part(story=about_both, published_at=days_ago(1))
    other = make_part(story=elsewhere, published_at=days_ago(2))

    feed = parsed(client, theme_feed(family, language))
    assert (
        feed.feed.title
        == {"en": "Testimony archive: stories about Family", "ko": "증언 기록관: 가족 주제의 이야기"}[language]
    )
    assert feed.feed.link == f"http://testserver/{language}/stories/?theme=family"
    assert [entry.link for entry in feed.entries] == [
        f"http://testserver{url_in(part, language)}" for part in (newer, older)
    ]
    assert [entry.link for entry in parsed(client, theme_feed(escape, language)).entries] == [
        f"http://testserver{url_in(part, language)}" for part in (newer, other)
    ]


def test_a_theme_without_public_stories_has_an_empty_feed_in_that_language(client, db, either_plan):
    theme = make_theme()
    english_only = make_story(title_ko="")
    english_only.themes.add(theme)
    make_part(story=english_only)
    assert len(parsed(client, theme_feed(theme, "en")).entries) == 1
    assert parsed(client, theme_feed(theme, "ko")).entries == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_withdrawal_removes_the_story_from_both_feeds_at_the_next_request(client, any_cache, either_plan, language):  # noqa: F811
    theme = make_theme()
    teller = make_storyteller()
    withdrawn = make_story(storyteller=teller)
    withdrawn.themes.add(theme)
    withdrawn_part = make_part(story=withdrawn)
    staying = make_story()
    staying.themes.add(theme)
    make_part(story=staying)
    urls = [story_feed(withdrawn, language), theme_feed(theme, language)]
    for url in urls:
        assert withdrawn.slug in client.get(url).content.decode()
        assert is_warm(client, url), url

    services.consent_withdraw(storyteller=teller, reason="Withdrawn.", recorded_by=None)

    assert client.get(urls[0]).status_code == 404
    feed = parsed(client, urls[1])
    assert [entry.link for entry in feed.entries] == [f"http://testserver{url_in(staying.parts.get(), language)}"]
    assert url_in(withdrawn_part, language) not in client.get(urls[1]).content.decode()


def test_a_new_part_reaches_its_storys_feed_at_once(client, any_cache, serial):  # noqa: F811
    story, _parts = serial
    url = story_feed(story, "en")
    client.get(url)
    assert is_warm(client, url)
    make_part(story=story, title_en="A new instalment")
    assert "A new instalment" in client.get(url).content.decode()


@pytest.mark.parametrize("size", [1, 30])
def test_feed_query_counts_do_not_grow_with_the_archive(client, db, either_plan, django_assert_max_num_queries, size):
    theme = make_theme()
    story = make_story()
    story.themes.add(theme)
    for _ in range(size):
        make_part(story=story)
        other = make_story()
        other.themes.add(theme)
        make_part(story=other)
    budgets = {
        # The serial's rows in every language (the story page's prepared query).
        story_feed(story, "en"): 1,
        story_feed(story, "ko"): 1,
        # The theme, then the newest live parts of its stories.
        theme_feed(theme, "en"): 2,
        theme_feed(theme, "ko"): 2,
        # Unchanged: newest parts, parts awaiting translation.
        "/en/feed/": 2,
    }
    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200, url
    assert len(parsed(client, story_feed(story, "en")).entries) == min(size, 20)
    assert len(parsed(client, theme_feed(theme, "ko")).entries) == min(2 * size, 20)


@pytest.mark.parametrize("language", LANGUAGES)
def test_feeds_read_stories_only_through_the_visibility_rule(client, serial, language):
    story, _parts = serial
    theme = make_theme()
    story.themes.add(theme)
    for url in (story_feed(story, language), theme_feed(theme, language)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        for query in queries.captured_queries:
            if STORY_TABLES.search(query["sql"]):
                assert through_the_rule(query["sql"]), f"{url} read stories around the rule: {query['sql']}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_site_feed_is_valid_atom_in_both_languages(client, serial, language):
    _story, parts = serial
    feed = parsed(client, f"/{language}/feed/")
    assert feed.feed.title == {"en": "Testimony archive: newest parts", "ko": "증언 기록관: 새로 올라온 편"}[language]
    assert [entry.link for entry in feed.entries] == [
        f"http://testserver{url_in(part, language)}" for part in reversed(parts)
    ]


def atom_links(html):
    return [line.strip() for line in html.splitlines() if 'type="application/atom+xml"' in line]


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_link_the_feeds_they_belong_to(client, serial, language):
    story, parts = serial
    theme = make_theme()
    story.themes.add(theme)
    site = f'href="/{language}/feed/"'
    serial_link = f'href="{story_feed(story, language)}"'
    theme_link = f'href="{theme_feed(theme, language)}"'
    story_title = {"en": 'title="New parts of The Long Road"', "ko": 'title="먼 길: 새로 올라온 편"'}[language]
    for page in (url_in(story, language), url_in(parts[1], language)):
        links = atom_links(client.get(page).content.decode())
        assert any(site in link for link in links), page
        assert any(serial_link in link and story_title in link for link in links), page
        assert not any(theme_link in link for link in links), page
    themed = atom_links(client.get(f"/{language}/stories/?theme={theme.slug}").content.decode())
    theme_title = {"en": 'title="New parts about Family"', "ko": 'title="가족 주제: 새로 올라온 편"'}[language]
    assert any(theme_link in link and theme_title in link for link in themed)
    assert any(site in link for link in themed)
    unthemed = atom_links(client.get(f"/{language}/stories/").content.decode())
    assert len(unthemed) == 1 and site in unthemed[0]
    # Every linked feed answers.
    for url in (story_feed(story, language), theme_feed(theme, language)):
        parsed(client, url)
