"""Back-office forms: withdrawing consent, attaching evidence, and edits that never overwrite someone else's."""

import datetime
import os

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import formats, timezone
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.translator import translator

from archive.richtext import paragraphs_from_line_breaks, render_markdown, single_line_breaks
from archive.validators import TEXT_VALIDATORS
from stories.models import Consent, ConsentEvidence, Part, Story
from stories.services import story_was_published

# Long text such as a part's body is shown shortened in the list of what changed,
# starting a little before the first character that differs.
CHANGE_PREVIEW_CHARACTERS = 80
CHANGE_CONTEXT_CHARACTERS = 20


class WithdrawConsentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the withdrawal"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Recorded in the consent ledger and the audit trail. Only consent officers can read it."),
        error_messages={"required": _("Record the reason for the withdrawal.")},
        validators=TEXT_VALIDATORS,
    )


class EraseStorytellersForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that this cannot be undone"),
        help_text=_("Everything listed above is gone for good, here and in the audit trail; backups are not reached."),
        error_messages={"required": _("Tick the box to confirm that the erasure cannot be undone.")},
    )


class ConsentChoiceField(forms.ModelChoiceField):
    """Name a consent record by the storyteller's pseudonym and the record's date, never by identity."""

    def label_from_instance(self, obj: Consent) -> str:
        return str(_("{pseudonym}: {consent}").format(pseudonym=obj.storyteller, consent=obj))


class ConsentEvidenceForm(forms.ModelForm):
    consent = ConsentChoiceField(
        label=_("consent record"),
        queryset=Consent.objects.select_related("storyteller").order_by("-recorded_at", "-pk"),
        help_text=_("The storyteller and the date of the consent record this file documents."),
    )

    class Meta:
        model = ConsentEvidence
        fields = ["consent", "file", "description"]


def _shown(field: models.Field, value) -> str:
    """Render a stored value for the list of what changed."""
    if value is None or value == "":
        return str(_("(empty)"))
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.ForeignKey):
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else str(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, datetime.datetime):
        return formats.localize(timezone.localtime(value))
    return Truncator(str(value)).chars(CHANGE_PREVIEW_CHARACTERS)


def _same(before, after) -> bool:
    if isinstance(before, datetime.datetime) and isinstance(after, datetime.datetime):
        # The admin's widgets keep whole seconds, so a difference below a second is nobody's edit.
        return before.replace(microsecond=0) == after.replace(microsecond=0)
    return before == after


def _described_change(field: models.Field, before, after) -> str:
    if isinstance(before, str) and isinstance(after, str) and before and after and not field.choices:
        start = max(0, len(os.path.commonprefix([before, after])) - CHANGE_CONTEXT_CHARACTERS)
        lead = "…" if start else ""
        shown_before = lead + Truncator(before[start:]).chars(CHANGE_PREVIEW_CHARACTERS)
        shown_after = lead + Truncator(after[start:]).chars(CHANGE_PREVIEW_CHARACTERS)
    else:
        shown_before, shown_after = _shown(field, before), _shown(field, after)
    return str(
        _("{field}: {before} → {after}").format(
            field=capfirst(field.verbose_name), before=shown_before, after=shown_after
        )
    )


def _compared_fields(model: type[Part] | type[Story], snapshot) -> list[models.Field]:
    """Fields an editor works on: editable, stored, and kept in the history."""
    mirrored = translator.get_options_for_model(model).all_fields
    kept = {field.attname for field in snapshot._meta.concrete_fields}
    return [
        field
        for field in model._meta.concrete_fields
        if field.editable and not field.primary_key and field.name not in mirrored and field.attname in kept
    ]


def changes_since(model: type[Part] | type[Story], pk: int, opened_version: int) -> list[str] | None:
    """Describe, line by line, what changed since an editor opened ``opened_version``; None if nothing did.

    The row is locked until the surrounding transaction ends (the admin's request is one),
    so nobody can save between this check and the editor's own save.
    """
    with transaction.atomic():
        current = model._default_manager.select_for_update().filter(pk=pk).first()
    if current is None or current.version == opened_version:
        return None
    history = model.history.filter(id=pk)
    described = []
    snapshot = history.filter(version=opened_version).order_by("-history_date", "-history_id").first()
    if snapshot is None:
        described.append(str(_("What changed is not recorded in the history.")))
    else:
        changed = [
            _described_change(field, getattr(snapshot, field.attname), getattr(current, field.attname))
            for field in _compared_fields(model, snapshot)
            if not _same(getattr(snapshot, field.attname), getattr(current, field.attname))
        ]
        if changed:
            described += [str(_("Changed since you opened it:")), *changed]
        storyteller_id = current.story.storyteller_id if isinstance(current, Part) else current.storyteller_id
        consent_changed = Consent.history.filter(
            storyteller_id=storyteller_id, history_type="+", history_date__gt=snapshot.history_date
        ).exists()
        if consent_changed:
            # Editors are not told the decision itself, only that it changed.
            described.append(str(_("The storyteller's consent changed.")))
    latest = history.order_by("-history_date", "-history_id").select_related("history_user").first()
    if latest is not None and latest.version == current.version and latest.history_user is not None:
        described.append(
            str(
                _("Last saved by {user} at {time}.").format(
                    user=latest.history_user.get_username(),
                    time=formats.localize(timezone.localtime(latest.history_date)),
                )
            )
        )
    return described


