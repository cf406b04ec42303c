"""Related stories at the end of a part and a story page: live stories of the reader's language that share
the most themes with the one read, never the one read, read in one query whatever the size of the archive,
and gone at the next request once their teller withdraws."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from stories import caching, services
from stories.models import Part, Story, Theme
from stories.related import RELATED_CANDIDATES, RELATED_STORY_COUNT, related_stories
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_page_cache import any_cache, is_warm  # noqa: F401 (a fixture)
from tests.stories.test_safety import shared_redis_cache  # noqa: F401 (a fixture)
from tests.stories.test_visibility import STORY_TABLES, through_the_rule

LANGUAGES = ["en", "ko"]


def url_in(obj, language):
    with translation.override(language):
        return obj.get_absolute_url()


def themes(*slugs):
    return [Theme.objects.create(slug=slug, name_en=slug.title(), name_ko=f"{slug} 주제") for slug in slugs]


def story_about(*theme_list, created_days_ago=0, **fields):
    story = make_story(**fields)
    story.themes.add(*theme_list)
    if created_days_ago:
        # Lists order stories by creation; the publication rows copy it when the part is published.
        type(story).objects.filter(pk=story.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=created_days_ago)
        )
    make_part(story=story)
    return story


def related_section(html):
    """The slugs linked from the related-stories section, in order; None when the page has none."""
    found = re.search(r'<section class="related".*?</section>', html, re.DOTALL)
    if not found:
        return None
    return re.findall(r'class="related__link" href="/\w\w/stories/([\w-]+)/"', found.group(0))


@pytest.mark.parametrize("language", LANGUAGES)
def test_stories_sharing_the_most_themes_come_first_and_never_the_one_read(client, db, language):
    family, escape, faith, work = themes("family", "escape", "faith", "work")
    read = story_about(family, escape, faith)
    three = story_about(family, escape, faith, created_days_ago=30)
    two = story_about(family, escape, created_days_ago=20)
    one_newer = story_about(work, faith, created_days_ago=1)
    one_older = story_about(family, created_days_ago=5)
    unrelated = story_about(work)

    expected = [three.slug, two.slug, one_newer.slug]
    assert RELATED_STORY_COUNT == 3
    for page in (url_in(read.parts.get(), language), url_in(read, language)):
        shown = related_section(client.get(page).content.decode())
        assert shown == expected, page
    assert [story.slug for story in related_stories(read.pk, language)] == expected
    assert [story.shared_themes for story in related_stories(read.pk, language)] == [3, 2, 1]
    # From the other side: the one read is related to the others, and an unrelated story has none of them.
    assert read.slug in related_section(client.get(url_in(one_older, language)).content.decode())
    assert related_section(client.get(url_in(unrelated, language)).content.decode()) == [one_newer.slug]


def test_given_the_storys_themes_the_query_finds_what_it_finds_looking_them_up(db, monkeypatch):
    """The part page gives the query the themes its serial query read (``StoryThemes``): the same stories,
    ranked alike, and the same sets the page depends on, for every story in either language."""
    family, escape, faith, work, rest = themes("family", "escape", "faith", "work", "rest")
    stories = [
        story_about(family, escape, faith),
        story_about(family, escape, created_days_ago=20),
        story_about(work, faith, created_days_ago=1),
        story_about(family, created_days_ago=5),
        story_about(rest),
        story_about(),
        story_about(escape, work, created_days_ago=9, title_ko=""),
    ]
    hidden = story_about(family, escape, created_days_ago=2)
    unpublished = hidden.parts.get()
    unpublished.status = Part.Status.DRAFT
    unpublished.save()
    recorded = []
    monkeypatch.setattr("stories.related.depends_on", lambda *tags: recorded.append(set(tags)))

    def found(story, language, **given):
        recorded.clear()
        shown = [(story.slug, story.shared_themes) for story in related_stories(story.pk, language, **given)]
        return shown, recorded[0]

    for story in [*stories, hidden]:
        own = list(story.themes.values_list("pk", flat=True))
        for language in LANGUAGES:
            assert found(story, language, themes=own) == found(story, language), (story.slug, language)
    assert found(stories[0], "en", themes=[family.pk, escape.pk, faith.pk])[0]


def test_the_part_page_gives_the_query_the_themes_its_serial_query_read(client, db, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    (family,) = themes("family")
    read = story_about(family)
    story_about(family, created_days_ago=3)
    alone = make_part(story=make_story())

    def related_sql(part) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url_in(part, "en")).status_code == 200
        return [query["sql"] for query in queries.captured_queries if "stories_storypublication" in query["sql"]]

    (sql,) = related_sql(read.parts.get())
    # The candidates alone: the story's themes were values, not a lookup of the theme table joined on.
    assert "UNION" not in sql
    # A story with no theme sends no related-stories query at all.
    assert related_sql(alone) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_section_is_in_the_readers_language(client, db, language):
    (family,) = themes("family")
    read = story_about(family, title_en="The Read Story", title_ko="읽은 이야기")
    story_about(family, title_en="A Neighbouring Story", title_ko="이웃 이야기", summary_en="Its summary.")
    html = client.get(url_in(read, language)).content.decode()
    section = re.search(r'<section class="related".*?</section>', html, re.DOTALL).group(0)
    if language == "ko":
        assert "같은 주제의 다른 이야기" in section and "이웃 이야기" in section and "이야기한 분:" in section
        assert "Neighbouring" not in section and "Told by" not in section
    else:
        assert "More stories on these themes" in section and "A Neighbouring Story" in section
        assert "Its summary." in section and "Told by" in section


def test_only_stories_public_in_the_readers_language_are_related(client, db, now):
    (family,) = themes("family")
    read = story_about(family)
    english_only = story_about(family, title_ko="", created_days_ago=1)
    scheduled = make_story()
    scheduled.themes.add(family)
    make_part(story=scheduled, published_at=now + datetime.timedelta(days=1))
    draft = make_story()
    draft.themes.add(family)
    make_part(story=draft, status=Part.Status.DRAFT)
    no_consent = story_about(family, storyteller=make_storyteller(consent={"covers_korean": False}))

    english = related_section(client.get(url_in(read, "en")).content.decode())
    korean = related_section(client.get(url_in(read, "ko")).content.decode())
    assert set(english) == {english_only.slug, no_consent.slug}
    assert korean is None


def test_a_story_without_themes_shows_no_section(client, db):
    (family,) = themes("family")
    read = make_story()
    part = make_part(story=read)
    story_about(family)
    assert related_section(client.get(url_in(part, "en")).content.decode()) is None
    assert related_stories(read.pk, "en") == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_withdrawal_removes_a_related_story_at_the_next_request(client, any_cache, language):  # noqa: F811
    (family,) = themes("family")
    read = story_about(family)
    teller = make_storyteller()
    withdrawn = story_about(family, storyteller=teller)
    pages = [url_in(read.parts.get(), language), url_in(read, language)]
    for page in pages:
        assert related_section(client.get(page).content.decode()) == [withdrawn.slug]
        assert is_warm(client, page)

    services.consent_withdraw(storyteller=teller, reason="Withdrawn.", recorded_by=None)

    for page in pages:
        html = client.get(page).content.decode()
        assert related_section(html) is None and withdrawn.slug not in html, page


def test_the_newest_of_the_candidates_are_ranked(db):
    """The walk stops after RELATED_CANDIDATES stories sharing a theme: it never reads the whole archive."""
    family, escape = themes("family", "escape")
    read = story_about(family, escape)
    oldest_sharing_both = story_about(family, escape, created_days_ago=400)
    newer = [story_about(family, created_days_ago=days) for days in range(1, RELATED_CANDIDATES + 1)]
    found = related_stories(read.pk, "en")
    # Beyond the candidates: the three newest stories sharing one theme, not the old one sharing two.
    assert [story.slug for story in found] == [story.slug for story in newer[:3]]
    assert oldest_sharing_both.slug not in {story.slug for story in found}
    # A candidate that stops being public leaves room for the next: the old story sharing both themes.
    unpublished = newer[0].parts.get()
    unpublished.status = Part.Status.DRAFT
    unpublished.save()
    assert related_stories(read.pk, "en")[0].slug == oldest_sharing_both.slug


def page_queries(client, url):
    """The queries of a page's second rendering: what it costs once values kept until the next write are kept."""
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    return counts[-1]


