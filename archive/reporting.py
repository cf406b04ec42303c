"""Error reports (debug pages, logs, error emails) that never carry a survivor's private data."""

import re

from django.views.debug import SafeExceptionReporterFilter

# Form fields that can hold identity, consent or subscriber details, wherever they are posted:
# identity inlines (identity-0-legal_name), consent notes, withdrawal reasons, protected terms,
# translation drafts and story text in progress, newsletter addresses.
SENSITIVE_FIELDS = re.compile(
    r"legal_name|caseworker|identifying|(^|[-_])(note|reason|term|email|body|summary|title|bio|pseudonym)s?($|[-_])|"
    r"password|token|csrf|sig",
    re.IGNORECASE,
)


class ArchiveExceptionReporterFilter(SafeExceptionReporterFilter):
    """Mask sensitive posted fields in every report, not only in views that remembered to say so."""

    def is_active(self, request) -> bool:
        # Also while DEBUG is on: a developer's screen is shared and screenshotted too.
        return True

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None:
            return parameters
        cleansed = parameters.copy()
        for key in cleansed:
            if SENSITIVE_FIELDS.search(key):
                cleansed[key] = self.cleansed_substitute
        return cleansed
