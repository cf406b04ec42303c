"""The operation migrations use to give the staff groups the permissions they need."""

from django.db import migrations


def grant_group_permissions(group_permissions: dict[str, list[str]]) -> migrations.RunPython:
    """Add permissions ("app_label.codename") to groups, creating the groups; reversed, take them away.

    Each migration passes its own literal mapping, so what it grants stays frozen with it.
    """
    frozen = {name: list(codenames) for name, codenames in group_permissions.items()}

    def permissions(apps, codenames):
        Permission = apps.get_model("auth", "Permission")
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            yield Permission.objects.get(content_type__app_label=app_label, codename=codename)

    def grant(apps, schema_editor):
        from django.contrib.auth.management import create_permissions

        # Permissions are normally created after all migrations; make sure they exist now.
        for app_config in apps.get_app_configs():
            app_config.models_module = True
            create_permissions(app_config, verbosity=0)
            app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        for name, codenames in frozen.items():
            group, _created = Group.objects.get_or_create(name=name)
            group.permissions.add(*permissions(apps, codenames))

    def revoke(apps, schema_editor):
        Group = apps.get_model("auth", "Group")
        for name, codenames in frozen.items():
            group = Group.objects.filter(name=name).first()
            if group is None:
                continue
            group.permissions.remove(*permissions(apps, codenames))
            if not group.permissions.exists():
                group.delete()

    return migrations.RunPython(grant, revoke)
