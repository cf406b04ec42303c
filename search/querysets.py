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
from django.db.models.sql.datastructures import BaseTable
from django.utils import timezone

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
# PostgreSQL, a word of three characters or more: reading the text indexes costs a check of the text (a
# detoast) for every entry that holds the word, tens of thousands for a common one, where walking the
# newest entries stops at the newest MOST_RANKED + 1 matches. So a search first checks the newest
# PROBE_ROWS live entries of its language: when PROBE_HITS of them or more match (a word in about one
# entry in seven, where the walk and the indexes cost about the same at 100,000 parts), it walks the
# newest entries, at most WALK_ROWS of them, and reads the text indexes only if those held fewer than
# MOST_RANKED + 1 matches. Either way the same newest matches are ranked (best()).
PROBE_ROWS = 200
PROBE_HITS = 30
WALK_ROWS = 10_000


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


class Newest(BaseTable):
    """The newest ``rows`` entries of a language published by ``now``, newest first, in place of a query's table.

    A fence: the query's conditions apply to these rows only, so PostgreSQL walks the newest index and
    checks each row in turn instead of reading the text indexes, and stops once the query has its rows.
    """

    def __init__(self, table_name: str, alias: str, *, language: str, now, rows: int) -> None:
        super().__init__(table_name, alias)
        self.language, self.now, self.rows = language, now, rows

    def as_sql(self, compiler, connection):
        quote = connection.ops.quote_name
        # Names quoted, values as parameters.
        sql = (
            f"(SELECT * FROM {quote(self.table_name)} WHERE language = %s AND published_at <= %s "  # noqa: S608
            f"ORDER BY published_at DESC, part_id DESC LIMIT %s) {quote(self.table_alias)}"
        )
        return sql, [self.language, self.now, self.rows]

    def relabeled_clone(self, change_map):
        alias = change_map.get(self.table_alias, self.table_alias)
        return self.__class__(self.table_name, alias, language=self.language, now=self.now, rows=self.rows)

    @property
    def identity(self):
        return (*super().identity, self.language, self.now, self.rows)


class SearchEntryQuerySet(PublicationQuerySet):
    # The time found() filtered the window by: the newest walk (best()) reads the entries published by then.
    _found_at: datetime.datetime | None = None

    def _clone(self):
        clone = super()._clone()
        clone._found_at = self._found_at
        return clone

    def found(self, language: str, words: list[str], *, now: datetime.datetime | None = None) -> "SearchEntryQuerySet":
        """Live entries of the language whose text holds every word (as ``search.text.query_words`` gives them).

        An entry holds a word if it holds any of its forms (``search.text.matched_forms``: an English
        word's stem, for instance).
        """
        now = now or timezone.now()
        live = self.live(language, now=now)
        live._found_at = now
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

    def best(self, language: str, words: list[str], *, walk: bool | None = None) -> tuple[list[int], bool]:
        """The ids of the entries of this queryset (``found()``), best first, and whether there were more.

        Only the newest ``MOST_RANKED`` matches are ranked: one query, which reads the text indexes (or,
        on PostgreSQL, walks the newest entries when the words are common: ``newest()``) until it has
        them, and ranks them on their short columns. ``walk`` forces a path (tests): the results are the same.
        """
        if walk is None:
            walk = connection.vendor == "postgresql" and any(len(word) >= TRIGRAM for word in words)
        newest = self.newest(language, walk=walk)
        rows = list(
            self.model.objects.filter(pk__in=newest)
            .ranked(language, words)
            .values_list("pk", "published_at", "part_id")
        )
        more = len(rows) > MOST_RANKED
        if more:
            rows.remove(min(rows, key=lambda row: (row[1], row[2])))
        return [pk for pk, _published_at, _part_id in rows], more

    def newest(self, language: str, *, walk: bool):
        """The ids of the newest ``MOST_RANKED + 1`` entries of this queryset (of ``found(language, …)``).

        With ``walk``, as a subquery that first checks the newest ``PROBE_ROWS`` live entries and, when
        ``PROBE_HITS`` of them match, walks the newest ``WALK_ROWS`` for them; if the walk did not run or
        found too few, the text indexes are read as without it. The rows are the same either way: the
        walk's rows are a prefix of the language's live entries in the same order, so when it holds
        ``MOST_RANKED + 1`` matches they are the newest of all.
        """
        indexed = self.order_by(*NEWEST).values("pk")[: MOST_RANKED + 1]
        if not walk:
            return indexed
        index_sql, index_params = indexed.query.sql_with_params()
        probe_sql, probe_params = self._within_newest(language, PROBE_ROWS).values("pk").query.sql_with_params()
        walk_sql, walk_params = (
            self._within_newest(language, WALK_ROWS).order_by(*NEWEST).values("pk")[: MOST_RANKED + 1]
        ).query.sql_with_params()
        # Three queries Django compiled, joined; their values stay parameters.
        sql = (
            f"WITH walked AS MATERIALIZED (SELECT pk FROM ({walk_sql}) walk "  # noqa: S608
            f"WHERE (SELECT count(*) FROM ({probe_sql}) probe) >= %s) "
            f"SELECT pk FROM walked WHERE (SELECT count(*) FROM walked) > %s "
            f"UNION ALL SELECT pk FROM ({index_sql}) by_index WHERE (SELECT count(*) FROM walked) <= %s"
        )
        params = (*walk_params, *probe_params, PROBE_HITS, MOST_RANKED, *index_params, MOST_RANKED)
        return RawSQL(sql, params)  # noqa: S611

    def _within_newest(self, language: str, rows: int) -> "SearchEntryQuerySet":
        """This queryset's conditions on the newest ``rows`` entries of the language published by found()'s time."""
        if self._found_at is None:
            raise TypeError("The newest walk needs the time found() filtered by: call it on found().")
        queryset = self.all()
        query = queryset.query
        alias = query.get_initial_alias()
        published_at = self.model._meta.get_field("published_at").get_db_prep_value(self._found_at, connection)
        query.alias_map[alias] = Newest(
            query.alias_map[alias].table_name, alias, language=language, now=published_at, rows=rows
        )
        return queryset

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
