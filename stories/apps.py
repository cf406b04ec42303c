from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stories"
    verbose_name = _("Stories")

    def ready(self) -> None:
        from stories import audit, caching, publication

        # Registered here, after modeltranslation has added the per-language fields,
        # so that the audit trail records every language's text.
        audit.register_history()
        caching.connect_signals()
        # Derived state, written in the transaction of each change to what the visibility rule reads.
        publication.connect_signals()
