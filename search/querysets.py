"""Finding entries: every word of the query inside the entry's text, ranked by where it was found.

The same on both databases. A word of three characters or more is looked up in the text index: on
SQLite the FTS5 trigram table (search_entry_fts), on PostgreSQL pg_trgm's GIN index, which ``LIKE``
uses. A trigram index cannot find a shorter word ("강", "엄마"): such words are looked up in the index of
each entry's distinct pieces of words of one and two characters (``SearchEntry.grams``,
``search.text.short_grams``): on SQLite the FTS5 table search_entry_grams, on PostgreSQL a GIN index on
the pieces as an array. An entry holds a short word exactly when the word is one of its pieces, so both
paths are exact over the whole archive, alone or together (their conditions are ANDed).
"""

import datetime
import operator
from functools import reduce

from django.db import connection
from django.db.models import BooleanField, Case, Func, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL

from search.text import TRIGRAM, matched_forms
from stories.querysets import PublicationQuerySet

# How many matches a search ranks and counts: the newest this many. A word found in more parts (a
# common word, in an archive of 100,000 parts, is in tens of thousands) costs the same as one found in
# exactly this many, instead of the count and the ranking of every part that holds it.
MOST_RANKED = 1000
NEWEST = ("-published_at", "-part_id")
# Points for each query word, by where it is found; a word found in the body alone adds nothing,
# so a match in a part's title ranks above a match in its body. Ties: newest first.
WEIGHTS = (("title", 4), ("heading", 2), ("summary", 1))


class HoldsGrams(Func):
    """PostgreSQL: the entry's pieces of words (a column of them separated by spaces) hold every one given.

    Written as the GIN index's expression (search.migrations.0003), so that the planner uses the index.
    """

    output_field = BooleanField()

    def __init__(self, expression, grams: list[str]) -> None:
        super().__init__(expression)
        self.grams = list(grams)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError("HoldsGrams is PostgreSQL's; SQLite matches search_entry_grams.")

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        return f"string_to_array({column}, ' ') @> %s::text[]", (*params, self.grams)


class SearchEntryQuerySet(PublicationQuerySet):
    def found(self, language: str, words: list[str], *, now: datetime.datetime | None = None) -> "SearchEntryQuerySet":
        """Live entries of the language whose text holds every word (as ``search.text.query_words`` gives them).

        An entry holds a word if it holds any of its forms (``search.text.matched_forms``: an English
        word's stem, for instance).
        """
        live = self.live(language, now=now)
        if not words:
            return live.none()
        indexed = [word for word in words if len(word) >= TRIGRAM]
        short = [word for word in words if len(word) < TRIGRAM]
        queryset = live
        if connection.vendor == "sqlite":
            # Each form and piece a quoted FTS5 string: letters and digits only, so nothing in it is FTS
            # syntax; a word's forms joined with OR, the words with AND.
            if indexed:
                expression = " AND ".join(
                    "(" + " OR ".join(f'"{form}"' for form in matched_forms(word, language)) + ")" for word in indexed
                )
                queryset = queryset.filter(
                    pk__in=RawSQL("SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s", [expression])
                )
            if short:
                expression = " AND ".join(f'"{word}"' for word in short)
                queryset = queryset.filter(
                    pk__in=RawSQL(
                        "SELECT rowid FROM search_entry_grams WHERE search_entry_grams MATCH %s", [expression]
                    )
                )
            return queryset
        for word in indexed:
            # LIKE '%form%' for each form, ORed: what pg_trgm's index serves (a BitmapOr).
            forms = matched_forms(word, language)
            queryset = queryset.filter(reduce(operator.or_, (Q(document__contains=form) for form in forms)))
        if short:
            queryset = queryset.filter(HoldsGrams("grams", short))
        return queryset

    def best(self, language: str, words: list[str]) -> tuple[list[int], bool]:
        """The ids of the entries of this queryset (``found()``), best first, and whether there were more.

        Only the newest ``MOST_RANKED`` matches are ranked: one query, which reads the newest index (or
        the text indexes, for a rare word) until it has them, and ranks them on their short columns.
        """
        newest = self.order_by(*NEWEST).values("pk")[: MOST_RANKED + 1]
        rows = list(
            self.model.objects.filter(pk__in=newest)
            .ranked(language, words)
            .values_list("pk", "published_at", "part_id")
        )
        more = len(rows) > MOST_RANKED
        if more:
            rows.remove(min(rows, key=lambda row: (row[1], row[2])))
        return [pk for pk, _published_at, _part_id in rows], more

    def ranked(self, language: str, words: list[str]) -> "SearchEntryQuerySet":
        """Best first: points for each word found in the title, the story's title or pseudonym, a summary."""
        return self.alias(score=score(language, words)).order_by("-score", *NEWEST)


def score(language: str, words: list[str]):
    """The points of an entry: for each word, those of each field it is found in (``WEIGHTS``), in any form."""
    total = Value(0)
    for word in words:
        forms = matched_forms(word, language)
        for field, points in WEIGHTS:
            condition = reduce(operator.or_, (Q(**{f"{field}__contains": form}) for form in forms))
            found = When(condition, then=Value(points))
            total = total + Case(found, default=Value(0), output_field=IntegerField())
    return total
