"""Queries compiled once and run with new values (archive.prepared): same rows as the ORM, never stale values."""

import datetime

import pytest
from django.db import connection
from django.db.models import CharField, DateTimeField, IntegerField
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from advocacy.models import Campaign
from archive.prepared import Param, PreparedQuery, loaded
from stories import caching
from stories.models import Part
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
