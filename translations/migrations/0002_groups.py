"""Give editors and translators their translation permissions."""

from django.db import migrations

from archive.migration_operations import grant_group_permissions

GROUP_PERMISSIONS = {
    "Editors": ["translations.translate", "translations.approve_translation", "translations.view_translation"],
    "Translators": ["translations.translate", "translations.view_translation"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("translations", "0001_initial"),
        ("stories", "0002_groups"),
    ]

    operations = [grant_group_permissions(GROUP_PERMISSIONS)]
