"""Create the back-office groups with exactly the permissions each role needs."""

from django.db import migrations

from archive.migration_operations import grant_group_permissions

# Frozen here on purpose: a migration must not change when the code around it does.
GROUP_PERMISSIONS = {
    "Editors": [
        "stories.add_story", "stories.change_story", "stories.view_story",
        "stories.add_part", "stories.change_part", "stories.view_part",
        "stories.add_theme", "stories.change_theme", "stories.view_theme",
        "stories.add_contentwarning", "stories.change_contentwarning", "stories.view_contentwarning",
        "stories.view_storyteller", "stories.change_storyteller",
    ],
    "Translators": [
        # Translations are edited in the translation workspace (translations.translate).
        "stories.view_story", "stories.view_part", "stories.view_storyteller",
        "stories.view_theme", "stories.view_contentwarning",
    ],
    "Consent officers": [
        "stories.add_storyteller", "stories.change_storyteller", "stories.view_storyteller",
        "stories.add_storytelleridentity", "stories.change_storytelleridentity", "stories.view_storytelleridentity",
        "stories.add_consent", "stories.view_consent",
        "stories.view_story", "stories.view_part",
    ],
}  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_group_permissions(GROUP_PERMISSIONS)]
