"""Let campaign managers keep recipient groups and the newsletter's messages; let editors see the groups."""

from django.db import migrations

from archive.migration_operations import grant_group_permissions

# Frozen here on purpose: a migration must not change when the code around it does.
GROUP_PERMISSIONS = {
    "Campaign managers": [
        "advocacy.add_recipientgroup", "advocacy.change_recipientgroup", "advocacy.delete_recipientgroup",
        "advocacy.view_recipientgroup",
        "advocacy.add_newslettermessages", "advocacy.change_newslettermessages",
        "advocacy.view_newslettermessages",
    ],
    "Editors": ["advocacy.view_recipientgroup"],
}  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("advocacy", "0006_newsletter_messages"),
    ]

    operations = [grant_group_permissions(GROUP_PERMISSIONS)]
