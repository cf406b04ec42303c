"""Create the back-office groups with exactly the permissions each role needs."""

from django.db import migrations

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


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
