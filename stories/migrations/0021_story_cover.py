import django.db.models.deletion
from django.db import migrations, models

HELP = (
    "One of this story's photos. Readers see it only while they may see the photo itself; "
    "without it, a designed text card is shown."
)


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0020_story_kind_slug_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalstory",
            name="cover",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text=HELP,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="stories.storyimage",
                verbose_name="cover photo",
            ),
        ),
        migrations.AddField(
            model_name="story",
            name="cover",
            field=models.ForeignKey(
                blank=True,
                help_text=HELP,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="stories.storyimage",
                verbose_name="cover photo",
            ),
        ),
    ]
