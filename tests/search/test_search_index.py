"""The search index is the publication rows' text: exactly the public parts, in every state and at every moment.

The property test reuses the random states and changes of the publication table's own test (statuses,
schedules, consent ledgers, translations, withdrawals, stories moving between storytellers) and, after
every change and at each moment the clock moves to, compares what a search finds with the definition,
``Part.objects.public()``, in both languages.
"""

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import index as search_index
from search.index import entry_text
from search.models import SearchEntry
from search.text import html_text, query_words, short_grams, snippet
from stories import services
from stories.models import Part
from stories.publication import publication_batch, publication_check, publication_rebuild
from tests.conftest import make_part
from tests.search.test_search import url_of
from tests.stories.test_publication import BASE, CLOCK_MOVES, LANGUAGES, apply, build, change, storyteller


def found(code: str, words: list[str], now: datetime.datetime) -> set[int]:
    return set(SearchEntry.objects.found(code, words, now=now).values_list("part_id", flat=True))


def assert_search_finds_exactly_the_public_parts() -> None:
    for move in CLOCK_MOVES:
        now = BASE + move
        for code in LANGUAGES:
            public = set(Part.objects.public(code, now=now).values_list("pk", flat=True))
            # Every part's title in the tests' states is "title <language> Part": one word finds them all,
            # through the index ("title") and through the short-word path ("en" or "ko").
            assert found(code, ["title", "part"], now) == public, (code, move)
            assert found(code, [code], now) == public, (code, move, "short")
            other = "ko" if code == "en" else "en"
            assert found(code, [other, "title"], now) == set(), (code, move, "another language's text")
    assert not publication_check()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tellers=st.lists(storyteller, min_size=1, max_size=3), changes=st.lists(change, max_size=3))
def test_search_always_finds_exactly_what_the_definition_makes_public(db, tellers, changes):
    with transaction.atomic():
        with publication_batch():
            made = build(tellers)
        assert_search_finds_exactly_the_public_parts()
        for step in changes:
            apply(made, step)
            assert_search_finds_exactly_the_public_parts()
        transaction.set_rollback(True)


def test_an_entry_holds_the_public_text_of_its_language(db):
    part = make_part(title_en="Frost", body_en="A *hard* winter.\n\nThe **well** froze.", title_ko="서리")
    entry = SearchEntry.objects.get(part=part, language="en")
    assert entry.title == "frost"
    assert entry.document.split("\n")[-2:] == ["a hard winter.", "the well froze."]
    assert "서리" not in entry.document
    assert entry.published_at == part.published_at
    values = {f"{name}_en": getattr(part, f"{name}_en") for name in ("title", "summary", "body_html")}
    values |= {
        "story__title_en": part.story.title_en,
        "story__summary_en": part.story.summary_en,
        "story__storyteller__pseudonym_en": part.story.storyteller.pseudonym_en,
    }
    assert entry_text(values, "en")["document"] == entry.document


def test_publication_check_finds_and_repairs_the_index(db):
    part = make_part(body_en="the apple orchard")
    hidden = make_part(status=Part.Status.DRAFT)
    # Out of step, as a hand edit of the database would leave it.
    SearchEntry.objects.filter(part=part, language="en").update(document="nothing of the sort")
    SearchEntry.objects.filter(part=part, language="ko").delete()
    SearchEntry.objects.create(
        part=hidden,
        story=hidden.story,
        storyteller=hidden.story.storyteller,
        language="en",
        published_at=BASE - datetime.timedelta(days=1),
        review_by=BASE.date() + datetime.timedelta(days=30),
        title="",
        heading="",
        summary="",
        document="a draft",
    )
    check = publication_check()
    assert ("search.SearchEntry", "en", {part.pk}, {hidden.pk}) in check.disagreements
    assert ("search.SearchEntry", "ko", {part.pk}, set()) in check.disagreements
    with pytest.raises(CommandError, match="repaired"):
        call_command("publication_check", "--repair")
    assert not publication_check()
    assert set(SearchEntry.objects.found("en", ["orchard"]).values_list("part_id", flat=True)) == {part.pk}
    assert not SearchEntry.objects.filter(part=hidden).exists()


def test_a_rebuild_writes_the_same_index(db):
    parts = [make_part(body_en=f"passage {n}") for n in range(3)]
    before = sorted(SearchEntry.objects.values_list("part_id", "language", "document"))
    SearchEntry.objects.all().delete()
    publication_rebuild()
    assert sorted(SearchEntry.objects.values_list("part_id", "language", "document")) == before
    assert len(before) == 2 * len(parts)


def test_the_text_of_html_is_what_a_reader_sees():
    assert html_text("<p>One &amp; two</p><blockquote><p>Three</p></blockquote><p>Fo<em>ur</em></p>") == (
        "One & two\nThree\nFour"
    )


def test_query_words_are_letters_and_digits_only():
    assert query_words('"Mother" NEAR(river)* ^x: 어머니를, 2024') == [
        "mother",
        "near",
        "river",
        "x",
        "어머니를",
        "2024",
    ]
    assert query_words("\"*^:()'%_\\") == []
    assert query_words("Ａｂｃ") == ["abc"]


def test_a_snippet_marks_every_word_and_keeps_text_whole():
    segments = snippet(["No match here.", "The river, the River."], ["river"])
    assert segments == [("The ", False), ("river", True), (", the ", False), ("River", True), (".", False)]
    assert snippet(["", "Start of the text."], ["absent"]) == [("Start of the text.", False)]


def test_a_recap_is_found_where_the_part_page_shows_it(client, db):
    story = make_part(title_en="Part one").story
    second = make_part(story=story, recap_en="Earlier, she crossed the frozen *estuary* at night.")
    first = Part.objects.get(story=story, number=1)
    # Part 1's page never shows a recap, so it is never found by one.
    first.recap_en = "A recap the first part's page does not show: estuary."
    first.save()
    entries = SearchEntry.objects.filter(document__contains="estuary", language="en")
    assert list(entries.values_list("part_id", flat=True)) == [second.pk]
    html = client.get("/en/search/", {"q": "estuary"}).content.decode()
    assert (
        url_of(second) in html
        and 'crossed the frozen <mark class="search-result__match">estuary</mark> at night' in html
    )


def test_a_rebuild_leaves_the_text_index_kept_in_step_by_its_triggers(db):
    """On SQLite the rebuild drops the triggers, builds the text index in one pass and creates them again."""
    from django.db import connection

    make_part(body_en="an orchard in winter")
    triggers = None
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            triggers = cursor.fetchall()
        assert len(triggers) == 6
    publication_rebuild()
    assert set(SearchEntry.objects.found("en", ["orchard"]).values_list("part_id", flat=True))
    if triggers is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            assert cursor.fetchall() == triggers
    # The triggers still keep the text index in step: a part published after the rebuild is found,
    # and one taken down is not.
    later = make_part(body_en="a lantern at the window")
    assert set(SearchEntry.objects.found("en", ["lantern"]).values_list("part_id", flat=True)) == {later.pk}
    later.status = later.Status.DRAFT
    later.save()
    from stories.publication import publication_refresh

    publication_refresh(storyteller_ids=[later.story.storyteller_id])
    assert not SearchEntry.objects.found("en", ["lantern"]).exists()


def test_a_storytellers_refresh_works_out_the_text_of_a_changed_source_only(db, monkeypatch):
    kept = make_part(body_en="the lantern by the door")
    edited = make_part(story=kept.story, body_en="the old well")
    sources = {
        (part_id, code): source
        for part_id, code, source in SearchEntry.objects.values_list("part", "language", "source")
    }
    assert len(sources) == 4 and all(len(source) == 32 for source in sources.values())
    # A marker no document could give: the refresh leaves an entry whose source is unchanged as it is.
    SearchEntry.objects.filter(part=kept, language="en").update(grams="marker")
    worked_out = []
    monkeypatch.setattr(
        search_index, "entry_text", lambda values, code: worked_out.append(code) or entry_text(values, code)
    )

    edited.body_en = "the river in spring"
    services.part_save(part=edited)

    # Only the edited part's English text changed; its Korean one, and the other part, were not worked out.
    assert worked_out == ["en"]
    entry = SearchEntry.objects.get(part=edited, language="en")
    assert "river in spring" in entry.document
    assert entry.grams == short_grams(entry.document)
    assert len(entry.source) == 32 and entry.source != sources[(edited.pk, "en")]
    assert SearchEntry.objects.get(part=kept, language="en").grams == "marker"

    # The story's title is in every entry's text: a new one works all of them out again.
    worked_out.clear()
    story = kept.story
    story.title_ko = "새 제목"
    services.story_save(story=story)
    assert sorted(worked_out) == ["ko", "ko"]
    assert all(
        "새 제목" in heading for heading in SearchEntry.objects.filter(language="ko").values_list("heading", flat=True)
    )

    # An entry written before entries kept their source (migration 0004) is worked out again, and keeps one.
    worked_out.clear()
    SearchEntry.objects.filter(part=edited, language="ko").update(source=None)
    edited.refresh_from_db()
    services.part_save(part=edited)
    assert worked_out == ["ko"]
    assert len(SearchEntry.objects.get(part=edited, language="ko").source) == 32

    # The check works every text out again, whatever the source says: it finds the wrong one and repairs it.
    check = publication_check()
    assert ("search.SearchEntry", "en", {kept.pk}, set()) in check.disagreements
    with pytest.raises(CommandError, match="repaired"):
        call_command("publication_check", "--repair")
    entry = SearchEntry.objects.get(part=kept, language="en")
    assert entry.grams == short_grams(entry.document)
    assert not publication_check()
