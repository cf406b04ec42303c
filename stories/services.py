"""Everything that changes a story's state or a storyteller's consent."""

import dataclasses
import datetime
from collections.abc import Iterable

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from modeltranslation.translator import translator

from stories import privacy
from stories.audit import ERASED
from stories.models import (
    Consent,
    ConsentEvidence,
    FileDeletion,
    Part,
    Story,
    StoryImage,
    Storyteller,
    StorytellerIdentity,
)
from stories.publication import publication_batch
from translations.models import Translation


def _full_clean(obj: Part | Story) -> None:
    """Validate an object the way its admin form does.

    modeltranslation keeps each translated field's original column as a mirror of the active
    language, so validating it would refuse a Korean original edited in an English session;
    the per-language columns and the models' clean() carry the real rules.
    """
    obj.full_clean(exclude=list(translator.get_options_for_model(type(obj)).all_fields))


def _save_versioned(obj: Part | Story, *, expected_version: int | None = None) -> None:
    """Save an object whose version must still be the one its editor started from."""
    if obj.pk and expected_version is not None:
        current = type(obj).objects.select_for_update().filter(pk=obj.pk).values_list("version", flat=True).first()
        if current is not None and current != expected_version:
            raise ValidationError(
                _("Someone else saved this since you opened it. Reload to see their changes, then edit again.")
            )
    obj.version = (obj.version or 0) + 1
    obj.save()


@privacy.refusals_recorded
@transaction.atomic
def part_publish(*, part: Part, at: datetime.datetime | None = None, expected_version: int | None = None) -> Part:
    """Publish a part now, or schedule it when ``at`` lies in the future.

    Refused when any public text around the part contains an identifying term.
    """
    part.status = Part.Status.PUBLISHED
    part.published_at = at or part.published_at or timezone.now()
    # full_clean() runs the identifying-detail guard for anything published.
    _full_clean(part)
    _save_versioned(part, expected_version=expected_version)
    return part


@privacy.refusals_recorded
@transaction.atomic
def part_set_status(*, part: Part, status: str, expected_version: int | None = None) -> Part:
    """Move a part to another editorial status (draft, in review or archived)."""
    if status == Part.Status.PUBLISHED:
        return part_publish(part=part, expected_version=expected_version)
    part.status = status
    _full_clean(part)
    _save_versioned(part, expected_version=expected_version)
    return part


@privacy.refusals_recorded
@transaction.atomic
def part_save(*, part: Part, expected_version: int | None = None) -> Part:
    """Save an editor's or translator's changes to a part, refused if someone saved it since they opened it.

    Refused too when the part is (or stays) published and its public text contains an identifying term.
    """
    _full_clean(part)
    _save_versioned(part, expected_version=expected_version)
    return part


@privacy.refusals_recorded
@transaction.atomic
def story_save(*, story: Story, expected_version: int | None = None) -> Story:
    """Save changes to a story, refused if someone saved it since its editor opened it."""
    _full_clean(story)
    _save_versioned(story, expected_version=expected_version)
    return story


@transaction.atomic
def consent_record(
    *,
    storyteller: Storyteller,
    decision: str,
    recorded_by: AbstractBaseUser | None,
    review_by: datetime.date | None = None,
    covers_web: bool = False,
    covers_english: bool = False,
    covers_korean: bool = False,
    covers_photos: bool = False,
    covers_advocacy: bool = False,
    note: str = "",
    recorded_at: datetime.datetime | None = None,
) -> Consent:
    """Add a record to the storyteller's consent ledger; it takes effect at once."""
    # One refresh of the storyteller's publication rows, after the record and everything it changes.
    with publication_batch():
        return _consent_record(
            storyteller=storyteller,
            decision=decision,
            recorded_by=recorded_by,
            review_by=review_by,
            covers_web=covers_web,
            covers_english=covers_english,
            covers_korean=covers_korean,
            covers_photos=covers_photos,
            covers_advocacy=covers_advocacy,
            note=note,
            recorded_at=recorded_at,
        )


def _consent_record(*, storyteller: Storyteller, decision: str, recorded_by, recorded_at, **fields) -> Consent:
    consent = Consent(
        storyteller=storyteller,
        decision=decision,
        recorded_by=recorded_by,
        recorded_at=recorded_at or timezone.now(),
        **fields,
    )
    consent.full_clean()
    consent.save()
    if decision == Consent.Decision.WITHDRAWN:
        _after_withdrawal(storyteller)
    return consent


