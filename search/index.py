"""The search index, derived from the publication table's part rows in the same transaction.

``stories.publication`` computes which parts are public in which language and when; each time it
refreshes a storyteller's rows it hands the rows it wants here (``search_refresh``), and this
module writes one entry per row with the part's public text in that language and the row's window.
So an entry exists exactly while its publication row does, is written in the same transaction, and
queries filter its window by now as reader pages do. ``publication_check`` compares the entries
with the definition (``search_check``) and repairs them; ``privacy_audit`` runs it.
"""

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator

from django.db import connections, transaction
from django.db.models.signals import post_migrate

from search.models import SearchEntry
from search.text import html_text, normalise, short_grams
from stories.models import Part, PartPublication

BATCH_SIZE = 500
# What an entry carries from its publication row, and the text derived from the part.
WINDOW_FIELDS = ("storyteller_id", "story_id", "published_at", "review_by")
TEXT_FIELDS = ("title", "heading", "summary", "document", "grams")
ENTRY_FIELDS = ("part_id", "language", *WINDOW_FIELDS, *TEXT_FIELDS)
# What ``entry_text`` reads, in a language; ``entry_source`` is their digest. Raise TEXT_VERSION when
# ``entry_text`` (or what it calls) changes what it derives, so that refreshes work every text out again.
SOURCE_COLUMNS = (
    "title", "summary", "body_html", "recap_html", "story__title", "story__summary", "story__storyteller__pseudonym"
)  # fmt: skip
TEXT_VERSION = 1
# SQLite's FTS5 tables over the entries (search.migrations), each built again in one pass: the trigrams of
# the document, and the short pieces of its words.
TEXT_INDEX_TABLES = ("search_entry_fts", "search_entry_grams")
REBUILD_HASH_BYTES = 256 * 1024 * 1024
FTS5_DEFAULT_HASH_BYTES = 1024 * 1024


def _text_columns(codes: Iterable[str]) -> list[str]:
    return [f"{name}_{code}" for code in codes for name in SOURCE_COLUMNS]


def entry_source(values: dict, code: str) -> str:
    """The digest of everything ``entry_text`` derives a part's text in a language from.

    An entry keeps it (``SearchEntry.source``), so that a storyteller's refresh works out again only the
    texts whose source changed: turning each of a storyteller's parts from HTML into text again was
    most of what publishing one of them cost.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{TEXT_VERSION}\x1f{(values.get('number') or 0) > 1}".encode())
    for name in SOURCE_COLUMNS:
        digest.update(b"\x1f" + (values.get(f"{name}_{code}") or "").encode())
    return digest.hexdigest()


def entry_text(values: dict, code: str) -> dict[str, str]:
    """The indexed text of a part in a language, from the part's, story's and storyteller's columns."""

    def column(name: str) -> str:
        return values.get(f"{name}_{code}") or ""

    title = column("title")
    # The editor's recap of the earlier parts, as the part page shows it: after the first part only.
    recap = html_text(column("recap_html")) if (values.get("number") or 0) > 1 else ""
    heading = "\n".join([column("story__title"), column("story__storyteller__pseudonym")])
    summary = "\n".join([column("summary"), column("story__summary")])
    # One line per field and block: a query word never matches across two of them.
    document = normalise("\n".join([title, heading, summary, recap, html_text(column("body_html"))]))
    return {
        "title": normalise(title),
        "heading": normalise(heading),
        "summary": normalise(summary),
        "document": document,
        "grams": short_grams(document),
    }


def desired_entries(
    rows: dict[tuple[int, str], dict], keys: list[tuple[int, str]], held: dict | None = None
) -> dict[tuple[int, str], dict]:
    """The entries the publication rows ask for, for these (part id, language) keys, in one query.

    ``held``: the entries the index holds, by key, with their window and ``source``. An entry held with
    the same window and source is left out: the index has it as it would be written.
    """
    held = held or {}
    codes = sorted({code for _pk, code in keys})
    texts = {
        values["pk"]: values
        for values in Part.objects.filter(pk__in={pk for pk, _code in keys}).values(
            "pk", "number", *_text_columns(codes)
        )
    }
    entries = {}
    for key in keys:
        part_id, code = key
        values = texts.get(part_id, {})
        window = {field: rows[key][field] for field in WINDOW_FIELDS}
        source = entry_source(values, code)
        found = held.get(key)
        if found is not None and found["source"] == source and all(found[name] == window[name] for name in window):
            continue
        entries[key] = {"part_id": part_id, "language": code, **window, **entry_text(values, code), "source": source}
    return entries


@dataclasses.dataclass
class SearchDifference:
    """How the index differs from the publication rows: (part id, language) keys."""

    missing: set = dataclasses.field(default_factory=set)
    extra: set = dataclasses.field(default_factory=set)
    changed: set = dataclasses.field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)

    def disagreements(self) -> list[tuple[str, str, set[int], set[int]]]:
        """As ``publication_check`` reports them: per language, parts public but not found as they
        read (missing or out of date), and parts found that are not public."""
        found = []
        for code in sorted({code for _pk, code in self.missing | self.extra | self.changed}):
            wrong = {pk for pk, language in self.missing | self.changed if language == code}
            extra = {pk for pk, language in self.extra if language == code}
            found.append((SearchEntry._meta.label, code, wrong, extra))
        return found


def _chunks(keys: list, size: int) -> Iterator[list]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _existing_keys(queryset) -> dict[tuple[int, str], int]:
    return {(part_id, code): pk for pk, part_id, code in queryset.values_list("pk", "part_id", "language").iterator()}