class VersionedModelForm(forms.ModelForm):
    """Carry the version an editor opened, and refuse to save over anything saved since.

    Used for parts and stories: their ``version`` goes up on every save, and withdrawing
    consent bumps the versions of everything the storyteller told, so a form opened before
    a withdrawal can never save (and so never re-publish) afterwards.
    """

    opened_version = forms.IntegerField(
        label=_("version you opened"), widget=forms.HiddenInput, required=False, min_value=1
    )
    # A row of an inline is checked only when its editor changed it, as only then is it saved.
    check_unchanged = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["opened_version"] = self.instance.version

    def edited(self) -> bool:
        return any(name != "opened_version" for name in self.changed_data)

    def has_changed(self) -> bool:
        # The version is bookkeeping: an inline row nobody edited is not saved, however old its page.
        return self.edited()

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk or not (self.check_unchanged or self.edited()):
            return cleaned
        opened = cleaned.get("opened_version")
        if opened is None:
            raise ValidationError(
                _("This page was opened without its version, so saving could overwrite someone else's work. Reload it.")
            )
        described = changes_since(type(self.instance), self.instance.pk, opened)
        if described is not None:
            raise ValidationError(
                [
                    _(
                        "Not saved: someone else changed this {thing} since you opened it. Reload the page to see "
                        "the current version, then make your changes again."
                    ).format(thing=self.instance._meta.verbose_name),
                    *described,
                ]
            )
        return cleaned


class VersionedInlineForm(VersionedModelForm):
    check_unchanged = False


class StoryForm(VersionedModelForm):
    """A story's form: changing the address of a story readers were given links to needs a confirmation."""

    confirm_slug_change = forms.BooleanField(
        label=_("Change the address of this published story"),
        required=False,
        help_text=_(
            "Links readers shared use the old address. It will keep leading here with a permanent redirect, "
            "in both languages, for as long as the story is public."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if (
            self.instance.pk
            and "slug" in self.changed_data
            and cleaned.get("slug")
            and not cleaned.get("confirm_slug_change")
            and story_was_published(self.instance)
        ):
            self.add_error(
                "confirm_slug_change",
                _(
                    "This story has been published, so readers have links to its address ({slug}). "
                    "Tick the box to change it; nothing was saved yet."
                ).format(slug=self.initial.get("slug", "")),
            )
        return cleaned


class PartForm(VersionedModelForm):
    """A part's form: a body whose paragraphs are separated by single line breaks is caught before saving.

    Markdown joins lines separated by one line break into one paragraph, so text pasted from an email or a
    word processor would reach readers with its paragraphs run together. The editor sees how it would read,
    and chooses with one tick: make each line a paragraph, or keep the text as it is.
    """

    split_paragraphs = forms.BooleanField(
        label=_("Turn single line breaks into paragraphs"),
        required=False,
        help_text=_("For text pasted from an email or a word processor: each line becomes its own paragraph."),
    )
    keep_line_breaks = forms.BooleanField(
        label=_("Keep the line breaks as they are"),
        required=False,
        help_text=_("Lines separated by a single line break are then read as one paragraph."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Shown above the form: how each body with single line breaks reads now, and with the fix.
        self.paragraph_previews: list[dict] = []
        if not self.is_bound and self.instance.pk:
            for code, name in settings.LANGUAGES:
                if f"body_{code}" in self.fields:
                    self._preview(getattr(self.instance, f"body_{code}") or "", name)

    def _preview(self, text: str, language: str) -> int:
        joined = single_line_breaks(text)
        if joined:
            self.paragraph_previews.append(
                {
                    "language": language,
                    "now": render_markdown(text),
                    "fixed": render_markdown(paragraphs_from_line_breaks(text)),
                }
            )
        return joined

    def clean(self):
        cleaned = super().clean()
        split, keep = cleaned.get("split_paragraphs"), cleaned.get("keep_line_breaks")
        for code, name in settings.LANGUAGES:
            field = f"body_{code}"
            if field not in self.fields or not cleaned.get(field):
                continue
            text = cleaned[field]
            joined = single_line_breaks(text)
            if not joined or keep:
                continue
            if split:
                cleaned[field] = paragraphs_from_line_breaks(text)
                continue
            self._preview(text, name)
            self.add_error(
                field,
                ngettext(
                    "This text separates its paragraphs with single line breaks and has no blank line, so %(count)d "
                    "line would be joined to the one before it. See the preview above, then tick one of the boxes "
                    "below.",
                    "This text separates its paragraphs with single line breaks and has no blank line, so %(count)d "
                    "lines would be joined to the ones before them. See the preview above, then tick one of the boxes "
                    "below.",
                    joined,
                )
                % {"count": joined},
            )
        return cleaned
