"""Queries compiled once and run with new values (archive.prepared): same rows as the ORM, never stale values."""

import contextlib
import datetime
import tempfile

import pytest
from django.db import DataError, connection, transaction
from django.db.models import CharField, DateTimeField, F, IntegerField, Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from advocacy.models import Campaign
from archive.prepared import Param, PreparedQuery, loaded, run_together
from stories import caching
from stories.models import Part, Theme
from tests.conftest import make_part, make_story

pytestmark = pytest.mark.django_db

PARTS_OF_STORY = PreparedQuery(
    lambda language: (
        Part.objects.filter(story__slug=Param("slug", CharField()), published_at__lte=Param("now", DateTimeField()))
        .order_by("number")
        .values("id", "number", f"title_{language}", "published_at")
    )
)


def test_each_run_binds_its_own_values_into_the_sql_compiled_once(now):
    first = make_story(slug="first-story")
    second = make_story(slug="second-story")
    early = make_part(story=first, number=1, published_at=now - datetime.timedelta(days=2))
    make_part(story=first, number=2, published_at=now + datetime.timedelta(days=1))
    other = make_part(story=second, number=1, published_at=now - datetime.timedelta(days=1))

    assert [row["id"] for row in PARTS_OF_STORY(shape={"language": "en"}, slug="first-story", now=now)] == [early.pk]
    assert [row["id"] for row in PARTS_OF_STORY(shape={"language": "en"}, slug="second-story", now=now)] == [other.pk]
    later = now + datetime.timedelta(days=3)
    rows = PARTS_OF_STORY(shape={"language": "en"}, slug="first-story", now=later)
    assert [row["number"] for row in rows] == [1, 2]
    # The same rows, columns and converted values as the ORM's values().
    expected = list(
        Part.objects.filter(story__slug="first-story", published_at__lte=later)
        .order_by("number")
        .values("id", "number", "title_en", "published_at")
    )
    assert rows == expected
    assert all(isinstance(row["published_at"], datetime.datetime) for row in rows)
    assert rows[0]["published_at"].tzinfo is not None


def test_a_shape_compiles_its_own_sql_and_every_run_is_one_counted_query(now):
    make_part(story=make_story(slug="told"), number=1, title_en="In English", title_ko="한국어로", published_at=now)
    with CaptureQueriesContext(connection) as queries:
        english = PARTS_OF_STORY(shape={"language": "en"}, slug="told", now=now)
        korean = PARTS_OF_STORY(shape={"language": "ko"}, slug="told", now=now)
    assert len(queries) == 2
    assert english[0]["title_en"] == "In English"
    assert korean[0]["title_ko"] == "한국어로"


def test_columns_are_named_as_the_sql_selects_them_whatever_order_values_was_given():
    campaign = Campaign.objects.create(
        slug="names-in-order", title_en="A title", kicker_en="Urgent", summary_en="A summary", priority=7
    )
    query = PreparedQuery(
        lambda: Campaign.objects.filter(pk=Param("pk", IntegerField())).values(
            "priority", "kicker_en", "id", "summary_en", "slug", "title_en"
        )
    )
    (row,) = query(pk=campaign.pk)
    assert row == {
        "priority": 7,
        "kicker_en": "Urgent",
        "id": campaign.pk,
        "summary_en": "A summary",
        "slug": "names-in-order",
        "title_en": "A title",
    }


def test_a_time_compiled_into_the_sql_is_refused_because_it_would_never_change(now):
    frozen = PreparedQuery(lambda: Part.objects.filter(published_at__lte=timezone.now()).values("id"))
    with pytest.raises(TypeError, match="pass it as a Param"):
        frozen()


PARTS_PAGED = PreparedQuery(
    lambda: Part.objects.filter(published_at__lte=Param("now", DateTimeField())).order_by("pk").values("id"),
    paged=True,
)


def test_a_paged_query_runs_one_compiled_statement_for_every_page(now):
    story = make_story(slug="paged")
    keys = [make_part(story=story, number=number, published_at=now).pk for number in range(1, 8)]
    pages = [[row["id"] for row in PARTS_PAGED(limit=3, offset=offset, now=now)] for offset in (0, 3, 6, 9)]
    assert pages == [keys[0:3], keys[3:6], keys[6:7], []]
    assert [row["id"] for row in PARTS_PAGED(limit=5, offset=1, now=now)] == keys[1:6]
    assert len(PARTS_PAGED._compiled) == 1


def test_a_paged_query_is_not_sliced_by_its_definition():
    sliced = PreparedQuery(lambda: Part.objects.order_by("pk").values("id")[:10], paged=True)
    with pytest.raises(TypeError, match="do not slice"):
        sliced(limit=10, offset=0)


def test_a_query_of_model_instances_is_refused():
    with pytest.raises(TypeError, match="values"):
        PreparedQuery(lambda: Part.objects.all())()


def test_loaded_instances_tell_the_page_cache_what_the_page_shows(part):
    token = caching._shown.set(set())
    try:
        shown = loaded(Part, {"id": part.pk, "story_id": part.story_id, "number": part.number})
        assert {f"stories.part:{part.pk}", f"stories.story:{part.story_id}"} <= caching._shown.get()
    finally:
        caching._shown.reset(token)
    assert shown.pk == part.pk
    assert not shown._state.adding


