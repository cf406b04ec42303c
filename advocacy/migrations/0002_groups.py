"""Create the Campaign managers group, and let editors link campaigns to stories."""

from django.db import migrations

from archive.migration_operations import grant_group_permissions

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


class Migration(migrations.Migration):
    dependencies = [
        ("advocacy", "0001_initial"),
        ("stories", "0002_groups"),
    ]

    operations = [grant_group_permissions(GROUP_PERMISSIONS)]