def _sync(rows: dict[tuple[int, str], dict], existing, *, write: bool, whole: bool = False) -> SearchDifference:
    """Compare the entries in ``existing`` with what ``rows`` ask for, a batch at a time; write if asked.

    ``whole`` is a storyteller's refresh: it reads their entries' windows and sources in one query, and
    works out the text of only those entries whose window or source differs, or that are missing. The
    check (not ``whole``) works every text out again and compares it, so that it finds and repairs an
    entry whose text is wrong whatever its source says.
    """
    difference = SearchDifference()
    loaded = {}
    if whole:
        held = existing.values("pk", "part_id", "language", *WINDOW_FIELDS, "source")
        loaded = {(values["part_id"], values["language"]): values for values in held}
        present = {key: values["pk"] for key, values in loaded.items()}
    else:
        present = _existing_keys(existing)
    difference.extra = {key for key in present if key not in rows}
    if write and difference.extra:
        stale = [present[key] for key in difference.extra]
        for chunk in _chunks(stale, BATCH_SIZE):
            SearchEntry.objects.filter(pk__in=chunk).delete()
    for chunk in _chunks(sorted(rows), BATCH_SIZE):
        if whole:
            current = loaded
        else:
            pks = [present[key] for key in chunk if key in present]
            current = {
                (values["part_id"], values["language"]): values
                for values in SearchEntry.objects.filter(pk__in=pks).values("pk", *ENTRY_FIELDS)
            }
        wanted = desired_entries(rows, chunk, current if whole else None)
        fresh, stale = [], []
        for key, fields in wanted.items():
            found = current.get(key)
            if found is None:
                difference.missing.add(key)
            elif whole or any(found[name] != fields[name] for name in ENTRY_FIELDS):
                # A refresh was given only the entries that differ; the check compares every field.
                difference.changed.add(key)
                stale.append(found["pk"])
            else:
                continue
            fresh.append(SearchEntry(**fields))
        if write and fresh:
            # Deletions first, so that a changed entry never meets its old self in the unique constraint.
            if stale:
                SearchEntry.objects.filter(pk__in=stale).delete()
            SearchEntry.objects.bulk_create(fresh)
    return difference


def search_refresh(*, rows: dict[tuple[int, str], dict], storyteller_ids: set[int]) -> SearchDifference:
    """Bring these storytellers' entries to the publication rows the definition asks for.

    Called by ``publication_refresh`` in its transaction with the part rows it computed for them, on
    every change to their objects, whether or not the rows changed: an edit to a public text does not.
    """
    return _sync(rows, SearchEntry.objects.filter(storyteller_id__in=storyteller_ids), write=True, whole=True)


def search_rebuild(*, rows: dict[tuple[int, str], dict]) -> int:
    """Rewrite the whole index from the publication rows the definition asks for; return its size.

    On SQLite the text indexes (``search_entry_fts`` and ``search_entry_grams``, kept in step with the
    entries by triggers) are built in one pass each once the entries are written, instead of by the
    triggers an entry at a time, which makes FTS5 merge its growing segments again and again: on 1,000
    parts the rebuild took half to a third of the time. The triggers are dropped and created again from
    their own SQL in the same transaction (DDL is transactional on SQLite), so a failure leaves them as
    they were.
    """
    connection = connections[SearchEntry.objects.db]
    if connection.vendor != "sqlite":
        return _write_all(rows)
    table = SearchEntry._meta.db_table
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        count = _write_all(rows)
        # FTS5 writes out the terms it holds in memory as a new segment every 'hashsize' bytes (1 MiB by
        # default) and merges the segments as they pile up: at 100,000 parts the trigram table's rebuild
        # took 272 s of CPU with the default, 24 s with 256 MiB. The setting is kept in the table's config,
        # so it is put back to FTS5's default afterwards, for the triggers' writes.
        for fts in TEXT_INDEX_TABLES:
            setting = f"INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', %s)"  # noqa: S608 - a name of ours
            cursor.execute(setting, [REBUILD_HASH_BYTES])
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608 - a name of ours
            cursor.execute(setting, [FTS5_DEFAULT_HASH_BYTES])
        for _name, sql in triggers:
            cursor.execute(sql)
    return count


def _write_all(rows: dict[tuple[int, str], dict]) -> int:
    SearchEntry.objects.all().delete()
    keys = sorted(rows)
    for chunk in _chunks(keys, BATCH_SIZE):
        SearchEntry.objects.bulk_create(SearchEntry(**fields) for fields in desired_entries(rows, chunk).values())
    return len(keys)


def search_check(*, rows: dict[tuple[int, str], dict], repair: bool = False) -> SearchDifference:
    """Compare the whole index with the publication rows the definition asks for; repair if asked."""
    return _sync(rows, SearchEntry.objects.all(), write=repair)


def _after_migrate(sender, using: str = "default", **kwargs) -> None:
    """Fill the index once on a database that had public parts before it existed."""
    if sender.name != "search":
        return
    tables = connections[using].introspection.table_names()
    if SearchEntry._meta.db_table not in tables or PartPublication._meta.db_table not in tables:
        return
    if not SearchEntry.objects.exists() and PartPublication.objects.exists():
        from stories.publication import desired_rows

        search_rebuild(rows=desired_rows(None).parts)


def connect_signals() -> None:
    post_migrate.connect(_after_migrate, dispatch_uid="search-after-migrate")