def _after_withdrawal(storyteller: Storyteller) -> None:
    """Make sure nothing scheduled goes live later, no form opened before now can save, and no photo stays."""
    parts = Part.objects.filter(story__storyteller=storyteller)
    # Scheduled parts go back to draft: even if consent is given again, an editor decides anew.
    for part in parts.filter(status=Part.Status.PUBLISHED, published_at__gt=timezone.now()):
        part.status = Part.Status.DRAFT
        part.version += 1
        part.save()
    # Bumping versions refuses every edit form that was opened before the withdrawal.
    parts.update(version=F("version") + 1)
    Story.objects.filter(storyteller=storyteller).update(version=F("version") + 1)
    # Their photos go for good, rows and files (originals can carry where and when they were taken):
    # the files are deleted once this commits, and a renewed consent needs a fresh upload, whose
    # renditions get new random names, so no old photo URL ever answers again.
    photos = StoryImage.objects.filter(part__story__storyteller=storyteller)
    # Their alt text, captions and credits in other languages go with them.
    _translations_of(StoryImage, list(photos.values_list("pk", flat=True))).delete()
    photos.delete()


def _translations_of(model: type[models.Model], ids: Iterable[int]) -> QuerySet:
    return Translation.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id__in=list(ids))


@transaction.atomic
def consent_withdraw(*, storyteller: Storyteller, reason: str, recorded_by: AbstractBaseUser | None) -> Consent:
    """Withdraw a storyteller's consent: from the next request on, nothing of theirs is public."""
    return consent_record(
        storyteller=storyteller,
        decision=Consent.Decision.WITHDRAWN,
        recorded_by=recorded_by,
        note=reason,
    )


@privacy.refusals_recorded
@transaction.atomic
def story_image_save(*, image: StoryImage) -> StoryImage:
    """Check a part's photo and store it with its cleaned renditions; a refused upload stores nothing."""
    image.full_clean()
    image.save()
    return image


@dataclasses.dataclass(frozen=True)
class Erasure:
    """What one erasure removed, counted: it says how much, never what."""

    storyteller_id: int
    stories: int
    parts: int
    photos: int
    translations: int
    consent_records: int
    evidence_files: int
    history_rows: int


def _history_model(model: type[models.Model]) -> type[models.Model]:
    return model.history.model


def _history_text_fields(history_model: type[models.Model]) -> dict[str, object]:
    """Every column of a history table that can hold words, with the empty value it is overwritten with.

    Choices (statuses, decisions, languages) and the history's own type say what happened, not what was
    written, and stay; every other text, slug, encrypted or JSON column is emptied.
    """
    empty = {}
    for field in history_model._meta.concrete_fields:
        if field.choices or field.name == "history_type":
            continue
        if isinstance(field, models.JSONField):
            empty[field.attname] = {}
        elif isinstance(field, models.CharField | models.TextField):
            empty[field.attname] = ""
    return empty


