from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdvocacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "advocacy"
    verbose_name = _("Advocacy")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from advocacy.models import PressMention

        # A mention added, changed or removed changes every page that shows the strip, not only its own tag's.
        post_save.connect(_press_changed, sender=PressMention, dispatch_uid="advocacy-press-strip")
        post_delete.connect(_press_changed, sender=PressMention, dispatch_uid="advocacy-press-strip-delete")


def _press_changed(sender, instance, **kwargs) -> None:
    from advocacy.services import PRESS_LIST
    from stories import caching

    caching.invalidate(PRESS_LIST)
