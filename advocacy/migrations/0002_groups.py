"""Create the Campaign managers group, and let editors link campaigns to stories."""

from django.db import migrations

# Frozen here on purpose: a migration must not change when the code around it does.
GROUP_PERMISSIONS = {
    "Campaign managers": [
        "advocacy.add_campaign", "advocacy.change_campaign", "advocacy.delete_campaign", "advocacy.view_campaign",
        "advocacy.add_action", "advocacy.change_action", "advocacy.delete_action", "advocacy.view_action",
        "advocacy.add_campaignstory", "advocacy.change_campaignstory", "advocacy.delete_campaignstory",
        "advocacy.view_campaignstory",
        "advocacy.add_recipient", "advocacy.change_recipient", "advocacy.delete_recipient", "advocacy.view_recipient",
        "advocacy.add_country", "advocacy.change_country", "advocacy.view_country",
        "advocacy.view_actioncount",
        "advocacy.view_subscriber", "advocacy.delete_subscriber", "advocacy.export_subscriber",
        # To pick the stories behind a campaign.
        "stories.view_story",
    ],
    "Editors": [
        "advocacy.view_campaign", "advocacy.change_campaign",
        "advocacy.view_action", "advocacy.view_recipient", "advocacy.view_country",
        "advocacy.add_campaignstory", "advocacy.change_campaignstory", "advocacy.delete_campaignstory",
        "advocacy.view_campaignstory",
    ],
}  # fmt: skip


def grant(apps, schema_editor):
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
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name="Campaign managers").delete()
    editors = Group.objects.filter(name="Editors").first()
    if editors is not None:
        editors.permissions.remove(*editors.permissions.filter(content_type__app_label="advocacy"))


class Migration(migrations.Migration):
    dependencies = [
        ("advocacy", "0001_initial"),
        ("stories", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
