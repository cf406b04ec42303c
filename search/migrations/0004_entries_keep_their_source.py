"""Each entry keeps the digest of what its text was derived from (``search.index.entry_source``).

A storyteller's refresh then works out again only the texts whose source changed, where it turned every one
of their parts from HTML into text again (most of what publishing one of them cost at 100,000 parts).

The column may be null, so that SQLite adds it in place: a column that could not be null would make Django
rebuild the table, which drops the triggers of its text indexes (migration 0003 says so). The entries that
exist are left null, and each storyteller's next refresh works their texts out and keeps the digests, as it
worked them out before. Filling them here cost minutes at 100,000 parts: on PostgreSQL every updated entry
is written to the trigram index again, on SQLite the update triggers rewrite both text indexes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0003_short_word_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchentry",
            name="source",
            field=models.CharField(editable=False, max_length=32, null=True, verbose_name="source digest"),
        ),
    ]
