"""Related stories: a few live stories that share the most themes with the one a reader has just read.

Read from the publication table (the visibility rule, materialised) in one prepared query, whose work is
bounded by how many candidates it takes, not by the size of the archive: it walks the language's live
stories newest first along ``story_publication_newest_idx`` and keeps the first ``RELATED_CANDIDATES`` that
share a theme with this story, each checked by one probe of the theme table's ``(story_id, theme_id)``
unique index; the few that share the most themes among them are shown, newest first among equals.

A page that has read the story's themes already (the part page's serial query does, ``StoryThemes``) gives
them to the query as values: each candidate is then one probe of that index for any of those themes, rather
than a probe for each of the candidate's themes and a lookup of the story's for each; at 100,000 parts on
PostgreSQL that took the query's execution from about 0.55 to 0.35 ms. Otherwise the same query reads the story's own
themes (``UNION ALL`` of its rows of the theme table), even when no story shares them, because the page
cache must know them: a page that shows related stories depends on
the set of live stories of each of its story's themes (``stories.caching.theme_stories``), which a
publication change of a story with that theme or a change of a story's themes invalidates. So a newly
published story joins the lists of the pages that share a theme with it at their next request, and a page
that found none finds it; pages of other themes stay warm.
"""

import functools
import operator

from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
)
from django.utils import translation

from archive.prepared import Param, PreparedQuery, Run, clock_values, loaded, now_param, today_param
from stories.caching import depends_on, theme_stories
from stories.models import Story, StoryPublication, Storyteller
from stories.querysets import live_window

RELATED_STORY_COUNT = 3
# The newest live stories sharing a theme that are ranked: enough to find those sharing two or three
# themes among them, few enough that the walk stops within a few dozen index entries.
RELATED_CANDIDATES = 24


def _related_query(language: str, themes: int | None = None):
    """Live story rows of the language sharing a theme with the story, with what a card shows; then its themes.

    A candidate's row has ``theme_id`` null; each of the story's own themes is a row with the story's id,
    the theme's id and nothing else. With ``themes``, the number of the story's themes, given as the params
    ``theme_0``, ``theme_1`` …: the candidates alone.
    """
    story = Param("story", BigIntegerField())
    now, today = now_param(), today_param()
    tagged = Story.themes.through.objects
    if themes is None:
        themes_here = tagged.filter(story_id=story).values("theme_id")
        sharing = Q(theme_id__in=themes_here)
    else:
        # One equality a theme (a foreign key's ``__in`` takes no params).
        sharing = functools.reduce(
            operator.or_, (Q(theme_id=Param(f"theme_{n}", BigIntegerField())) for n in range(themes))
        )
    shared = tagged.filter(sharing, story_id=OuterRef("story_id"))
    shared_count = shared.order_by().values("story_id").annotate(count=Count("theme_id")).values("count")
    walk = StoryPublication.objects.filter(live_window("", language, now, today=today))
    if themes is None:
        # Not correlated: a story without themes stops the query before it reads a row.
        walk = walk.filter(Exists(themes_here))
    candidates = (
        walk.filter(Exists(shared))
        .exclude(story_id=story)
        # The order of story_publication_newest_idx, so the walk stops at the last candidate.
        .order_by("-story_created_at", "-story_id")
        .values("pk")[:RELATED_CANDIDATES]
    )
    # A compound query's parts take no ORDER BY or LIMIT on SQLite: the walk is a subquery, its rows
    # are fetched by primary key (and ranked in Python).
    cards = {
        "story_id": "story_id",
        "shared_themes": Subquery(shared_count),
        "story__slug": "story__slug",
        "story__created_at": "story__created_at",
        "story__is_complete": "story__is_complete",
        f"story__title_{language}": f"story__title_{language}",
        f"story__summary_{language}": f"story__summary_{language}",
        "story__storyteller_id": "story__storyteller_id",
        f"story__storyteller__pseudonym_{language}": f"story__storyteller__pseudonym_{language}",
        "theme_id": Value(None, output_field=BigIntegerField()),
    }
    found = StoryPublication.objects.filter(pk__in=candidates).annotate(
        **{name: value for name, value in cards.items() if not isinstance(value, str)}
    )
    if themes is not None:
        return found.values(*cards)
    # The story's own themes in the same columns (a union keeps the first part's names): the story's id,
    # a null for each column of a card, and the theme's id.
    blanks = [IntegerField(), CharField(), DateTimeField(), BooleanField()]
    blanks += [CharField(), TextField(), BigIntegerField(), CharField()]
    own = tagged.filter(story_id=story).annotate(
        **{f"blank_{n}": Value(None, output_field=field) for n, field in enumerate(blanks)}
    )
    return found.values(*cards).union(
        own.values("story_id", *(f"blank_{n}" for n in range(len(blanks))), "theme_id"), all=True
    )


RELATED_STORIES = PreparedQuery(_related_query)


def related_stories_run(story_id: int, language: str | None = None, *, themes: list[int] | None = None) -> Run | None:
    """The query ``related_stories`` reads, for a page that sends it with others (``run_together``).

    ``themes``: the story's themes, when the page has read them (``StoryThemes``); ``None`` (no query)
    when it has none.
    """
    language = language or translation.get_language()
    if themes is None:
        return RELATED_STORIES.run(shape={"language": language}, story=story_id, **clock_values())
    if not themes:
        return None
    given = {f"theme_{n}": theme for n, theme in enumerate(themes)}
    shape = {"language": language, "themes": len(themes)}
    return RELATED_STORIES.run(shape=shape, story=story_id, **given, **clock_values())


def related_stories(
    story_id: int, language: str | None = None, *, rows: list[dict] | None = None, themes: list[int] | None = None
) -> list[Story]:
    """The live stories of the reader's language that share the most themes with this one, at most a few.

    ``rows`` are those of ``related_stories_run`` for the same story, language and ``themes``, when the page
    has read them already; ``themes`` the story's themes, when it has read those. The page being rendered
    depends on the live stories of each of the story's themes (the page cache).
    """
    language = language or translation.get_language()
    if rows is None:
        run = related_stories_run(story_id, language, themes=themes)
        rows = run.rows() if run is not None else []
    if themes is None:
        themes = [row["theme_id"] for row in rows if row["theme_id"] is not None]
        rows = [row for row in rows if row["theme_id"] is None]
    depends_on(*(theme_stories(theme, language) for theme in themes))
    # Newest first, as the walk went; a stable sort keeps that order among stories sharing as many themes.
    rows.sort(key=lambda row: (row["story__created_at"], row["story_id"]), reverse=True)
    rows = sorted(rows, key=lambda row: -row["shared_themes"])[:RELATED_STORY_COUNT]
    found = []
    for row in rows:
        pseudonym = row[f"story__storyteller__pseudonym_{language}"]
        teller = loaded(Storyteller, {"id": row["story__storyteller_id"], f"pseudonym_{language}": pseudonym})
        story = loaded(
            Story,
            {
                "id": row["story_id"],
                "slug": row["story__slug"],
                "created_at": row["story__created_at"],
                "is_complete": row["story__is_complete"],
                "storyteller_id": teller.pk,
                f"title_{language}": row[f"story__title_{language}"],
                f"summary_{language}": row[f"story__summary_{language}"],
            },
        )
        story._state.fields_cache["storyteller"] = teller
        story.shared_themes = row["shared_themes"]
        found.append(story)
    return found
