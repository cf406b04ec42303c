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


def companions(part: models.Model, language: str) -> list[models.Model]:
    """What a part needs besides its own text to be read in the language: its story's and storyteller's text.

    Those whose original is the language need nothing; the rest are sent for review with the part
    (``translation_submit_together``) unless their translation is approved and current already.
    """
    wanted = []
    for obj in (part.story.storyteller, part.story):
        if translatable_for(obj).original_language(obj) == language:
            continue
        record = Translation.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, language=language
        ).first()
        if record is None or record.approved_at is None or record.needs_update:
            wanted.append(obj)
    return wanted


@transaction.atomic
def translation_submit_together(
    *, part: models.Model, language: str, texts: dict[str, dict[str, str]], by: AbstractBaseUser | None
) -> Translation:
    """Send a part's translation for review with the story's and storyteller's it needs, as one review.

    ``texts`` holds the translator's text by model name ("part", "story", "storyteller"); the part's is
    required, the others are sent when the part needs them (``companions``). All are saved and sent, or
    none (one transaction); one reviewer decision approves or returns them all (``translation_approve``,
    ``translation_return``). Returns the part's translation, which the others name as ``submitted_with``.
    """
    if "part" not in texts:
        raise ValidationError(_("Translate the part before sending it for review."))
    with_part = [obj for obj in companions(part, language) if obj._meta.model_name in texts]
    sent = []
    for obj, text in [(part, texts["part"]), *[(obj, texts[obj._meta.model_name]) for obj in with_part]]:
        translation_save_draft(obj=obj, language=language, text=text, by=by)
        sent.append(translation_submit(obj=obj, language=language, by=by))
    lead, *others = sent
    if lead.submitted_with_id is not None:
        lead.submitted_with = None
        _save(lead, by, update_fields=["submitted_with", "updated_at"])
    # Anything sent with an earlier submission of this part, and not sent again now, goes back to its translator.
    for earlier in (
        Translation.objects.select_for_update()
        .filter(submitted_with=lead)
        .exclude(pk__in=[other.pk for other in others])
    ):
        earlier.submitted_with = None
        if earlier.status == Translation.Status.IN_REVIEW:
            earlier.status = Translation.Status.DRAFT
        _save(earlier, by)
    for other in others:
        other.submitted_with = lead
        _save(other, by, update_fields=["submitted_with", "updated_at"])
    return lead


def _together(translation: Translation) -> list[Translation]:
    """The translations sent for review with this one (a part's), still in review, locked."""
    return list(
        Translation.objects.select_for_update()
        .filter(submitted_with=translation, status=Translation.Status.IN_REVIEW)
        .order_by("pk")
    )


def _not_alone(translation: Translation) -> None:
    """Refuse a decision on one translation of a review sent together: it is taken on the part's."""
    lead = translation.submitted_with
    if lead is not None and lead.status == Translation.Status.IN_REVIEW:
        raise ValidationError(
            _("This was sent for review together with {part}: approve or return them together there.").format(
                part=lead.content_object
            )
        )


@transaction.atomic
def translation_return(*, obj: models.Model, language: str, by: AbstractBaseUser | None) -> Translation:
    """Send a translation in review back to the translator as a draft, with all sent together with it."""
    translation = _locked(obj, language, by, APPROVE)
    if translation.status != Translation.Status.IN_REVIEW:
        raise ValidationError(_("Only a translation in review can be returned."))
    _not_alone(translation)
    for other in _together(translation):
        other.status = Translation.Status.DRAFT
        other.submitted_with = None
        _save(other, by)
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
    """Approve a translation in review: check it for identifying details, then make it the public text.

    A part's translation sent together with its story's and storyteller's (``translation_submit_together``)
    is approved with them, in this one transaction: all are checked first, and if any is refused, none is
    approved. The publication rows are refreshed once, at the end.
    """
    translation = _locked(obj, language, by, APPROVE)
    if translation.status != Translation.Status.IN_REVIEW:
        raise ValidationError(_("Only a translation in review can be approved."))
    _not_alone(translation)
    decided = [(translation, obj)] + [(other, other.content_object) for other in _together(translation)]
    for record, target in decided:
        _guard(target, language, dict(record.draft))
    with publication_batch():
        for record, target in decided[1:]:
            source = record.draft_source or translatable_for(target).original_text(target)
            record.submitted_with = None
            _approved(record, target, dict(record.draft), source, by)
        source = translation.draft_source or translatable_for(obj).original_text(obj)
        return _approved(translation, obj, dict(translation.draft), source, by)


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
