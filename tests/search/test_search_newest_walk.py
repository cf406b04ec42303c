"""The newest walk (search.querysets.SearchEntryQuerySet.newest): a search of common words walks the newest
entries instead of reading the text indexes, and ranks exactly the entries the indexes would have given it,
in the same order, with the same "more", whichever path runs. The same tests on SQLite and PostgreSQL.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from search import querysets
from search import views as search_views
from search.models import SearchEntry
from stories.models import Theme
from tests.conftest import make_part, make_story
from tests.search.test_search import found_urls, search


@pytest.fixture
def archive(db, monkeypatch):
    """Twelve English parts, most holding "lantern", with ties on the publication time, titles that rank,
    a theme, a part published later than now (scheduled) and the fewest ranked that still leave some out."""
    monkeypatch.setattr(querysets, "MOST_RANKED", 4)
    monkeypatch.setattr(search_views, "MOST_RANKED", 4)
    monkeypatch.setattr(querysets, "PROBE_ROWS", 3)
    monkeypatch.setattr(querysets, "PROBE_HITS", 1)
    # Fewer than the archive's entries: the walk reads the newest seven only.
    monkeypatch.setattr(querysets, "WALK_ROWS", 7)
    now = timezone.now()
    tie = now - datetime.timedelta(days=12)
    theme = Theme.objects.create(slug="light", name_en="Light", name_ko="빛")
    parts = []
    for n in range(12):
        published_at = tie if n in (7, 8, 9) else now - datetime.timedelta(days=20 - n)
        body = "a lantern by the river" if n % 4 else "the river in winter"
        part = make_part(story=make_story(), body_en=body, published_at=published_at)
        if n in (2, 8):
            part.title_en = "The lantern"
            part.save()
        if n % 3 == 0:
            part.story.themes.add(theme)
        parts.append(part)
    make_part(story=make_story(), body_en="a lantern tomorrow", published_at=now + datetime.timedelta(days=1))
    return parts


def both_paths(words: list[str], *, theme: str | None = None):
    entries = SearchEntry.objects.found("en", words)
    if theme:
        entries = entries.filter(story__themes__slug=theme)
    return entries.best("en", words, walk=True), entries.best("en", words, walk=False)


def walked(words: list[str]) -> int:
    """How many matches the walk alone finds within its rows (the first half of the walking query)."""
    within = SearchEntry.objects.found("en", words)._within_newest("en", querysets.WALK_ROWS)
    return within.order_by(*querysets.NEWEST)[: querysets.MOST_RANKED + 1].count()


@pytest.mark.parametrize("probe_hits", [0, 1])
@pytest.mark.parametrize(
    ("words", "theme"),
    [(["lantern"], None), (["river"], None), (["lantern", "river"], None), (["river"], "light"), (["winter"], None)],
)
def test_the_walk_and_the_text_indexes_rank_the_same_entries_in_the_same_order(
    archive, monkeypatch, words, theme, probe_hits
):
    # With no hits asked of the probe the walk always runs: it fills for "lantern" and "river", and falls
    # back to the text indexes for the theme's four river parts and for "winter" (three parts).
    monkeypatch.setattr(querysets, "PROBE_HITS", probe_hits)
    walk, index = both_paths(words, theme=theme)
    assert walk == index
    assert walk[0], "each query finds something"


def test_a_walk_that_holds_enough_matches_gives_them_and_one_that_does_not_falls_back(archive, monkeypatch):
    parts = archive
    # Ten parts hold "lantern" (part 8 in its title): the newest seven entries hold the newest five of them,
    # ties on the publication time included.
    assert walked(["lantern"]) == 5
    ids, more = SearchEntry.objects.found("en", ["lantern"]).best("en", ["lantern"], walk=True)
    assert more
    # Part 8's title first (part 2's title is older than the newest five: not ranked), then the newest; parts
    # 7, 8 and 9 were published at the same time, the later part first, so part 7 is the one left out.
    assert [SearchEntry.objects.get(pk=pk).part_id for pk in ids] == [parts[n].pk for n in (8, 11, 10, 9)]
    # Walking only the newest four entries finds too few: the text indexes answer, with the same rows.
    monkeypatch.setattr(querysets, "WALK_ROWS", 4)
    assert walked(["lantern"]) < 5
    assert both_paths(["lantern"])[0] == (ids, more)
    # A probe that finds too few matches skips the walk: the same rows again.
    monkeypatch.setattr(querysets, "WALK_ROWS", 7)
    monkeypatch.setattr(querysets, "PROBE_HITS", 4)
    assert both_paths(["lantern"])[0] == (ids, more)


def test_exactly_as_many_matches_as_are_ranked_say_no_more_on_both_paths(archive, monkeypatch):
    # "winter" is in parts 0, 4 and 8: with three ranked, all of them and no "more". The walk always runs.
    monkeypatch.setattr(querysets, "PROBE_HITS", 0)
    monkeypatch.setattr(querysets, "MOST_RANKED", 3)
    walk, index = both_paths(["winter"])
    assert walk == index and len(walk[0]) == 3 and walk[1] is False
    monkeypatch.setattr(querysets, "MOST_RANKED", 2)
    walk, index = both_paths(["winter"])
    assert walk == index and len(walk[0]) == 2 and walk[1] is True


def test_the_scheduled_part_is_never_walked_or_found(archive):
    # The part published tomorrow holds "lantern" but is not public: not in the walk's rows, not found.
    ids, _more = both_paths(["tomorrow"])[0]
    assert ids == []
    assert walked(["tomorrow"]) == 0


def test_the_walk_needs_the_time_found_filtered_by(archive):
    with pytest.raises(TypeError):
        SearchEntry.objects.all()._within_newest("en", 10)


def test_the_search_page_walks_on_postgresql_in_one_query_as_before(client, archive):
    with CaptureQueriesContext(connection) as context:
        response, html = search(client, q="lantern")
    ranked = [query["sql"] for query in context.captured_queries if "walked" in query["sql"]]
    assert len(ranked) == (1 if connection.vendor == "postgresql" else 0)
    assert len(found_urls(html)) == 4
