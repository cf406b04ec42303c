"""Words of one or two characters ("강", "엄마", "ox") are found anywhere in the archive, however old the part,
through the index of each entry's short pieces of words: exact, alone or with longer words, and kept in step
with the entries in the same transaction. The same tests on SQLite (FTS5) and PostgreSQL (GIN).
"""

import datetime
import importlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from search import querysets
from search import views as search_views
from search.models import SearchEntry
from search.querysets import HoldsGrams
from search.text import normalise, short_grams
from stories import services
from stories.models import Part
from stories.publication import publication_check
from tests.conftest import make_part, make_story
from tests.search.test_search import found_urls, search, url_of


def found(language: str, words: list[str]) -> set[int]:
    return set(SearchEntry.objects.found(language, words).values_list("part_id", flat=True))


def in_short_index(word: str) -> set[int]:
    """The entries the short-word index itself holds the word for, live or not (not through found())."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT rowid FROM search_entry_grams WHERE search_entry_grams MATCH %s", [f'"{word}"'])
            return {row[0] for row in cursor.fetchall()}
    return set(SearchEntry.objects.filter(HoldsGrams("grams", [word])).values_list("pk", flat=True))


def test_the_short_pieces_are_those_of_each_word_and_never_across_two():
    assert short_grams(normalise("엄마를 Ox! 두만_강, a1")).split() == sorted(
        ["엄", "마", "를", "엄마", "마를", "o", "x", "ox", "두", "만", "두만", "강", "a", "1", "a1"]
    )
    assert short_grams("") == ""


@pytest.fixture
def old_and_new(db, monkeypatch):
    """One old part holding the short words, behind newer parts that hold none, and more than are ranked."""
    monkeypatch.setattr(querysets, "MOST_RANKED", 3)
    monkeypatch.setattr(search_views, "MOST_RANKED", 3)
    now = timezone.now()
    story = make_story()
    old = make_part(
        story=story,
        body_en="An ox stood by the river.",
        body_ko="그해 겨울 엄마를 따라 강을 건넜다. 등불이 꺼졌다.",
        published_at=now - datetime.timedelta(days=900),
    )
    newer = [
        make_part(
            story=story,
            body_en=f"Fields and roads, {n}.",
            # The syllables of 엄마 and of 등불, never side by side; 강 never at all.
            body_ko=f"엄격한 마음으로 불을 등지고 {n}",
            published_at=now - datetime.timedelta(days=n + 1),
        )
        for n in range(6)
    ]
    return old, newer


def test_short_korean_words_are_found_in_the_oldest_part_with_particles_attached(client, old_and_new):
    old, newer = old_and_new
    # The old part is older than every other and than the newest MOST_RANKED entries of its language.
    for word in ("강", "엄마", "등불", "넜", "꺼"):
        assert found("ko", [word]) == {old.pk}, word
        assert found_urls(search(client, "ko", q=word)[1]) == [url_of(old, "ko")], word
    assert found("ko", ["엄"]) == {old.pk, *(part.pk for part in newer)}
    assert found("ko", ["마음"]) == {part.pk for part in newer}
    # Two pieces that are each somewhere, never together: not a match.
    assert found("ko", ["불등"]) == set()
    # Every short word must be found, as longer ones must.
    assert found("ko", ["엄마", "등불"]) == {old.pk}
    assert found("ko", ["엄마", "마음"]) == set()


def test_short_english_words_are_found_in_the_oldest_part(client, old_and_new):
    old, _newer = old_and_new
    assert found("en", ["ox"]) == {old.pk}
    assert found_urls(search(client, "en", q="ox")[1]) == [url_of(old)]
    # Inside longer words, as every word is: "ad" in "roads".
    assert len(found("en", ["ad"])) == 6


def test_short_and_long_words_together_must_all_be_found(client, old_and_new):
    old, newer = old_and_new
    assert found("ko", ["엄마", "겨울"]) == {old.pk}
    assert found("ko", ["강", "엄격한"]) == set()
    assert found("ko", ["엄", "엄격한"]) == {part.pk for part in newer}
    assert found("en", ["ox", "river"]) == {old.pk}
    assert found("en", ["ox", "fields"]) == set()
    assert found_urls(search(client, "ko", q="엄마 겨울")[1]) == [url_of(old, "ko")]


def test_short_words_cost_the_queries_of_any_search(client, old_and_new, django_assert_max_num_queries):
    def cost(language: str, query: str) -> int:
        with CaptureQueriesContext(connection) as context:
            search(client, language, q=query)
        return len(context)

    expected = cost("en", "river")
    for language, query in (("ko", "엄마"), ("ko", "강"), ("ko", "엄마 겨울"), ("en", "ox"), ("ko", "엄")):
        assert cost(language, query) == expected, query
    with django_assert_max_num_queries(5):
        search(client, "ko", q="엄")


def test_a_withdrawal_takes_the_short_pieces_out_in_the_same_transaction(db, consent_officer):
    part = make_part(body_ko="엄마와 강가에서")
    entry = SearchEntry.objects.get(part=part, language="ko")
    assert entry.pk in in_short_index("엄마") and found("ko", ["엄마"]) == {part.pk}
    with transaction.atomic():
        services.consent_withdraw(storyteller=part.story.storyteller, reason="Asked.", recorded_by=consent_officer)
        assert entry.pk not in in_short_index("엄마") and entry.pk not in in_short_index("강")
        assert found("ko", ["엄마"]) == set()


def test_unpublishing_and_editing_a_part_change_its_short_pieces_at_once(db):
    part = make_part(body_ko="엄마와 강가에서")
    with transaction.atomic():
        services.part_set_status(part=part, status=Part.Status.DRAFT)
        assert not in_short_index("엄마") and found("ko", ["강"]) == set()
    services.part_set_status(part=part, status=Part.Status.PUBLISHED)
    assert found("ko", ["엄마"]) == {part.pk}
    part.body_ko = "아빠와 들판에서"
    services.part_save(part=part)
    entry = SearchEntry.objects.get(part=part, language="ko")
    assert entry.pk not in in_short_index("엄마") and entry.pk in in_short_index("아빠")
    assert found("ko", ["엄마"]) == set() and found("ko", ["아빠"]) == {part.pk}


def test_the_migration_fills_the_pieces_of_existing_entries(db):
    migration = importlib.import_module("search.migrations.0003_short_word_index")
    part = make_part(body_ko="엄마와 강가에서")
    # As the column was before the migration filled it: empty, for every entry.
    SearchEntry.objects.update(grams="")
    assert found("ko", ["엄마"]) == set()
    assert publication_check()
    with connection.cursor() as cursor:
        migration._fill(cursor)
    assert found("ko", ["엄마"]) == {part.pk}
    assert not publication_check()


def test_a_short_query_ranks_the_newest_matches_of_its_scope_as_a_long_one_does(db, monkeypatch):
    # The short path picks the newest matches in Python (search.querysets.best): the same ids, in the
    # same order, as ORDER BY -published_at, -part_id and the ranking would give.
    monkeypatch.setattr(querysets, "MOST_RANKED", 4)
    now = timezone.now()
    story = make_story()
    tie = now - datetime.timedelta(days=5)
    parts = [
        make_part(
            story=story,
            body_ko=f"강가의 집 {n}",
            published_at=tie if n in (4, 5) else now - datetime.timedelta(days=10 - n),
        )
        for n in range(7)
    ]
    # The oldest has the word in its title, but is not among the newest four; part 4 is, and ranks first.
    for part, title in ((parts[0], "강 건너"), (parts[4], "강가에서")):
        part.title_ko = title
        part.save()
    make_part(story=story, body_ko="들판", published_at=now)
    found = SearchEntry.objects.found("ko", ["강"])
    ids, more = found.best("ko", ["강"])
    assert more
    # Parts 4 and 5 were published at the same time: the later part is the newer.
    assert [SearchEntry.objects.get(pk=pk).part_id for pk in ids] == [parts[n].pk for n in (4, 6, 5, 3)]
    newest = found.order_by(*querysets.NEWEST).values("pk")[:4]
    assert ids == list(SearchEntry.objects.filter(pk__in=newest).ranked("ko", ["강"]).values_list("pk", flat=True))
    # Exactly as many as are ranked: no "more".
    monkeypatch.setattr(querysets, "MOST_RANKED", 7)
    ids, more = found.best("ko", ["강"])
    assert not more and len(ids) == 7 and SearchEntry.objects.get(pk=ids[0]).part_id == parts[4].pk


def test_a_result_title_keeps_its_dash_with_the_part_number(db, client):
    story = make_story()
    make_part(story=story, body_en="A lantern by the river.", body_ko="강가의 등불")
    for language, query in (("en", "lantern"), ("ko", "등불")):
        html = client.get(f"/{language}/search/", {"q": query}).content.decode()
        title = html[html.index('class="search-result__title"') :]
        title = title[: title.index("</h2>")]
        # The dash never starts a line: a no-break space ties it to the number before it.
        assert "&nbsp;— " in title and " — " not in title


def test_publication_check_repairs_short_pieces_out_of_step(db):
    part = make_part(body_ko="엄마와 강가에서")
    SearchEntry.objects.filter(part=part, language="ko").update(grams="아빠")
    assert found("ko", ["엄마"]) == set() and found("ko", ["아빠"]) == {part.pk}
    check = publication_check()
    assert ("search.SearchEntry", "ko", {part.pk}, set()) in check.disagreements
    with pytest.raises(CommandError, match="repaired"):
        call_command("publication_check", "--repair")
    assert found("ko", ["엄마"]) == {part.pk} and found("ko", ["아빠"]) == set()
    assert not publication_check()
