"""Make the audit trail append-only in the database itself, not only in the admin (PostgreSQL)."""

from django.db import migrations

HISTORY_TABLES = [
    "stories_historicalconsent",
    "stories_historicalstorytelleridentity",
    "stories_historicalstoryteller",
    "stories_historicalstory",
    "stories_historicalpart",
    "translations_historicaltranslation",
]


def forbid_changes(apps, schema_editor):
    # SQLite, the development default, has no TRUNCATE: its test runs empty tables with DELETE,
    # which such a trigger would refuse. Production runs PostgreSQL, where TRUNCATE (the test
    # flush) fires no row trigger.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION archive_audit_trail_is_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
        END
        $$ LANGUAGE plpgsql
        """,
        params=None,  # the RAISE format's % signs are not query placeholders
    )
    for table in HISTORY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION archive_audit_trail_is_append_only()"
        )


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS archive_audit_trail_is_append_only()")


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0007_storyimage_permissions"),
        ("translations", "0003_draft_source"),
    ]

    operations = [migrations.RunPython(forbid_changes, allow_changes)]
