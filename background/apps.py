from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackgroundConfig(AppConfig):
    """The task queue's operations: worker heartbeats, the reaper of tasks whose worker died, retries."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "background"
    verbose_name = _("Background work")
