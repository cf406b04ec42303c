from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_creation_times(apps, schema_editor):
    StoryPublication = apps.get_model("stories", "StoryPublication")
    Story = apps.get_model("stories", "Story")
    StoryPublication.objects.update(
        story_created_at=Subquery(Story.objects.filter(pk=OuterRef("story_id")).values("created_at")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0010_story_newest_index"),
    ]

    operations = [
        # Replaced by the newest-story index, which starts with the language too and also holds the order.
        migrations.RemoveIndex(model_name="storypublication", name="story_publication_live_idx"),
        migrations.AddField(
            model_name="storypublication",
            name="story_created_at",
            field=models.DateTimeField(null=True, verbose_name="story created"),
        ),
        migrations.RunPython(copy_creation_times, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="storypublication",
            name="story_created_at",
            field=models.DateTimeField(verbose_name="story created"),
        ),
        migrations.AddIndex(
            model_name="storypublication",
            index=models.Index(
                fields=["language", "-story_created_at", "-story", "published_at", "review_by"],
                name="story_publication_newest_idx",
            ),
        ),
    ]
