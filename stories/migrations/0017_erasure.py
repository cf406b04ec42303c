"""Erasure: a permission for consent officers, and an audit trail whose text an erasure alone may overwrite."""

from django.db import migrations

from archive.migration_operations import grant_group_permissions

# Frozen here: who may erase a storyteller.
GROUP_PERMISSIONS = {"Consent officers": ["stories.erase_storyteller"]}


# Rows are still never deleted, and never changed, except by stories.services.storyteller_erase, which
# sets archive.erasing for its own transaction (set_config(..., true)) while it overwrites their text.
ERASABLE = """
CREATE OR REPLACE FUNCTION archive_audit_trail_is_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('archive.erasing', true) = 'on' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION archive_audit_trail_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql
"""


def _replace_function(body: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(body, params=None)  # the RAISE format's % signs are not placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0016_guardrefusal"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="storyteller",
            options={
                "ordering": ["pseudonym"],
                "permissions": [("erase_storyteller", "Can erase a storyteller for good, at their request")],
                "verbose_name": "storyteller",
                "verbose_name_plural": "storytellers",
            },
        ),
        grant_group_permissions(GROUP_PERMISSIONS),
        migrations.RunPython(_replace_function(ERASABLE), _replace_function(APPEND_ONLY)),
    ]
