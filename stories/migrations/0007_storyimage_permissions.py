"""Let editors add, change, remove and view a part's photos."""

from django.db import migrations

from archive.migration_operations import grant_group_permissions

# Frozen here: what the photos feature added to each group.
GROUP_PERMISSIONS = {
    "Editors": [
        "stories.add_storyimage", "stories.change_storyimage", "stories.delete_storyimage",
        "stories.view_storyimage",
    ],
}  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0006_storyimage"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_group_permissions(GROUP_PERMISSIONS)]
