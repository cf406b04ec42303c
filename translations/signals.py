"""Flag translations as needing an update whenever their original text changes."""

from django.conf import settings
from django.db.models.signals import post_save

from translations.registry import LABEL_MODELS, REGISTRY


def _original_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from translations.services import translation_refresh_staleness

    translation_refresh_staleness(obj=instance)


def _label_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Approve what an editor wrote in a label's other language themselves; an empty one waits for a translator.

    A label of a campaign letter is saved with its text in LABEL_LANGUAGE alone. Text an editor typed in
    another language (they are approvers) is approved as it is saved, after the guard's check; a label
    with a translation in the workflow (a draft or in review) is left to it.
    """
    if raw or update_fields is not None:
        return  # loading fixtures, or a service's own save of some fields (an approval publishing its text)
    from translations.models import Translation
    from translations.services import translation_approve_existing, translation_get

    entry = REGISTRY[instance._meta.label_lower]
    original = entry.original_language(instance)
    for code, _name in settings.LANGUAGES:
        if code == original or not entry.text_in(instance, code)[entry.fields[0]].strip():
            continue
        record = translation_get(obj=instance, language=code)
        if record.approved_at is None and record.status == Translation.Status.MISSING:
            translation_approve_existing(obj=instance, language=code, by=None)


def connect() -> None:
    for entry in REGISTRY.values():
        post_save.connect(_original_saved, sender=entry.model, dispatch_uid=f"translation-staleness-{entry.label}")
    for label in LABEL_MODELS:
        post_save.connect(_label_saved, sender=REGISTRY[label].model, dispatch_uid=f"translation-label-{label}")
