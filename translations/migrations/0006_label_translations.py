"""The labels of campaign letters go through the review workflow: what they already say in another language
was required and written by an editor before, so it is recorded as approved and stays on readers' pages."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

# (model, field) of the labels, written first in LANGUAGE_CODE (translations.registry.LABEL_LANGUAGE).
LABELS = (("country", "name"), ("recipientgroup", "name"), ("recipient", "label"))


def approve_existing(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Translation = apps.get_model("translations", "Translation")
    original = settings.LANGUAGE_CODE
    now = timezone.now()
    for model_name, field in LABELS:
        model = apps.get_model("advocacy", model_name)
        content_type, _created = ContentType.objects.get_or_create(app_label="advocacy", model=model_name)
        for code, _name in settings.LANGUAGES:
            if code == original:
                continue
            for pk, source, text in model.objects.values_list("pk", f"{field}_{original}", f"{field}_{code}"):
                if not (text or "").strip():
                    continue
                Translation.objects.update_or_create(
                    content_type=content_type,
                    object_id=pk,
                    language=code,
                    defaults={
                        "status": "approved",
                        "approved_source": {field: source or ""},
                        "approved_at": now,
                        "needs_update": False,
                        "draft": {},
                        "draft_source": {},
                    },
                )


class Migration(migrations.Migration):
    dependencies = [
        ("advocacy", "0008_recipients_help_text"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("translations", "0005_submitted_together"),
    ]

    operations = [migrations.RunPython(approve_existing, migrations.RunPython.noop)]