def _set_erasing(on: bool) -> None:
    """Let this transaction overwrite the append-only audit trail's text, on PostgreSQL (migration 0016)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('archive.erasing', %s, true)", ["on" if on else "off"])


@transaction.atomic
def storyteller_erase(*, storyteller: Storyteller, erased_by: AbstractBaseUser) -> Erasure:
    """Forget a storyteller who asked for it: every word of theirs, in every language, their files and identity.

    Deleted: their stories, parts, photos and translations of all of them, their consent ledger and evidence,
    their identity record and the storyteller. In the audit trail, every row about any of these keeps who
    did what and when, but its text is overwritten; each erased object's last row (its deletion, by
    ``erased_by``, marked ``ERASED``) is the tombstone. Files go once this commits (``FileDeletion``).
    Not reached: backups, copies already sent or cached elsewhere (docs/back-office.md).
    """
    storyteller = Storyteller.objects.select_for_update().get(pk=storyteller.pk)
    pk = storyteller.pk
    history = {model: _history_model(model) for model in (Storyteller, StorytellerIdentity, Consent, Story, Part)}
    # What is theirs now is deleted. The trail's text is emptied for every object that is or ever was
    # theirs, the deleted ones too, as the trail remembers them (a story moved to someone else stays).
    live_story_ids = set(Story.objects.filter(storyteller_id=pk).values_list("pk", flat=True))
    story_ids = live_story_ids | set(history[Story].objects.filter(storyteller_id=pk).values_list("id", flat=True))
    live_part_ids = set(Part.objects.filter(story_id__in=live_story_ids).values_list("pk", flat=True))
    part_ids = live_part_ids | set(history[Part].objects.filter(story_id__in=story_ids).values_list("id", flat=True))
    consent_ids = set(Consent.objects.filter(storyteller_id=pk).values_list("pk", flat=True))
    consent_ids |= set(history[Consent].objects.filter(storyteller_id=pk).values_list("id", flat=True))
    identity_ids = set(history[StorytellerIdentity].objects.filter(storyteller_id=pk).values_list("id", flat=True))
    identity_ids |= set(StorytellerIdentity.objects.filter(storyteller_id=pk).values_list("pk", flat=True))
    photos = StoryImage.objects.filter(part_id__in=live_part_ids)
    photo_ids = set(photos.values_list("pk", flat=True))
    evidence = ConsentEvidence.objects.filter(consent_id__in=consent_ids)
    evidence_ids = set(evidence.values_list("pk", flat=True))
    evidence_files = [name for name in evidence.values_list("file", flat=True) if name]
    owned = {
        Storyteller: {pk},
        StorytellerIdentity: identity_ids,
        Consent: consent_ids,
        Story: story_ids,
        Part: part_ids,
        StoryImage: photo_ids,
        ConsentEvidence: evidence_ids,
    }
    # Translations of theirs and of their objects deleted earlier, never of what is someone else's now.
    others_stories = set(Story.objects.filter(pk__in=story_ids).exclude(storyteller_id=pk).values_list("pk", flat=True))
    others_parts = set(
        Part.objects.filter(pk__in=part_ids).exclude(story_id__in=live_story_ids).values_list("pk", flat=True)
    )
    translated_now = {
        Storyteller: {pk},
        Story: story_ids - others_stories,
        Part: part_ids - others_parts,
        StoryImage: photo_ids,
    }
    translations = Translation.objects.none()
    for model, ids in translated_now.items():
        translations = translations | _translations_of(model, ids)
    translation_ids = set(translations.values_list("pk", flat=True))
    translation_history = _history_model(Translation)
    translated = Q()
    for model in (Storyteller, Story, Part):
        translated |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=owned[model])
    # A photo deleted earlier (at a withdrawal, or by an editor) cannot be traced to anyone: the history of
    # the translations of every photo that no longer exists goes too. It describes pictures that are gone.
    photo_type = ContentType.objects.get_for_model(StoryImage)
    others = StoryImage.objects.exclude(pk__in=photo_ids).values("pk")
    translated |= Q(content_type=photo_type) & ~Q(object_id__in=others)
    translation_ids |= set(translation_history.objects.filter(translated).values_list("id", flat=True))
    owned[Translation] = translation_ids
    history[Translation] = translation_history
    last_history_row = {
        model: history_model.objects.order_by("-history_id").values_list("history_id", flat=True).first() or 0
        for model, history_model in history.items()
    }

    with publication_batch():
        translations.delete()
        photos.delete()  # each photo's files are recorded for deletion as it goes
        Part.objects.filter(pk__in=live_part_ids).delete()
        Story.objects.filter(pk__in=live_story_ids).delete()
        evidence.delete()
        Consent.objects.filter(pk__in=consent_ids).delete()
        StorytellerIdentity.objects.filter(pk__in=identity_ids).delete()
        Storyteller.objects.filter(pk=pk).delete()
    FileDeletion.objects.schedule(evidence_files)

    history_rows = 0
    _set_erasing(True)
    try:
        for model, history_model in history.items():
            rows = history_model.objects.filter(id__in=owned[model])
            history_rows += rows.update(**_history_text_fields(history_model))
            # The rows written by the deletions above are the tombstones: who erased which object, and when.
            rows.filter(history_id__gt=last_history_row[model], history_type="-").update(
                history_user=erased_by, history_change_reason=ERASED
            )
    finally:
        _set_erasing(False)

    # The back office's own log names what it changed (a pseudonym, a title): keep the entries, not the names.
    for model, ids in owned.items():
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model), object_id__in=[str(i) for i in ids]
        ).update(object_repr="", change_message="")
    return Erasure(
        storyteller_id=pk,
        stories=len(story_ids),
        parts=len(part_ids),
        photos=len(photo_ids),
        translations=len(translation_ids),
        consent_records=len(consent_ids),
        evidence_files=len(evidence_files),
        history_rows=history_rows,
    )


# --- A protected term added after publication --------------------------------------------------


def _published_holders(storyteller: Storyteller | None) -> list:
    """Everything published that the guard checks: one storyteller's, or (None) the whole archive's.

    Published, not only public now: scheduled parts and those of a storyteller whose consent lapsed
    are published too, and would reach readers by themselves.
    """
    from advocacy.models import Campaign, Country, Recipient
    from stories.models import ContentWarning, Theme

    stories = Story.objects.filter(status=Story.Status.PUBLISHED)
    if storyteller is not None:
        stories = stories.filter(storyteller=storyteller)
    parts = Part.objects.filter(status=Part.Status.PUBLISHED, story__in=stories)
    holders = [
        *Storyteller.objects.filter(stories__in=stories).distinct(),
        *stories,
        *parts.iterator(chunk_size=500),
        *StoryImage.objects.filter(part__in=parts).iterator(chunk_size=500),
    ]
    if storyteller is None:
        holders += [
            *Campaign.objects.filter(status=Campaign.Status.PUBLISHED).prefetch_related("actions"),
            *Theme.objects.filter(stories__in=stories).distinct(),
            *ContentWarning.objects.filter(stories__in=stories).distinct(),
            # Offices the letters of published campaigns write to, and their countries: to be edited.
            *Recipient.objects.filter(actions__campaign__status=Campaign.Status.PUBLISHED).distinct(),
            *Country.objects.filter(recipients__actions__campaign__status=Campaign.Status.PUBLISHED).distinct(),
        ]
    return holders


def exposed_text_find(*, storyteller: Storyteller | None = None, terms: list[str] = ()) -> list[privacy.Finding]:
    """Find every published text that holds a protected term, at once, when a term is added.

    With a storyteller: their identifying terms (and the site-wide ones) in their own published text.
    With terms: those site-wide terms anywhere in the archive. Findings name objects and fields only.
    """
    if storyteller is not None:
        matcher = privacy.Matcher(privacy.protected_terms(storyteller))
    else:
        matcher = privacy.Matcher([(term, True) for term in terms])
    findings = []
    for holder in _published_holders(storyteller):
        findings.extend(privacy.find_terms(privacy.own_texts(holder), matcher))
    return findings


@transaction.atomic
def exposed_text_unpublish(*, storyteller: Storyteller | None = None, terms: list[str] = ()) -> list[object]:
    """Take every published part, story or campaign whose text holds the terms back to draft, in one step.

    Found again inside the transaction, so what is unpublished is what holds a term now. A storyteller's
    pseudonym or bio takes all their stories back; a photo its part; a call to action its campaign; an
    office, or a country, every published campaign whose letters write to it.
    Themes and content warnings cannot be unpublished: they are returned among the rest, to be edited.
    """
    from advocacy.models import Campaign

    changed: list[object] = []
    for finding in exposed_text_find(storyteller=storyteller, terms=terms):
        holder = finding.obj
        if isinstance(holder, StoryImage):
            holder = holder.part
        elif holder._meta.label_lower == "advocacy.action":
            holder = holder.campaign
        published = Campaign.objects.filter(status=Campaign.Status.PUBLISHED)
        if isinstance(holder, Storyteller):
            targets = list(holder.stories.filter(status=Story.Status.PUBLISHED))
        elif holder._meta.label_lower == "advocacy.recipient":
            # Readers meet an office only beside the letters of the campaigns that write to it.
            targets = list(published.filter(actions__recipients=holder).distinct())
        elif holder._meta.label_lower == "advocacy.country":
            targets = list(published.filter(actions__recipients__country=holder).distinct())
        else:
            targets = [holder]
        for target in targets:
            if any(type(target) is type(done) and target.pk == done.pk for done in changed):
                continue
            target.refresh_from_db()
            if isinstance(target, Part) and target.status == Part.Status.PUBLISHED:
                part_set_status(part=target, status=Part.Status.DRAFT)
            elif isinstance(target, Story) and target.status == Story.Status.PUBLISHED:
                target.status = Story.Status.DRAFT
                story_save(story=target)
            elif isinstance(target, Campaign) and target.status == Campaign.Status.PUBLISHED:
                target.status = Campaign.Status.DRAFT
                target.save(update_fields=["status", "updated_at"])
            changed.append(target)
    return changed
