"""Flag translations as needing an update whenever their original text changes."""

from django.db.models.signals import post_save

from translations.registry import REGISTRY


def _original_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    from translations.services import translation_refresh_staleness

    translation_refresh_staleness(obj=instance)


def connect() -> None:
    for entry in REGISTRY.values():
        post_save.connect(_original_saved, sender=entry.model, dispatch_uid=f"translation-staleness-{entry.label}")
