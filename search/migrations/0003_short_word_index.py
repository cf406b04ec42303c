"""The index of words too short for a trigram: each entry's distinct pieces of one and two characters.

The column is filled here for the entries that exist (``search.text.short_grams`` of their document),
then indexed, once it is full (building an index is faster than keeping one up to date row by row):
- SQLite: an FTS5 table over the column (external content, the ``ascii`` tokenizer: a piece is one token,
  matched exactly; ``detail=none``: only which entries hold it), kept in step by triggers as the trigram
  table is. Adding a column that is not null makes Django rebuild the entries' table on SQLite, which drops
  its triggers: the trigram table's are created again here from migration 0001's SQL, once the column is
  filled (its update trigger would rewrite every entry's trigrams), and the new table is built in one pass.
  The rebuilt table keeps the ids and the text, so the trigram table is still in step with it.
- PostgreSQL: a GIN index on the pieces as an array, which ``@>`` uses.
A later migration that makes Django rebuild the entries' table on SQLite must create the triggers again.
"""

import importlib

from django.db import migrations, models

from search.text import short_grams

# The trigram table's triggers, as migration 0001 creates them (its first statement creates the table).
TRIGRAM_TRIGGERS = importlib.import_module("search.migrations.0001_initial").SQLITE_FORWARDS[1:]

BATCH_SIZE = 2000

SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE search_entry_grams USING fts5(grams, content='search_searchentry', "
    "content_rowid='id', tokenize='ascii', detail=none)"
)
SQLITE_TRIGGERS = [
    "CREATE TRIGGER search_entry_grams_insert AFTER INSERT ON search_searchentry BEGIN "
    "INSERT INTO search_entry_grams(rowid, grams) VALUES (new.id, new.grams); END",
    "CREATE TRIGGER search_entry_grams_delete AFTER DELETE ON search_searchentry BEGIN "
    "INSERT INTO search_entry_grams(search_entry_grams, rowid, grams) VALUES ('delete', old.id, old.grams); END",
    "CREATE TRIGGER search_entry_grams_update AFTER UPDATE ON search_searchentry BEGIN "
    "INSERT INTO search_entry_grams(search_entry_grams, rowid, grams) VALUES ('delete', old.id, old.grams); "
    "INSERT INTO search_entry_grams(rowid, grams) VALUES (new.id, new.grams); END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS search_entry_grams_update",
    "DROP TRIGGER IF EXISTS search_entry_grams_delete",
    "DROP TRIGGER IF EXISTS search_entry_grams_insert",
    "DROP TABLE IF EXISTS search_entry_grams",
]
# The expression is the one search.querysets.HoldsGrams writes, so that the planner matches it.
POSTGRESQL_INDEX = "CREATE INDEX search_entry_grams ON search_searchentry USING gin (string_to_array(grams, ' '))"
POSTGRESQL_BACKWARDS = ["DROP INDEX IF EXISTS search_entry_grams"]


def _fill(cursor) -> None:
    """Write every entry's pieces, a batch at a time, in the order of the ids."""
    last = 0
    while True:
        cursor.execute(
            "SELECT id, document FROM search_searchentry WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH_SIZE]
        )
        rows = cursor.fetchall()
        if not rows:
            return
        cursor.executemany(
            "UPDATE search_searchentry SET grams = %s WHERE id = %s", [(short_grams(doc), pk) for pk, doc in rows]
        )
        last = rows[-1][0]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'search_searchentry'"
            )
            # None after Django's rebuild of the table; dropped if a later Django kept them.
            for name, _sql in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
            _fill(cursor)
            for sql in TRIGRAM_TRIGGERS:
                cursor.execute(sql)
            cursor.execute(SQLITE_TABLE)
            cursor.execute("INSERT INTO search_entry_grams(search_entry_grams) VALUES ('rebuild')")
            for sql in SQLITE_TRIGGERS:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            # The trigram index stays: dropped during the fill and built again after, the migration of the
            # 100,000-part archive took longer (828 s against 615 s), building it alone about 8 minutes.
            _fill(cursor)
            cursor.execute(POSTGRESQL_INDEX)
        else:
            _fill(cursor)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"sqlite": SQLITE_BACKWARDS, "postgresql": POSTGRESQL_BACKWARDS}.get(connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0002_newest_index_covers_the_window"),
    ]

    operations = [
        # On SQLite Django rebuilds the table (and drops its triggers): a column that is not null.
        migrations.AddField(
            model_name="searchentry",
            name="grams",
            field=models.TextField(default="", verbose_name="short pieces of words"),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, backwards),
    ]
