from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdvocacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "advocacy"
    verbose_name = _("Advocacy")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from advocacy.models import Campaign, PressMention

        # A mention added, changed or removed changes every page that shows the strip, not only its own tag's.
        post_save.connect(_press_changed, sender=PressMention, dispatch_uid="advocacy-press-strip")
        post_delete.connect(_press_changed, sender=PressMention, dispatch_uid="advocacy-press-strip-delete")
        # A deleted campaign or mention takes its cleaned image's files with it, once the deletion commits.
        post_delete.connect(_delete_image_files, sender=Campaign, dispatch_uid="advocacy-campaign-photo-files")
        post_delete.connect(_delete_image_files, sender=PressMention, dispatch_uid="advocacy-press-logo-files")


def _press_changed(sender, instance, **kwargs) -> None:
    from advocacy.services import PRESS_LIST
    from stories import caching

    caching.invalidate(PRESS_LIST)


def _delete_image_files(sender, instance, **kwargs) -> None:
    from stories.models import FileDeletion

    image = instance.photo if sender._meta.model_name == "campaign" else instance.logo
    FileDeletion.objects.schedule(image.names())
