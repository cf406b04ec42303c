"""The identifying-detail guard's refusals, kept append-only (PostgreSQL refuses changes and deletions)."""

import django.utils.timezone
from django.db import migrations, models

TABLE = "stories_guardrefusal"


def forbid_changes(apps, schema_editor):
    # The function is the audit trail's own (0008); SQLite's test runs empty tables with DELETE.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION archive_audit_trail_is_append_only()"
    )


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0015_storyimage_processing"),
    ]

    operations = [
        migrations.CreateModel(
            name="GuardRefusal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "refused_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="refused at"),
                ),
                ("user_id", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="user id")),
                ("username", models.CharField(blank=True, max_length=150, verbose_name="user")),
                (
                    "storyteller_id",
                    models.PositiveBigIntegerField(blank=True, null=True, verbose_name="storyteller id"),
                ),
                ("object_type", models.CharField(max_length=100, verbose_name="object type")),
                ("object_id", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="object id")),
                ("field", models.CharField(max_length=200, verbose_name="field")),
                ("site_wide", models.BooleanField(default=False, verbose_name="a site-wide term")),
                ("alerted", models.BooleanField(default=False, verbose_name="consent officers alerted")),
            ],
            options={
                "verbose_name": "guard refusal",
                "verbose_name_plural": "guard refusals",
                "ordering": ["-refused_at", "-pk"],
                "indexes": [models.Index(fields=["storyteller_id", "refused_at"], name="guard_refusal_teller_idx")],
            },
        ),
        migrations.RunPython(forbid_changes, allow_changes),
    ]
