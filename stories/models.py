"""Storytellers, their consent, and the stories and parts they told."""

import math
import pathlib
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from archive.richtext import render_markdown
from stories import privacy
from stories.fields import EncryptedTextField, IdentityKeyMissing, Sealed
from stories.querysets import ConsentQuerySet, PartQuerySet, StoryQuerySet, StorytellerQuerySet


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    KOREAN = "ko", _("Korean")


class Theme(models.Model):
    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return self.name or self.slug


class ContentWarning(models.Model):
    label = models.CharField(_("label"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("content warning")
        verbose_name_plural = _("content warnings")

    def __str__(self) -> str:
        return self.label or self.slug


class Storyteller(models.Model):
    """The public face of a person who told their story: a pseudonym and a short bio."""

    pseudonym = models.CharField(
        _("pseudonym"), max_length=80, help_text=_("The only name readers ever see. Never a real name.")
    )
    bio = models.TextField(_("short bio"), blank=True)
    original_language = models.CharField(
        _("original language"),
        max_length=2,
        choices=Language.choices,
        default=Language.KOREAN,
        help_text=_("The language the pseudonym and bio were first written in; the other is a translation."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StorytellerQuerySet.as_manager()

    class Meta:
        ordering = ["pseudonym"]
        verbose_name = _("storyteller")
        verbose_name_plural = _("storytellers")
        permissions = [("translate_storyteller", _("Can translate storyteller display text"))]

    def __str__(self) -> str:
        return self.pseudonym

    def clean(self) -> None:
        if self.pk:
            privacy.check(self)

    def effective_consent(self) -> "Consent | None":
        """Return the consent record in force: the latest one."""
        return self.consents.order_by("-recorded_at", "-pk").first()


class StorytellerIdentity(models.Model):
    """Who the storyteller really is. Only staff with this model's permissions may see it.

    Every field here is encrypted at rest with the identity key from the environment.
    """

    storyteller = models.OneToOneField(
        Storyteller, on_delete=models.CASCADE, related_name="identity", verbose_name=_("storyteller")
    )
    legal_name = EncryptedTextField(_("legal name"), blank=True)
    caseworker_notes = EncryptedTextField(_("caseworker notes"), blank=True)
    identifying_terms = EncryptedTextField(
        _("identifying terms"),
        blank=True,
        help_text=_(
            "One per line: real names, hometowns, relatives' names, in any language. "
            "These must never appear in public text."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("storyteller identity")
        verbose_name_plural = _("storyteller identities")

    def __str__(self) -> str:
        return str(_("Identity of {pseudonym}").format(pseudonym=self.storyteller.pseudonym))

    @method_decorator(sensitive_variables())
    def terms(self) -> list[str]:
        """Return the identifying terms, one per non-empty line."""
        if isinstance(self.identifying_terms, Sealed):
            # Without the key the terms cannot be read, so nothing can be checked against them.
            raise IdentityKeyMissing("The identifying terms cannot be read without the identity key.")
        return [line.strip() for line in self.identifying_terms.splitlines() if line.strip()]


class ProtectedTerm(models.Model):
    """A site-wide term that must never appear in public text, such as the name of a safe house."""

    term = models.CharField(_("term"), max_length=200, unique=True)
    note = models.CharField(_("why it is protected"), max_length=200, blank=True)

    class Meta:
        ordering = ["term"]
        verbose_name = _("protected term")
        verbose_name_plural = _("protected terms")

    def __str__(self) -> str:
        return self.term


class Consent(models.Model):
    """One entry in a storyteller's consent ledger; the latest entry is the one in force."""

    class Decision(models.TextChoices):
        GIVEN = "given", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    storyteller = models.ForeignKey(
        Storyteller, on_delete=models.PROTECT, related_name="consents", verbose_name=_("storyteller")
    )
    decision = models.CharField(_("decision"), max_length=12, choices=Decision.choices)
    recorded_at = models.DateTimeField(_("date"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    review_by = models.DateField(
        _("review by"),
        null=True,
        blank=True,
        help_text=_("After this date nothing of theirs is public until consent is confirmed again."),
    )
    covers_web = models.BooleanField(_("publish on the web"), default=False)
    covers_english = models.BooleanField(_("in English"), default=False)
    covers_korean = models.BooleanField(_("in Korean"), default=False)
    covers_photos = models.BooleanField(_("photos of them"), default=False)
    covers_advocacy = models.BooleanField(_("use in advocacy campaigns"), default=False)
    note = models.TextField(_("note or reason"), blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        get_latest_by = ["recorded_at", "pk"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        permissions = [("view_audit_trail", _("Can view and export the audit trail"))]

    def __str__(self) -> str:
        return str(
            _("{decision} on {date}").format(
                decision=self.get_decision_display(), date=self.recorded_at.date().isoformat()
            )
        )

    def clean(self) -> None:
        if self.decision == self.Decision.GIVEN and not self.review_by:
            raise ValidationError({"review_by": _("Consent that is given needs a date by which it is reviewed.")})
        if self.decision == self.Decision.WITHDRAWN and not self.note.strip():
            raise ValidationError({"note": _("Record the reason for the withdrawal.")})

    def is_active(self, *, language: str, today=None) -> bool:
        """Say whether this record alone lets the web show the story in the language."""
        from stories.querysets import LANGUAGE_SCOPES

        today = today or timezone.localdate()
        scope = LANGUAGE_SCOPES.get(language)
        return bool(
            self.decision == self.Decision.GIVEN
            and self.review_by
            and self.review_by >= today
            and self.covers_web
            and scope
            and getattr(self, scope)
        )


def private_storage():
    """Storage outside the public media root, for evidence that is never served directly."""
    return storages["private"]


def evidence_upload_to(instance: "ConsentEvidence", filename: str) -> str:
    """Store evidence under a random name that says nothing about the storyteller."""
    suffix = pathlib.Path(filename).suffix.lower()[:10]
    return f"consent-evidence/{uuid.uuid4().hex}{suffix}"


class ConsentEvidence(models.Model):
    """A signed consent form or recording attached to a consent record; only consent officers may open it."""

    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("consent record")
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=evidence_upload_to)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("consent evidence")
        verbose_name_plural = _("consent evidence")

    def __str__(self) -> str:
        return self.description or str(_("Evidence #{number}").format(number=self.pk))

    def get_absolute_url(self) -> str:
        return reverse("evidence", kwargs={"pk": self.pk})


class Story(models.Model):
    """A serial, such as "Joy's Story", told in one or more parts."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    summary = models.TextField(_("summary"), blank=True)
    storyteller = models.ForeignKey(
        Storyteller, on_delete=models.PROTECT, related_name="stories", verbose_name=_("storyteller")
    )
    themes = models.ManyToManyField(Theme, blank=True, related_name="stories", verbose_name=_("themes"))
    content_warnings = models.ManyToManyField(
        ContentWarning, blank=True, related_name="stories", verbose_name=_("content warnings")
    )
    original_language = models.CharField(
        _("original language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    is_complete = models.BooleanField(
        _("serial complete"), default=False, help_text=_("Untick while more parts are still to come.")
    )
    is_featured = models.BooleanField(_("featured"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = StoryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("story")
        verbose_name_plural = _("stories")
        permissions = [("translate_story", _("Can translate story display text"))]

    def __str__(self) -> str:
        return self.title or self.slug

    def get_absolute_url(self) -> str:
        return reverse("stories:story", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if not (getattr(self, f"title_{self.original_language}") or "").strip():
            raise ValidationError(
                {f"title_{self.original_language}": _("The title in the original language is required.")}
            )
        if self.status == self.Status.PUBLISHED and self.storyteller_id:
            privacy.check(self)


WORDS_PER_MINUTE = 200
# Korean is read by syllable blocks rather than space-separated words.
KOREAN_CHARACTERS_PER_MINUTE = 500
_TAGS = re.compile(r"<[^>]+>")


def reading_minutes(html: str, language: str) -> int:
    """Estimate how long a rendered body takes to read, at least one minute."""
    text = _TAGS.sub(" ", html)
    if not text.strip():
        return 0
    if language == Language.KOREAN:
        units = len(re.sub(r"\s", "", text)) / KOREAN_CHARACTERS_PER_MINUTE
    else:
        units = len(text.split()) / WORDS_PER_MINUTE
    return max(1, math.ceil(units))


class Part(models.Model):
    """One instalment of a story."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    story = models.ForeignKey(Story, on_delete=models.PROTECT, related_name="parts", verbose_name=_("story"))
    number = models.PositiveSmallIntegerField(_("part number"), validators=[MinValueValidator(1)])
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    body = models.TextField(_("body"), blank=True, help_text=_("Markdown. Rendered and cleaned when saved."))
    body_html = models.TextField(_("rendered body"), blank=True, editable=False)
    reading_minutes = models.PositiveSmallIntegerField(_("reading time in minutes"), default=0, editable=False)
    published_at = models.DateTimeField(
        _("publication time"),
        null=True,
        blank=True,
        help_text=_("A time in the future schedules the part; it goes live by itself then."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = PartQuerySet.as_manager()

    class Meta:
        ordering = ["story", "number"]
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        permissions = [("translate_part", _("Can translate part display text"))]
        constraints = [
            models.UniqueConstraint(fields=["story", "number"], name="part_number_unique_in_story"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="part_number_positive"),
        ]
        indexes = [models.Index(fields=["status", "published_at"], name="part_status_published_idx")]

    def __str__(self) -> str:
        return str(_("{story}: Part {number}").format(story=self.story, number=self.number))

    def save(self, *args, **kwargs) -> None:
        # Render once here, per language, so that no request ever renders Markdown.
        for code, _name in settings.LANGUAGES:
            html = render_markdown(getattr(self, f"body_{code}") or "")
            setattr(self, f"body_html_{code}", html)
            setattr(self, f"reading_minutes_{code}", reading_minutes(html, code))
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and any(name.startswith("body") for name in update_fields):
            kwargs["update_fields"] = {
                *update_fields,
                *(f"body_html_{code}" for code, _name in settings.LANGUAGES),
                *(f"reading_minutes_{code}" for code, _name in settings.LANGUAGES),
            }
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("stories:part", kwargs={"slug": self.story.slug, "number": self.number})

    def clean(self) -> None:
        errors = {}
        if self.status == self.Status.PUBLISHED and not self.published_at:
            errors["published_at"] = _("A published part needs a publication time; use a future time to schedule it.")
        if self.story_id:
            original = self.story.original_language
            if not (getattr(self, f"title_{original}") or "").strip():
                errors[f"title_{original}"] = _("The title in the story's original language is required.")
            if self.status != self.Status.DRAFT and not (getattr(self, f"body_{original}") or "").strip():
                errors[f"body_{original}"] = _("Write the body in the story's original language before review.")
        if errors:
            raise ValidationError(errors)
        if self.status == self.Status.PUBLISHED and self.story_id:
            privacy.check(self)

    def is_public(self, language: str | None = None) -> bool:
        """Say whether readers may see this part, by the same rule as ``Part.objects.public()``."""
        return type(self).objects.public(language).filter(pk=self.pk).exists()

    def is_scheduled(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )
