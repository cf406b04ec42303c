"""Finding entries: every word of the query inside the entry's text, ranked by where it was found.

The same on both databases. A word of three characters or more is looked up in the text index: on
SQLite the FTS5 trigram table (search_entry_fts), on PostgreSQL pg_trgm's GIN index, which ``LIKE``
uses. A trigram index cannot find a shorter word ("강", "엄마"): such words are matched with
``instr()`` (``strpos()``) among the entries the other words found. A query made only of such words has no index to
start from, so it looks at the newest ``SHORT_QUERY_SCOPE`` entries of the language (a range on the
entries' newest index) and finds every match among them: exact on an archive of that size or less, and
bounded in time on a larger one.
"""

import datetime
import operator
from functools import reduce

from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex

from search.text import TRIGRAM, matched_forms
from stories.querysets import PublicationQuerySet

# How many of a language's newest entries a query of one- and two-character words looks at.
SHORT_QUERY_SCOPE = 10_000
# How many matches a search ranks and counts: the newest this many. A word found in more parts (a
# common word, in an archive of 100,000 parts, is in tens of thousands) costs the same as one found in
# exactly this many, instead of the count and the ranking of every part that holds it.
MOST_RANKED = 1000
NEWEST = ("-published_at", "-part_id")
# Points for each query word, by where it is found; a word found in the body alone adds nothing,
# so a match in a part's title ranks above a match in its body. Ties: newest first.
WEIGHTS = (("title", 4), ("heading", 2), ("summary", 1))


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
        queryset = live
        only_newest = None
        if not indexed:
            # The oldest entry of the scope, read from the index (one query); then a range on that index,
            # which both databases scan alone, instead of a list of ids every entry is checked against.
            # With the one after it: whether older entries were left out, which the page tells the reader.
            edge = list(
                live.order_by(*NEWEST).values_list("published_at", "part_id")[
                    SHORT_QUERY_SCOPE - 1 : SHORT_QUERY_SCOPE + 1
                ]
            )
            if edge:
                published_at, part_id = edge[0]
                # The first condition bounds the index scan (PostgreSQL does not take the OR as one: it
                # walked every entry of the language); the second is exact where times are equal.
                queryset = live.filter(
                    Q(published_at__gte=published_at),
                    Q(published_at__gt=published_at) | Q(published_at=published_at, part_id__gte=part_id),
                )
                only_newest = SHORT_QUERY_SCOPE if len(edge) > 1 else None
        elif connection.vendor == "sqlite":
            # Each form a quoted FTS5 string: letters and digits only, so nothing in it is FTS syntax; a
            # word's forms joined with OR.
            expression = " AND ".join(
                "(" + " OR ".join(f'"{form}"' for form in matched_forms(word, language)) + ")" for word in indexed
            )
            queryset = queryset.filter(
                pk__in=RawSQL("SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s", [expression])
            )
            words = [word for word in words if len(word) < TRIGRAM]
        for number, word in enumerate(words):
            if len(word) >= TRIGRAM:
                # LIKE '%form%' for each form, ORed: what pg_trgm's index serves (a BitmapOr).
                forms = matched_forms(word, language)
                queryset = queryset.filter(reduce(operator.or_, (Q(document__contains=form) for form in forms)))
            else:
                # No index can serve it: instr() on SQLite, strpos() on PostgreSQL, faster than LIKE at scanning.
                position = f"position_{number}"
                queryset = queryset.alias(**{position: StrIndex("document", Value(word))})
                queryset = queryset.filter(**{f"{position}__gt": 0})
        # Read by the page before any other filter (a clone does not keep it): how many entries were
        # looked at, when older ones were left out.
        queryset.only_newest = only_newest
        return queryset

    def best(self, language: str, words: list[str]) -> tuple[list[int], bool]:
        """The ids of the entries of this queryset (``found()``), best first, and whether there were more.

        Only the newest ``MOST_RANKED`` matches are ranked: one query, which reads the newest index (or
        the text index, for a rare word; or, for short words on PostgreSQL, the scope's range in the
        table's order) until it has them, and ranks them on their short columns.
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
