"""Issue 12: a story is a serial or a single piece; old slugs of published stories redirect; editors may
delete a draft part that was never published; one default original language, from the settings."""

import django.db.models.deletion
from django.db import migrations, models

import stories.models
from archive.migration_operations import grant_group_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0019_part_recap"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalstory",
            name="kind",
            field=models.CharField(
                choices=[
                    ("serial", "Serial, told in numbered parts"),
                    ("single", "Single piece (a profile, an essay)"),
                ],
                default="serial",
                help_text="A single piece has one part, shown at the story's address under its own title, without part numbers or a list of parts.",
                max_length=8,
                verbose_name="kind",
            ),
        ),
        migrations.AddField(
            model_name="story",
            name="kind",
            field=models.CharField(
                choices=[
                    ("serial", "Serial, told in numbered parts"),
                    ("single", "Single piece (a profile, an essay)"),
                ],
                default="serial",
                help_text="A single piece has one part, shown at the story's address under its own title, without part numbers or a list of parts.",
                max_length=8,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="historicalstory",
            name="original_language",
            field=models.CharField(
                choices=[("en", "English"), ("ko", "Korean")],
                default=stories.models.default_original_language,
                max_length=2,
                verbose_name="original language",
            ),
        ),
        migrations.AlterField(
            model_name="historicalstoryteller",
            name="original_language",
            field=models.CharField(
                choices=[("en", "English"), ("ko", "Korean")],
                default=stories.models.default_original_language,
                help_text="The language the pseudonym and bio were first written in; the other is a translation.",
                max_length=2,
                verbose_name="original language",
            ),
        ),
        migrations.AlterField(
            model_name="story",
            name="original_language",
            field=models.CharField(
                choices=[("en", "English"), ("ko", "Korean")],
                default=stories.models.default_original_language,
                max_length=2,
                verbose_name="original language",
            ),
        ),
        migrations.AlterField(
            model_name="storyteller",
            name="original_language",
            field=models.CharField(
                choices=[("en", "English"), ("ko", "Korean")],
                default=stories.models.default_original_language,
                help_text="The language the pseudonym and bio were first written in; the other is a translation.",
                max_length=2,
                verbose_name="original language",
            ),
        ),
        migrations.CreateModel(
            name="StorySlugHistory",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slug", models.SlugField(max_length=120, unique=True, verbose_name="old slug")),
                ("changed_at", models.DateTimeField(auto_now_add=True, verbose_name="changed")),
                (
                    "story",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="old_slugs",
                        to="stories.story",
                        verbose_name="story",
                    ),
                ),
            ],
            options={
                "verbose_name": "old slug",
                "verbose_name_plural": "old slugs",
                "ordering": ["-changed_at"],
            },
        ),
        # Frozen here: only a draft part that was never published can be deleted (PartAdmin.has_delete_permission).
        grant_group_permissions({"Editors": ["stories.delete_part"]}),
    ]
