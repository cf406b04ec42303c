"""Storytellers, their consent, and the stories and parts they told."""

import functools
import logging
import math
import pathlib
import re
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from archive import storage as archive_storage
from archive.i18n import in_some_language, reverse_page
from archive.richtext import render_translated_markdown
from archive.validators import BODY_VALIDATORS, TEXT_VALIDATORS
from stories import images, privacy
from stories.fields import EncryptedTextField, IdentityKeyMissing, Sealed
from stories.querysets import (
    ConsentQuerySet,
    PartQuerySet,
    PublicationQuerySet,
    StoryImageQuerySet,
    StoryQuerySet,
    StorytellerQuerySet,
)

# Files that could not be deleted are mailed to ADMINS (archive/settings/base.py).
logger = logging.getLogger("stories.files")


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    KOREAN = "ko", _("Korean")


def default_original_language() -> str:
    """The original language a new storyteller or story starts with: one setting for both."""
    return settings.DEFAULT_ORIGINAL_LANGUAGE


def require_every_language(obj: models.Model, field: str) -> None:
    """Short editorial labels have no review workflow: they must exist in every language at once."""
    missing = {
        f"{field}_{code}": _("Write this in {language} too: readers never see a label in another language.").format(
            language=name
        )
        for code, name in settings.LANGUAGES
        if not (getattr(obj, f"{field}_{code}") or "").strip()
    }
    if missing:
        raise ValidationError(missing)


class Theme(models.Model):
    name = models.CharField(_("name"), max_length=80, validators=TEXT_VALIDATORS)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return self.name or self.slug

    def clean(self) -> None:
        require_every_language(self, "name")
        # A theme's name and slug are on every page of its stories and in links: site-wide terms only.
        privacy.check(self)


class ContentWarning(models.Model):
    label = models.CharField(_("label"), max_length=120, validators=TEXT_VALIDATORS)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("content warning")
        verbose_name_plural = _("content warnings")

    def __str__(self) -> str:
        return self.label or self.slug

    def clean(self) -> None:
        require_every_language(self, "label")
        privacy.check(self)