def test_related_stories_cost_one_query_whatever_the_archive(client, db, django_assert_max_num_queries, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0  # every request renders
    family, escape = themes("family", "escape")
    read = story_about(family, escape)
    part = make_part(story=read)
    story_about(family)
    pages = [url_in(part, "en"), url_in(read, "ko")]
    before = [page_queries(client, page) for page in pages]
    with django_assert_max_num_queries(1):
        assert len(related_stories(read.pk, "ko")) == 1
    for n in range(40):
        story_about(family if n % 2 else escape, created_days_ago=n + 1)
    with django_assert_max_num_queries(1):
        assert len(related_stories(read.pk, "ko")) == RELATED_STORY_COUNT
    assert [page_queries(client, page) for page in pages] == before


@pytest.mark.parametrize("language", LANGUAGES)
def test_related_stories_are_read_through_the_visibility_rule(db, language):
    (family,) = themes("family")
    read = story_about(family)
    story_about(family)
    with CaptureQueriesContext(connection) as queries:
        assert related_stories(read.pk, language)
    sql = queries.captured_queries[0]["sql"]
    assert STORY_TABLES.search(sql) and through_the_rule(sql)


# --- The page cache: a newly public story joins the lists of its themes at once, and no others ---------


def draft_about(*theme_list, **fields):
    """A story with these themes whose one part is a draft: public once the part is published."""
    story = make_story(**fields)
    story.themes.add(*theme_list)
    return story, make_part(story=story, status=Part.Status.DRAFT)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_newly_published_story_joins_the_cached_lists_of_its_themes_at_the_next_request(
    client,
    any_cache,  # noqa: F811
    language,
):
    family, escape, work = themes("family", "escape", "work")
    read = story_about(family, created_days_ago=3)
    story_about(family, created_days_ago=2)
    piece = story_about(family, kind=Story.Kind.SINGLE, created_days_ago=3)
    # The only story about escape yet: its pages show no related story, and must show the first one.
    alone = story_about(escape, created_days_ago=3)
    elsewhere = story_about(work, created_days_ago=3)
    story_about(work, created_days_ago=2)
    newcomer, part = draft_about(family, escape)
    pages = {
        "part": url_in(read.parts.get(), language),
        "story": url_in(read, language),
        "single piece": url_in(piece, language),
        "no related story": url_in(alone.parts.get(), language),
        "another theme": url_in(elsewhere.parts.get(), language),
    }
    for name, page in pages.items():
        shown = related_section(client.get(page).content.decode())
        assert (shown is None) == (name == "no related story") and newcomer.slug not in (shown or []), name
        assert is_warm(client, page), name

    services.part_publish(part=part)

    for name in ("part", "story", "single piece", "no related story"):
        # Newest first among stories sharing as many themes.
        assert related_section(client.get(pages[name]).content.decode())[0] == newcomer.slug, name
    assert is_warm(client, pages["another theme"])
    assert newcomer.slug not in client.get(pages["another theme"]).content.decode()


def test_a_story_published_in_one_language_leaves_the_other_languages_pages_warm(client, any_cache):  # noqa: F811
    (family,) = themes("family")
    read = story_about(family)
    newcomer, part = draft_about(family, title_ko="")
    english, korean = (url_in(read.parts.get(), language) for language in LANGUAGES)
    for page in (english, korean):
        assert related_section(client.get(page).content.decode()) is None
        assert is_warm(client, page)

    services.part_publish(part=part)

    assert related_section(client.get(english).content.decode()) == [newcomer.slug]
    assert is_warm(client, korean)


def test_a_story_gaining_a_theme_joins_the_cached_lists_of_that_theme_at_once(client, any_cache):  # noqa: F811
    family, escape, work = themes("family", "escape", "work")
    alone = story_about(escape, created_days_ago=2)
    mover = story_about(family, created_days_ago=1)
    elsewhere = story_about(work)
    story_about(work)
    lonely, other = url_in(alone.parts.get(), "en"), url_in(elsewhere.parts.get(), "ko")
    for page in (lonely, other):
        client.get(page)
        assert is_warm(client, page)

    mover.themes.add(escape)

    assert related_section(client.get(lonely).content.decode()) == [mover.slug]
    assert is_warm(client, other)
    mover.themes.remove(escape)
    assert related_section(client.get(lonely).content.decode()) is None
    # From the theme's side as well.
    escape.stories.add(mover)
    assert related_section(client.get(lonely).content.decode()) == [mover.slug]
    assert is_warm(client, other)


def test_every_change_of_a_storys_themes_invalidates_the_sets_it_joins_or_leaves(db, monkeypatch):
    """Leaving a theme can change lists that never showed the story: the next candidate takes its place."""
    family, escape, work = themes("family", "escape", "work")
    story = story_about(family, escape)
    invalidated = []
    monkeypatch.setattr(caching, "invalidate", lambda *tags: invalidated.append(set(tags)))

    def sets_of(*theme_list):
        return {caching.theme_stories(theme.pk, language) for theme in theme_list for language in LANGUAGES}

    def sets_invalidated():
        found = {tag for tags in invalidated for tag in tags if tag.endswith(tuple(f":stories:{c}" for c in LANGUAGES))}
        invalidated.clear()
        return found

    story.themes.add(work)
    assert sets_invalidated() == sets_of(work)
    story.themes.remove(family)
    assert sets_invalidated() == sets_of(family)
    story.themes.clear()
    assert sets_invalidated() == sets_of(escape, work)
    family.stories.add(story)
    assert sets_invalidated() == sets_of(family)
    family.stories.clear()
    assert sets_invalidated() == sets_of(family)


def test_publication_invalidates_the_sets_of_a_story_whose_own_rows_changed_and_no_other(db, monkeypatch):
    family, escape, work = themes("family", "escape", "work")
    serial = story_about(family, escape)
    newcomer, part = draft_about(work, title_ko="")
    invalidated = []
    monkeypatch.setattr(caching, "invalidate", lambda *tags: invalidated.extend(tags))

    # A new part of a live story: the story's own rows stay as they were, and so do its themes' sets.
    make_part(story=serial)
    assert f"stories.story:{serial.pk}" in invalidated
    assert not [tag for tag in invalidated if ":stories:" in tag]
    invalidated.clear()
    # A story going public in English: the English set of each of its themes.
    services.part_publish(part=part)
    assert [tag for tag in invalidated if ":stories:" in tag] == [caching.theme_stories(work.pk, "en")]
    invalidated.clear()
    # A withdrawal takes every story of the teller out of each language's sets.
    services.consent_withdraw(storyteller=serial.storyteller, reason="Withdrawn.", recorded_by=None)
    assert {tag for tag in invalidated if ":stories:" in tag} == {
        caching.theme_stories(theme.pk, language) for theme in (family, escape) for language in LANGUAGES
    }
