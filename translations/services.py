"""Every change to a translation's status, and who may make it."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from stories import privacy
from stories.publication import publication_batch
from translations.models import Translation
from translations.registry import translatable_for

TRANSLATE = "translations.translate"
APPROVE = "translations.approve_translation"


def _require(user: AbstractBaseUser | None, permission: str) -> None:
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def _save(translation: Translation, by: AbstractBaseUser | None, **kwargs) -> None:
    """Save with the acting user recorded in the audit trail, even outside a request."""
    if by is not None:
        translation._history_user = by
    translation.save(**kwargs)


def _check_language(obj: models.Model, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language."))
    if language == translatable_for(obj).original_language(obj):
        raise ValidationError(_("This is the original language; only editors change the original text."))


def translation_get(*, obj: models.Model, language: str, lock: bool = False) -> Translation:
    """Return the translation record of an object in a language, creating a 'missing' one if needed."""
    content_type = ContentType.objects.get_for_model(obj)
    queryset = Translation.objects.select_for_update() if lock else Translation.objects
    translation, _created = queryset.get_or_create(content_type=content_type, object_id=obj.pk, language=language)
    return translation


def _guard(obj: models.Model, language: str, text: dict[str, str]) -> None:
    """Apply the identifying-detail guard to a language version before it is approved."""
    entry = translatable_for(obj)
    language_name = dict(settings.LANGUAGES)[language]
    texts = [
        (_("{field} ({language})").format(field=entry.field_label(field), language=language_name), value)
        for field, value in text.items()
    ]
    privacy.check_texts(
        texts,
        privacy.storyteller_of(obj),
        refusal=_("This translation cannot be approved because it contains identifying details:"),
        obj=obj,
    )


def _locked(obj: models.Model, language: str, by: AbstractBaseUser | None, permission: str) -> Translation:
    """Check who acts and on which language, then lock the translation record for the change."""
    _require(by, permission)
    _check_language(obj, language)
    return translation_get(obj=obj, language=language, lock=True)


@transaction.atomic
def translation_save_draft(
    *, obj: models.Model, language: str, text: dict[str, str], by: AbstractBaseUser | None
) -> Translation:
    """Save a translator's work in progress; readers keep seeing the last approved version."""
    translation = _locked(obj, language, by, TRANSLATE)
    entry = translatable_for(obj)
    draft = {field: (text.get(field) or "").strip() for field in entry.fields}
    if translation.status == Translation.Status.APPROVED and draft == entry.text_in(obj, language):
        return translation  # nothing changed since approval
    translation.draft = draft
    # What the translator is translating from: approval compares it with the original then.
    translation.draft_source = entry.original_text(obj)
    translation.status = Translation.Status.DRAFT
    translation.full_clean()
    _save(translation, by)
    return translation


@transaction.atomic
def translation_submit(*, obj: models.Model, language: str, by: AbstractBaseUser | None) -> Translation:
    """Send a draft to an editor for review."""
    translation = _locked(obj, language, by, TRANSLATE)
    if translation.status != Translation.Status.DRAFT:
        raise ValidationError(_("Only a draft can be sent for review."))
    entry = translatable_for(obj)
    if not translation.draft.get(entry.fields[0]):
        raise ValidationError(
            _("Translate at least the {field} before sending it for review.").format(
                field=entry.field_label(entry.fields[0])
            )
        )
    if "body" in entry.fields and not translation.draft.get("body"):
        raise ValidationError(_("Translate the body before sending it for review."))
    translation.status = Translation.Status.IN_REVIEW
    translation.submitted_by = by
    translation.submitted_at = timezone.now()
    _save(translation, by)
    return translation


@transaction.atomic
def translation_return(*, obj: models.Model, language: str, by: AbstractBaseUser | None) -> Translation:
    """Send a translation in review back to the translator as a draft."""
    translation = _locked(obj, language, by, APPROVE)
    if translation.status != Translation.Status.IN_REVIEW:
        raise ValidationError(_("Only a translation in review can be returned."))
    translation.status = Translation.Status.DRAFT
    _save(translation, by)
    return translation


def _publish_text(obj: models.Model, language: str, text: dict[str, str]) -> None:
    entry = translatable_for(obj)
    for field in entry.fields:
        setattr(obj, f"{field}_{language}", text.get(field, ""))
    # Only this language's fields: an editor may be changing the original at the same time.
    obj.save(update_fields=[f"{field}_{language}" for field in entry.fields])


def _approve(
    translation: Translation, obj: models.Model, text: dict[str, str], source: dict[str, str], by
) -> Translation:
    """Publish ``text``, a translation of the original as it was in ``source``."""
    _guard(obj, translation.language, text)
    with publication_batch():
        return _approved(translation, obj, text, source, by)


def _approved(translation: Translation, obj: models.Model, text: dict[str, str], source: dict[str, str], by):
    _publish_text(obj, translation.language, text)
    translation.status = Translation.Status.APPROVED
    translation.draft = {}
    translation.draft_source = {}
    translation.approved_source = source
    # If the original changed while the translation waited for review, it is stale at once.
    translation.needs_update = source != translatable_for(obj).original_text(obj)
    translation.approved_by = by
    translation.approved_at = timezone.now()
    _save(translation, by)
    return translation


@privacy.refusals_recorded
@transaction.atomic
def translation_approve(*, obj: models.Model, language: str, by: AbstractBaseUser | None) -> Translation:
    """Approve a translation in review: check it for identifying details, then make it the public text."""
    translation = _locked(obj, language, by, APPROVE)
    if translation.status != Translation.Status.IN_REVIEW:
        raise ValidationError(_("Only a translation in review can be approved."))
    source = translation.draft_source or translatable_for(obj).original_text(obj)
    return _approve(translation, obj, dict(translation.draft), source, by)


@privacy.refusals_recorded
@transaction.atomic
def translation_approve_existing(*, obj: models.Model, language: str, by: AbstractBaseUser | None) -> Translation:
    """Approve the text already stored in a language, as set-up and imports of reviewed text do."""
    translation = _locked(obj, language, by, APPROVE)
    entry = translatable_for(obj)
    return _approve(translation, obj, entry.text_in(obj, language), entry.original_text(obj), by)


@privacy.refusals_recorded
@transaction.atomic
def translation_approve_all_existing(*, obj: models.Model, by: AbstractBaseUser | None) -> None:
    """Approve the text an object already has in each language other than its original."""
    entry = translatable_for(obj)
    original = entry.original_language(obj)
    for code, _name in settings.LANGUAGES:
        if code != original and entry.text_in(obj, code)[entry.fields[0]]:
            translation_approve_existing(obj=obj, language=code, by=by)


@transaction.atomic
def translation_set_keep_public(
    *, obj: models.Model, language: str, keep_public: bool, by: AbstractBaseUser | None
) -> Translation:
    """Decide whether a stale approved translation stays public until its update is approved."""
    translation = _locked(obj, language, by, APPROVE)
    translation.keep_public_while_updating = keep_public
    _save(translation, by)
    return translation


def translation_refresh_staleness(*, obj: models.Model) -> None:
    """Flag approved translations whose original has changed since approval (and unflag reverted ones)."""
    entry = translatable_for(obj)
    current = entry.original_text(obj)
    content_type = ContentType.objects.get_for_model(obj)
    for translation in Translation.objects.filter(
        content_type=content_type, object_id=obj.pk, approved_at__isnull=False
    ):
        stale = translation.approved_source != current
        if stale != translation.needs_update:
            translation.needs_update = stale
            translation.save(update_fields=["needs_update", "updated_at"])
