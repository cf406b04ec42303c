"""The review status of each language version of each piece of display text."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class TranslationQuerySet(models.QuerySet):
    def live(self, language: str) -> "TranslationQuerySet":
        """Translations readers may see: approved once, and either current or kept public by an editor.

        A translation being reworked after approval stays live with its last approved text.
        """
        return self.filter(language=language, approved_at__isnull=False).filter(
            Q(needs_update=False) | Q(keep_public_while_updating=True)
        )

    def for_model(self, label: str) -> "TranslationQuerySet":
        app_label, model = label.split(".")
        return self.filter(content_type__app_label=app_label, content_type__model=model)


class Translation(models.Model):
    """One language version of one object's display text, other than its original."""

    class Status(models.TextChoices):
        MISSING = "missing", _("Missing")
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, verbose_name=_("content type"))
    object_id = models.PositiveBigIntegerField(_("object id"))
    content_object = GenericForeignKey("content_type", "object_id")
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.MISSING)
    # Work in progress lives here; readers only ever see text an editor approved.
    draft = models.JSONField(_("draft"), default=dict, blank=True)
    # The original the draft was translated from, so approval knows whether it is already stale.
    draft_source = models.JSONField(_("original of the draft"), default=dict, blank=True)
    # The original text as it was when this translation was approved, to tell when it is stale.
    approved_source = models.JSONField(_("original at approval"), default=dict, blank=True)
    needs_update = models.BooleanField(_("needs update"), default=False)
    keep_public_while_updating = models.BooleanField(
        _("keep the approved translation public while it is updated"),
        default=True,
        help_text=_("Untick to hide this language version until the update is approved."),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    # Sent for review together with this (a part's) translation: one reviewer decision approves or returns all.
    submitted_with = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submitted_together",
        verbose_name=_("sent for review together with"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TranslationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "language"], name="one_translation_per_language"
            )
        ]
        indexes = [models.Index(fields=["content_type", "object_id", "language", "status"])]
        permissions = [
            ("translate", _("Can draft translations and send them for review")),
            ("approve_translation", _("Can approve translations")),
        ]

    def __str__(self) -> str:
        return str(_("{object} in {language}").format(object=self.content_object, language=self.get_language_display()))

    def is_live(self) -> bool:
        return self.approved_at is not None and (not self.needs_update or self.keep_public_while_updating)


class PoImport(models.Model):
    """A translator's PO file waiting to be applied by a task worker, then what came of it.

    The file's text is kept only until it is applied. The outcome is shown to the translator who sent it,
    once, as messages on their language's page (``translations.views.report_imports``).
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")

    story = models.ForeignKey("stories.Story", on_delete=models.CASCADE, related_name="+", verbose_name=_("story"))
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("imported by")
    )
    # The language the translator reads the outcome in.
    interface_language = models.CharField(max_length=2, choices=settings.LANGUAGES)
    content = models.TextField(_("PO file"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.WAITING)
    # {"level": "success" | "info" | "error", "messages": [...]}, in interface_language.
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    reported_at = models.DateTimeField(_("shown to the translator"), null=True, blank=True)

    class Meta:
        verbose_name = _("PO import")
        verbose_name_plural = _("PO imports")
        indexes = [models.Index(fields=["by", "reported_at"])]

    def __str__(self) -> str:
        return f"{self.story_id}.{self.language} ({self.get_status_display()})"