class Storyteller(models.Model):
    """The public face of a person who told their story: a pseudonym and a short bio."""

    pseudonym = models.CharField(
        _("pseudonym"),
        max_length=80,
        help_text=_("The only name readers ever see. Never a real name."),
        validators=TEXT_VALIDATORS,
    )
    bio = models.TextField(_("short bio"), blank=True, validators=TEXT_VALIDATORS)
    original_language = models.CharField(
        _("original language"),
        max_length=2,
        choices=Language.choices,
        default=default_original_language,
        help_text=_("The language the pseudonym and bio were first written in; the other is a translation."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StorytellerQuerySet.as_manager()

    class Meta:
        ordering = ["pseudonym"]
        verbose_name = _("storyteller")
        verbose_name_plural = _("storytellers")
        permissions = [("erase_storyteller", _("Can erase a storyteller for good, at their request"))]
        # The back office lists storytellers by pseudonym in the interface's language, ties newest first
        # (the admin's order): read from these, it stops at the page instead of sorting everyone.
        indexes = [
            models.Index(fields=["pseudonym_en", "-id"], name="storyteller_pseudonym_en_idx"),
            models.Index(fields=["pseudonym_ko", "-id"], name="storyteller_pseudonym_ko_idx"),
        ]

    def __str__(self) -> str:
        # In the back office's language, or named with the language it is in: never "" in the other one.
        return in_some_language(self, "pseudonym", default="")

    def clean(self) -> None:
        if not (getattr(self, f"pseudonym_{self.original_language}") or "").strip():
            raise ValidationError(
                {f"pseudonym_{self.original_language}": _("The pseudonym in the original language is required.")}
            )
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
        return str(_("Identity of {pseudonym}").format(pseudonym=self.storyteller))

    @method_decorator(sensitive_variables())
    def terms(self) -> list[str]:
        """Return the identifying terms, one per non-empty line."""
        if isinstance(self.identifying_terms, Sealed):
            # Without the key the terms cannot be read, so nothing can be checked against them.
            raise IdentityKeyMissing("The identifying terms cannot be read without the identity key.")
        return [line.strip() for line in self.identifying_terms.splitlines() if line.strip()]


class ProtectedTerm(models.Model):
    """A site-wide term that must never appear in public text, such as the name of a safe house."""

    term = models.CharField(_("term"), max_length=200, unique=True, validators=TEXT_VALIDATORS)
    note = models.CharField(_("why it is protected"), max_length=200, blank=True, validators=TEXT_VALIDATORS)

    class Meta:
        ordering = ["term"]
        verbose_name = _("protected term")
        verbose_name_plural = _("protected terms")

    def __str__(self) -> str:
        return self.term


class GuardRefusal(models.Model):
    """One refusal by the identifying-detail guard: who, which object, which field; never the term.

    Any refusal confirms that a text holds a protected term, so refusals are kept to make probing
    visible (the audit trail) and expensive (repeated refusals alert the consent officers). The rows
    are append-only: ids and labels only, no foreign key that a deletion elsewhere would rewrite.
    """

    refused_at = models.DateTimeField(_("refused at"), default=timezone.now)
    user_id = models.PositiveBigIntegerField(_("user id"), null=True, blank=True)
    username = models.CharField(_("user"), max_length=150, blank=True)
    storyteller_id = models.PositiveBigIntegerField(_("storyteller id"), null=True, blank=True)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    field = models.CharField(_("field"), max_length=200)
    site_wide = models.BooleanField(_("a site-wide term"), default=False)
    alerted = models.BooleanField(_("consent officers alerted"), default=False)

    class Meta:
        ordering = ["-refused_at", "-pk"]
        verbose_name = _("guard refusal")
        verbose_name_plural = _("guard refusals")
        indexes = [models.Index(fields=["storyteller_id", "refused_at"], name="guard_refusal_teller_idx")]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.field}"


class ExposureScan(models.Model):
    """A search of every published text in the archive for a site-wide term just added or changed.

    Run by a task worker (``stories.services.exposed_text_scan``), never in the officer's request. It
    keeps which objects and fields hold the term, never the term (its ``ProtectedTerm`` has it) nor the
    text. One per term: a new search replaces the one before.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting for a worker")
        RUNNING = "running", _("searching")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    term = models.ForeignKey(
        ProtectedTerm, on_delete=models.CASCADE, related_name="scans", verbose_name=_("protected term")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.QUEUED)
    checked = models.PositiveIntegerField(_("objects searched"), default=0)
    total = models.PositiveIntegerField(_("objects to search"), default=0)
    # The name of the error's class, for the officer and the operators; the traceback is the task's.
    error = models.CharField(_("error"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("asked for"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("search of published text")
        verbose_name_plural = _("searches of published text")

    def __str__(self) -> str:
        return f"{self.term_id} #{self.pk} ({self.state})"


class ExposureFinding(models.Model):
    """One field of one published object that held a protected term when it was searched: no text, no term."""

    scan = models.ForeignKey(ExposureScan, on_delete=models.CASCADE, related_name="findings", verbose_name=_("search"))
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.CASCADE, related_name="+", verbose_name=_("kind")
    )
    object_id = models.PositiveBigIntegerField(_("object id"))
    field = models.CharField(_("field"), max_length=100)
    # Where the term starts in the field's text; line 0 when only the rendered page shows it whole.
    line = models.PositiveIntegerField(_("line"), default=0)
    column = models.PositiveIntegerField(_("character"), default=0)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("place holding a protected term")
        verbose_name_plural = _("places holding a protected term")

    def __str__(self) -> str:
        return f"{self.content_type_id} {self.object_id}: {self.field}"


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
    note = models.TextField(_("note or reason"), blank=True, validators=TEXT_VALIDATORS)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        get_latest_by = ["recorded_at", "pk"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        permissions = [("view_audit_trail", _("Can view and export the audit trail"))]
        # A storyteller's record in force, the latest, is the first entry under their id.
        indexes = [models.Index(fields=["storyteller", "-recorded_at", "-id"], name="consent_in_force_idx")]

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
    return archive_storage.private_storage


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
    description = models.CharField(_("description"), max_length=200, blank=True, validators=TEXT_VALIDATORS)
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

    class Kind(models.TextChoices):
        SERIAL = "serial", _("Serial, told in numbered parts")
        SINGLE = "single", _("Single piece (a profile, an essay)")

    title = models.CharField(_("title"), max_length=200, validators=TEXT_VALIDATORS)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    kind = models.CharField(
        _("kind"),
        max_length=8,
        choices=Kind.choices,
        default=Kind.SERIAL,
        help_text=_(
            "A single piece has one part, shown at the story's address under its own title, "
            "without part numbers or a list of parts."
        ),
    )
    summary = models.TextField(_("summary"), blank=True, validators=TEXT_VALIDATORS)
    storyteller = models.ForeignKey(
        Storyteller, on_delete=models.PROTECT, related_name="stories", verbose_name=_("storyteller")
    )
    themes = models.ManyToManyField(Theme, blank=True, related_name="stories", verbose_name=_("themes"))
    content_warnings = models.ManyToManyField(
        ContentWarning, blank=True, related_name="stories", verbose_name=_("content warnings")
    )
    original_language = models.CharField(
        _("original language"), max_length=2, choices=Language.choices, default=default_original_language
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    is_complete = models.BooleanField(
        _("serial complete"), default=False, help_text=_("Untick while more parts are still to come.")
    )
    is_featured = models.BooleanField(_("featured"), default=False)
    # One of the story's own photos, through the same pipeline and rule as every photo: readers see it on
    # cards, lists, the story's page and as the share image only while that photo is public in their language.
    cover = models.ForeignKey(
        "StoryImage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cover photo"),
        help_text=_(
            "One of this story's photos. Readers see it only while they may see the photo itself; "
            "without it, a designed text card is shown."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = StoryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("story")
        verbose_name_plural = _("stories")
        # The story index walks this, newest first, and stops at the page it shows.
        indexes = [models.Index(fields=["-created_at", "-id"], name="story_newest_idx")]

    def __str__(self) -> str:
        return in_some_language(self, "title", default=self.slug)

    def get_absolute_url(self) -> str:
        return reverse_page("stories:story", slug=self.slug)

    @property
    def is_single(self) -> bool:
        return self.kind == self.Kind.SINGLE

    def clean(self) -> None:
        if not (getattr(self, f"title_{self.original_language}") or "").strip():
            raise ValidationError(
                {f"title_{self.original_language}": _("The title in the original language is required.")}
            )
        if self.cover_id and (self.pk is None or self.cover.part.story_id != self.pk):
            raise ValidationError({"cover": _("Choose one of this story's own photos as its cover.")})
        if self.is_single and self.pk and self.parts.exclude(number=1).exists():
            raise ValidationError(
                {"kind": _("A single piece has one part, numbered 1: move or remove the other parts first.")}
            )
        if self.status == self.Status.PUBLISHED and self.storyteller_id:
            privacy.check(self)


class StorySlugHistory(models.Model):
    """A slug a story was once published under: its old links answer with a permanent redirect.

    Written by ``services.story_save`` in the transaction that changes the slug; read only when a
    reader's address names no story, and followed only to a story readers may see now.
    """

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="old_slugs", verbose_name=_("story"))
    slug = models.SlugField(_("old slug"), max_length=120, unique=True)
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = _("old slug")
        verbose_name_plural = _("old slugs")

    def __str__(self) -> str:
        return self.slug


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
    title = models.CharField(_("title"), max_length=200, validators=TEXT_VALIDATORS)
    summary = models.TextField(_("summary"), blank=True, validators=TEXT_VALIDATORS)
    body = models.TextField(
        _("body"), blank=True, help_text=_("Markdown. Rendered and cleaned when saved."), validators=BODY_VALIDATORS
    )
    body_html = models.TextField(_("rendered body"), blank=True, editable=False)
    recap = models.TextField(
        _("recap"),
        blank=True,
        help_text=_(
            "Optional, for a part after the first: a line on what the earlier parts tell, with links to them. "
            "Shown instead of the links to parts 1 and 2. Markdown."
        ),
        validators=TEXT_VALIDATORS,
    )
    recap_html = models.TextField(_("rendered recap"), blank=True, editable=False)
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
        constraints = [
            models.UniqueConstraint(fields=["story", "number"], name="part_number_unique_in_story"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="part_number_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "published_at"], name="part_status_published_idx"),
            # The back office's date drill-down: first and last dates, and whether a year or month has any.
            models.Index(fields=["published_at"], name="part_published_idx"),
        ]

    def __str__(self) -> str:
        if self.story.is_single:
            return str(self.story)
        return str(_("{story}: Part {number}").format(story=self.story, number=self.number))

    def save(self, *args, **kwargs) -> None:
        # Render once here, per language, so that no request ever renders Markdown.
        render_translated_markdown(self, kwargs, derived={"reading_minutes": reading_minutes})
        render_translated_markdown(self, kwargs, source="recap")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        if self.is_single_piece:
            # A single piece is read at its story's address; part-1 redirects there.
            return self.story.get_absolute_url()
        return reverse_page("stories:part", slug=self.story.slug, number=self.number)

    @property
    def is_single_piece(self) -> bool:
        """The one part of a single piece: no part number, no list of parts, no previous or next."""
        return self.number == 1 and self.story.is_single

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
        if self.story_id and self.number != 1 and self.story.is_single:
            errors["number"] = _("A single piece has one part, numbered 1. Make the story a serial to add more.")
        if self.number == 1:
            for code, _name in settings.LANGUAGES:
                if (getattr(self, f"recap_{code}") or "").strip():
                    errors[f"recap_{code}"] = _("Only a part after the first has a recap: there is nothing before it.")
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


def image_original_upload_to(instance: "StoryImage", filename: str) -> str:
    """Store an original under a random name; its extension comes from its content, never the upload's name."""
    return images.random_name("image-originals", images.ALLOWED_FORMATS.get(instance.original_format, "bin"))


class Processing(models.TextChoices):
    WAITING = "waiting", _("waiting to be processed")
    PROCESSING = "processing", _("processing")
    READY = "ready", _("ready")
    FAILED = "failed", _("failed")


class StoryImage(images.RenditionUrls, models.Model):
    """A photo shown with a part: readers only ever get renditions rebuilt from its pixels, never the upload."""

    Processing = Processing
    rendition_url_name = "story-image"

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="images", verbose_name=_("part"))
    # The upload as it came, kept out of every public path: in private storage, under a random name.
    original = models.FileField(
        _("photo"),
        storage=private_storage,
        upload_to=image_original_upload_to,
        max_length=200,
        help_text=_(
            "JPEG, PNG or WebP. Location, camera details and every other hidden detail are removed; "
            "readers only see copies rebuilt from the pixels."
        ),
    )
    original_format = models.CharField(_("original format"), max_length=8, blank=True, editable=False)
    alt_text = models.CharField(
        _("alt text"),
        max_length=300,
        blank=True,
        help_text=_("What the photo shows, for readers who cannot see it. Required in every language."),
        validators=TEXT_VALIDATORS,
    )
    caption = models.CharField(_("caption"), max_length=500, blank=True, validators=TEXT_VALIDATORS)
    credit = models.CharField(_("credit"), max_length=200, blank=True, validators=TEXT_VALIDATORS)
    shows_identifiable_person = models.BooleanField(
        _("shows an identifiable person"),
        default=True,
        help_text=_(
            "Readers see a photo of someone who could be recognised only while the storyteller's consent "
            "covers photos. Untick only when nobody in it can be recognised."
        ),
    )
    obscured_areas = models.JSONField(
        _("areas to obscure"),
        default=list,
        blank=True,
        help_text=_(
            "Faces, tattoos, signs: each area is pixelated in every copy readers see. A list such as "
            '[{"x": 0.1, "y": 0.2, "w": 0.25, "h": 0.3}], as fractions of the width (x, w) and height (y, h) '
            "of the upright photo, measured from its top left corner."
        ),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # Processing happens in a task (stories/tasks.py): the upload is stored and checked from its header in
    # the request, and rendered by a worker. Readers see a photo only once it is READY (the visibility rule).
    processing = models.CharField(
        _("processing"), max_length=10, choices=Processing.choices, default=Processing.WAITING, editable=False
    )
    processing_progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0, editable=False)
    # Why processing failed: a code of stories.images (shown in the editor's language), "worker-lost", or
    # "error:" and the exception's name. Never the exception's text, which may quote a file or an address.
    processing_error = models.CharField(_("processing error"), max_length=100, blank=True, editable=False)
    # Names the rendering last asked for: a task for an older upload or older areas finds it changed and stops.
    processing_token = models.CharField(max_length=32, blank=True, editable=False)
    rendition_key = models.CharField(_("rendition key"), max_length=32, blank=True, editable=False, db_index=True)
    renditions = models.JSONField(_("renditions"), default=dict, blank=True, editable=False)
    width = models.PositiveIntegerField(_("width"), default=0, editable=False)
    height = models.PositiveIntegerField(_("height"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StoryImageQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return str(_("Photo #{number}").format(number=self.pk)) if self.pk else str(_("New photo"))

    def save(self, *args, **kwargs) -> None:
        # A new upload, new areas or a retry: store the upload and ask a task to render it. The old renditions
        # stop being shown at once (an editor who obscures a face expects it gone), and go once this commits.
        render = self._needs_rendering() or getattr(self, "_process_again", False)
        if render:
            self._request_rendering()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, *RENDERING_FIELDS, "original", "original_format"}
        super().save(*args, **kwargs)
        if render:
            self._process_again = False
            self._enqueue_rendering()

    def process_again(self) -> None:
        """Render the stored original again at the next save (after a failure, or to rebuild lost renditions)."""
        self._process_again = True

    def clean(self) -> None:
        errors = {}
        part = self._part()
        # The original language's alt text is required; the other languages' come through the
        # translation workspace, and the photo is shown in a language only once that is approved.
        original = part.story.original_language if part is not None and part.story_id else None
        for code, language in settings.LANGUAGES:
            if (original is None or code == original) and not (getattr(self, f"alt_text_{code}") or "").strip():
                errors[f"alt_text_{code}"] = _(
                    "Describe the photo for readers who cannot see it, in {language}."
                ).format(language=language)
        try:
            images.parse_areas(self.obscured_areas)
        except ValidationError as error:
            errors["obscured_areas"] = error.messages
        else:
            if self.original and not self.original._committed:
                try:
                    self._inspect_upload()
                except images.ImageRejected as error:
                    errors["original"] = error.message
        if errors:
            raise ValidationError(errors)
        if part is not None and part.status == Part.Status.PUBLISHED and part.story_id:
            privacy.check(self)

    def is_public(self, language: str | None = None) -> bool:
        """Say whether readers may see this photo, by the same rule as ``StoryImage.objects.public()``."""
        return type(self).objects.public(language).filter(pk=self.pk).exists()

    @property
    def rendition_items(self) -> list[dict]:
        return (self.renditions or {}).get("items", [])

    def _part(self) -> "Part | None":
        try:
            return self.part
        except Part.DoesNotExist:
            return None

    @property
    def processing_message(self) -> str:
        """What the editor is told about a photo that is not ready, in the active language."""
        if self.processing == Processing.WAITING:
            return str(_("Waiting to be processed. Readers see it once it is ready."))
        if self.processing == Processing.PROCESSING:
            return str(_("Processing: {percent}%. Readers see it once it is ready.")).format(
                percent=self.processing_progress
            )
        if self.processing != Processing.FAILED:
            return ""
        rejected = images.rejection(self.processing_error)
        if rejected is not None:
            return str(rejected.message)
        if self.processing_error == "worker-lost":
            reason = _("The task worker stopped while processing it, three times.")
        else:
            reason = _("It could not be processed ({error}).").format(
                error=self.processing_error.removeprefix("error:") or "?"
            )
        return str(reason) + " " + str(_("Tick “process again” and save to try again; the operators were told."))

    def _rendered_from(self) -> dict:
        return {"original": self.original.name, "areas": images.parse_areas(self.obscured_areas)}

    def _needs_rendering(self) -> bool:
        """A new upload, or renditions (done or asked for) of another upload or other areas than these."""
        if not self.original:
            return False
        if not self.original._committed:
            return True
        return (self.renditions or {}).get("source") != self._rendered_from()

    def _inspect_upload(self) -> images.Inspection:
        """Check a fresh upload from its size and header alone: no pixel is decoded in a request."""
        if self.original.size > images.MAX_UPLOAD_BYTES:
            # Refused on its size alone, before a byte of it is read.
            raise images.too_large()
        upload = self.original.file
        upload.seek(0)
        head = upload.read(images.MAX_UPLOAD_BYTES + 1)
        upload.seek(0)
        return images.inspect(head)

    def _request_rendering(self) -> None:
        """Store a new upload, drop the renditions shown so far, and mark the photo as waiting for a task."""
        previous = type(self).objects.filter(pk=self.pk).values_list("original", "renditions").first()
        if not self.original._committed:
            self.original_format = self._inspect_upload().format
            self.original.save(self.original.name, self.original.file, save=False)
        self.rendition_key = ""
        self.renditions = {"source": self._rendered_from(), "items": []}
        self.width = self.height = 0
        self.processing = Processing.WAITING
        self.processing_progress = 0
        self.processing_error = ""
        self.processing_token = uuid.uuid4().hex
        if previous:
            old_original, old_renditions = previous
            stale = [item["name"] for item in (old_renditions or {}).get("items", [])]
            if old_original and old_original != self.original.name:
                stale.append(old_original)
            # Recorded with this change and deleted once it commits; a process that dies first leaves the
            # record for privacy_audit to finish.
            FileDeletion.objects.schedule(stale)

    def _enqueue_rendering(self) -> None:
        """Queue the rendering in this transaction: it commits with the photo, or neither does."""
        from stories.tasks import process_photo

        result = process_photo.enqueue(self.pk, self.processing_token)
        if result.is_finished:
            # Run at once (the immediate backend of development and tests): show what it did.
            self.refresh_from_db(fields=["original_format", *RENDERING_FIELDS])

    def render_now(self, *, token: str, progress=None) -> bool:
        """Render the stored original and make the renditions current, unless a newer rendering was asked for.

        Called by the task. Renditions are written first, then switched to in one short transaction; a
        rendering overtaken meanwhile (new upload, new areas, deletion) leaves nothing behind. Returns
        whether the renditions became current. Raises images.ImageRejected for a file that fails to decode.
        """
        storage = private_storage()
        with storage.open(self.original.name, "rb") as handle:
            data = handle.read(images.MAX_UPLOAD_BYTES + 1)
        areas = images.parse_areas(self.obscured_areas)

        def rendering(done: int, total: int) -> None:
            if progress:
                progress(round(80 * done / total))

        prepared = images.render(data, areas=areas, progress=rendering)
        written = []
        try:
            for number, rendition in enumerate(prepared.renditions, start=1):
                name = storage.save(
                    images.random_name("image-renditions", rendition.extension), ContentFile(rendition.data)
                )
                written.append(
                    {
                        "width": rendition.width,
                        "height": rendition.height,
                        "extension": rendition.extension,
                        "name": name,
                    }
                )
                if progress:
                    progress(80 + round(19 * number / len(prepared.renditions)))
            with transaction.atomic():
                current = type(self).objects.select_for_update().filter(pk=self.pk, processing_token=token).first()
                if current is None:
                    FileDeletion.objects.schedule(item["name"] for item in written)
                    return False
                largest = max(written, key=lambda item: item["width"])
                current.width, current.height = largest["width"], largest["height"]
                current.original_format = prepared.inspection.format
                # A new key on every rendering: copies cached under the old URLs are never served again.
                current.rendition_key = uuid.uuid4().hex
                current.renditions = {"source": current._rendered_from(), "items": written}
                current.processing = Processing.READY
                current.processing_progress = 100
                current.processing_error = ""
                current.save(update_fields=["original_format", *RENDERING_FIELDS])
        except BaseException:
            _delete_private_files([item["name"] for item in written])
            raise
        return True


# What a rendering (asked for, or done) changes on a photo.
RENDERING_FIELDS = (
    "rendition_key",
    "renditions",
    "width",
    "height",
    "processing",
    "processing_progress",
    "processing_error",
    "processing_token",
)


def _delete_private_files(names: list[str]) -> None:
    """Delete files after a commit; any that cannot be deleted are recorded, logged and retried later."""
    FileDeletion.objects.attempt(names)


@receiver(post_delete, sender=StoryImage, dispatch_uid="story-image-files")
def _delete_image_files(sender, instance: StoryImage, **kwargs) -> None:
    """Remove a deleted photo's original and renditions once the deletion commits."""
    FileDeletion.objects.schedule(image_files(instance))


def image_files(image: StoryImage) -> list[str]:
    """Every stored file of a photo: its original upload and each rendition."""
    names = [item["name"] for item in (image.renditions or {}).get("items", [])]
    if image.original:
        names.append(image.original.name)
    return names


class FileDeletionQuerySet(models.QuerySet):
    def schedule(self, names: Iterable[str]) -> None:
        """Record files to delete in this transaction, and delete them once it commits.

        The record commits with the change that makes the files unwanted, so a process that dies before
        deleting them, or a store that refuses, leaves it behind for ``privacy_audit`` to retry and report.
        """
        names = sorted({name for name in names if name})
        if not names:
            return
        self.bulk_create([self.model(name=name) for name in names])
        transaction.on_commit(functools.partial(self.attempt, names), robust=True)

    def attempt(self, names: Iterable[str] | None = None) -> list[str]:
        """Delete these files (None: every recorded one) now; return those still there, recorded and logged."""
        names = sorted(set(self.values_list("name", flat=True) if names is None else names))
        if not names:
            return []
        failed = archive_storage.delete_stored(private_storage(), names)
        deleted = [name for name in names if name not in failed]
        for start in range(0, len(deleted), 500):
            self.filter(name__in=deleted[start : start + 500]).delete()
        for name, error in failed.items():
            updated = self.filter(name=name).update(attempts=models.F("attempts") + 1, last_error=error)
            if not updated:
                self.create(name=name, attempts=1, last_error=error)
        if failed:
            logger.error(
                "%d stored file(s) could not be deleted and are kept for a retry by privacy_audit; first: %s",
                len(failed),
                next(iter(failed.values())),
            )
        return sorted(failed)


class FileDeletion(models.Model):
    """A private file that must be deleted: a withdrawn or erased photo, a replaced rendition.

    The name is random and says nothing of whose file it was. The row goes once the file is gone.
    """

    name = models.CharField(_("file name"), max_length=300, db_index=True)
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    objects = FileDeletionQuerySet.as_manager()

    class Meta:
        ordering = ["requested_at", "pk"]
        verbose_name = _("file to delete")
        verbose_name_plural = _("files to delete")

    def __str__(self) -> str:
        return self.name


class Publication(models.Model):
    """One row per object and language in which readers may see it at some time: the rule, materialised.

    A row exists while every condition of the visibility rule that only a write can change holds
    (statuses, consent and its scopes, text and approved translations); it holds the two conditions
    that time alone changes as a window: ``published_at`` to the consent's ``review_by`` date. Rows
    are written by ``stories.publication`` in the transaction of every change to what the rule reads,
    and checked against the definition by tests and ``manage.py publication_check``.
    """

    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    storyteller = models.ForeignKey(
        Storyteller, on_delete=models.CASCADE, related_name="+", verbose_name=_("storyteller")
    )
    published_at = models.DateTimeField(_("public from"))
    review_by = models.DateField(_("public until the end of"))
    # The scopes of the consent in force, for the rules that need more than the language.
    covers_english = models.BooleanField(_("consent covers English"), default=False)
    covers_korean = models.BooleanField(_("consent covers Korean"), default=False)
    covers_photos = models.BooleanField(_("consent covers photos"), default=False)
    covers_advocacy = models.BooleanField(_("consent covers advocacy"), default=False)

    objects = PublicationQuerySet.as_manager()

    # The foreign key to the object the row makes public.
    object_field = ""

    class Meta:
        abstract = True


class StoryPublication(Publication):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="publications", verbose_name=_("story"))
    # The story's own creation time, the order of every list of stories: lists page through this
    # table's index alone, and join the stories of one page only.
    story_created_at = models.DateTimeField(_("story created"))

    object_field = "story"

    class Meta:
        verbose_name = _("story publication")
        verbose_name_plural = _("story publications")
        constraints = [models.UniqueConstraint(fields=["story", "language"], name="story_publication_unique")]
        indexes = [
            # Newest first, with the window, so counting and paging a language's live stories reads
            # the index and nothing else.
            models.Index(
                fields=["language", "-story_created_at", "-story", "published_at", "review_by"],
                name="story_publication_newest_idx",
            ),
            models.Index(fields=["storyteller"], name="story_publication_teller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.story_id}/{self.language}"


class PartPublication(Publication):
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="publications", verbose_name=_("part"))
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+", verbose_name=_("story"))
    number = models.PositiveSmallIntegerField(_("part number"))
    # How many of the part's photos readers may see with it, so a page without any asks for none.
    image_count = models.PositiveSmallIntegerField(_("photos"), default=0)

    object_field = "part"

    class Meta:
        verbose_name = _("part publication")
        verbose_name_plural = _("part publications")
        constraints = [models.UniqueConstraint(fields=["part", "language"], name="part_publication_unique")]
        indexes = [
            models.Index(fields=["language", "published_at"], name="part_publication_live_idx"),
            models.Index(fields=["story", "language", "number"], name="part_publication_story_idx"),
            models.Index(fields=["storyteller"], name="part_publication_teller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.part_id}/{self.language}"


class ImagePublication(Publication):
    image = models.ForeignKey(
        StoryImage, on_delete=models.CASCADE, related_name="publications", verbose_name=_("photo")
    )
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="+", verbose_name=_("part"))
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+", verbose_name=_("story"))

    object_field = "image"

    class Meta:
        verbose_name = _("photo publication")
        verbose_name_plural = _("photo publications")
        constraints = [models.UniqueConstraint(fields=["image", "language"], name="image_publication_unique")]
        indexes = [
            models.Index(fields=["part", "language"], name="image_publication_part_idx"),
            models.Index(fields=["storyteller"], name="image_publication_teller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.image_id}/{self.language}"