@contextlib.contextmanager
def round_trips():
    """Count the times the connection waits for PostgreSQL's answer: its ReadyForQuery messages (libpq's trace).

    Yields a list that holds the count once the block ends.
    """
    from psycopg import pq

    connection.ensure_connection()
    wire = connection.connection.pgconn
    counted = []
    with tempfile.TemporaryFile() as trace:
        wire.trace(trace.fileno())
        wire.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield counted
        finally:
            wire.untrace()
        trace.seek(0)
        counted.append(sum(1 for line in trace.read().decode().splitlines() if "\tReadyForQuery" in line))


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pipeline mode")


def test_runs_sent_together_each_return_their_own_rows_in_order_each_a_counted_query(now):
    first = make_story(slug="first-together")
    make_part(story=first, number=1, title_en="One", published_at=now)
    make_part(story=first, number=2, title_en="Two", published_at=now)
    make_part(story=make_story(slug="second-together"), number=1, title_en="Other", published_at=now)
    slugs = ("first-together", "second-together")
    alone = [PARTS_OF_STORY(shape={"language": "en"}, slug=slug, now=now) for slug in slugs]
    with CaptureQueriesContext(connection) as queries:
        together = run_together(
            PARTS_OF_STORY.run(shape={"language": "en"}, slug="first-together", now=now),
            None,
            PARTS_OF_STORY.run(shape={"language": "en"}, slug="second-together", now=now),
            PARTS_OF_STORY.run(shape={"language": "en"}, slug="nowhere", now=now),
        )
    assert together == [alone[0], None, alone[1], []]
    assert [row["title_en"] for row in together[0]] == ["One", "Two"]
    # Each statement is a query of its own to Django: counted and logged, whether or not it went in one round trip.
    assert len(queries) == 3
    assert run_together() == [] and run_together(None) == [None]


@postgresql_only
def test_runs_sent_together_wait_for_postgresql_once(now):
    make_part(story=make_story(slug="waited-for"), number=1, published_at=now)
    runs = [PARTS_OF_STORY.run(shape={"language": "en"}, slug="waited-for", now=now) for _ in range(3)]
    for _ in range(5):
        # Past psycopg's threshold, the statement is prepared on the server (a round trip of its own, once).
        runs[0].rows()
    with round_trips() as apart:
        for run in runs:
            run.rows()
    with round_trips() as together:
        rows = run_together(*runs)
    assert apart == [3]
    assert together == [1]
    assert [len(found) for found in rows] == [1, 1, 1]


DIVIDED = PreparedQuery(
    lambda: Part.objects.annotate(share=F("number") / Param("by", IntegerField())).order_by("pk").values("share")
)


@postgresql_only
def test_a_run_that_fails_among_others_raises_the_database_error_and_the_connection_goes_on(now):
    make_part(story=make_story(slug="divided"), number=4, published_at=now)
    with pytest.raises(DataError), transaction.atomic():
        run_together(DIVIDED.run(by=2), DIVIDED.run(by=0), DIVIDED.run(by=4))
    # Rolled back to before the failed statements: the connection answers the next runs.
    assert run_together(DIVIDED.run(by=2), DIVIDED.run(by=4)) == [[{"share": 2}], [{"share": 1}]]
    assert Part.objects.annotate(one=Value(1)).count() == 1


@postgresql_only
def test_the_reading_pages_send_the_queries_that_need_no_other_rows_together(client, settings, now):
    """A part or story page waits for the serial's rows, then for everything else it reads (related stories,
    campaigns, content warnings, the press strip) at once; the home page and the feed wait once."""
    from advocacy.models import PressMention
    from tests.advocacy.conftest import make_campaign

    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    story = make_story(slug="read-at-once")
    # With a theme, so the part page asks for related stories (a story without one sends no such query).
    story.themes.add(Theme.objects.create(slug="courage", name_en="Courage", name_ko="용기"))
    part = make_part(story=story, number=2, published_at=now)
    make_part(story=story, number=1, published_at=now)
    alone = make_story(slug="no-theme")
    make_part(story=alone, number=1, published_at=now)
    unthemed = make_part(story=alone, number=2, published_at=now)
    make_campaign(stories=[story])
    PressMention.objects.create(name="A Daily Paper", link="https://paper.example/a")
    pages = {
        part.get_absolute_url(): (2, 4),
        unthemed.get_absolute_url(): (2, 3),
        story.get_absolute_url(): (2, 4),
        "/en/": (1, 5),
        "/ko/": (1, 5),
        "/en/feed/": (1, 2),
    }
    for page, (round_trips_made, queries) in pages.items():
        for _ in range(5):
            # Past psycopg's threshold: each statement is prepared on the server once (a round trip of its own).
            assert client.get(page).status_code == 200
        with round_trips() as waits, CaptureQueriesContext(connection) as captured:
            assert client.get(page).status_code == 200
        assert waits == [round_trips_made], page
        assert len(captured) == queries, page


@postgresql_only
def test_runs_go_together_with_prepared_statements_off_as_behind_an_old_pooler(now, monkeypatch):
    """``DATABASE_PREPARED_STATEMENTS=0`` binds values on the client (Django's ``Cursor``): still one wait."""
    from django.db.backends.postgresql.base import Cursor

    make_part(story=make_story(slug="client-bound"), number=1, published_at=now)
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "cursor_factory", Cursor)
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    with connection.cursor() as cursor:
        assert type(cursor.cursor) is Cursor  # values bound into the SQL text, on the client
    runs = [PARTS_OF_STORY.run(shape={"language": "en"}, slug=slug, now=now) for slug in ("client-bound", "nowhere")]
    with round_trips() as together:
        rows = run_together(*runs)
    assert together == [1]
    assert [[row["number"] for row in found] for found in rows] == [[1], []]
