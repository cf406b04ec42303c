"""Everything that changes a story's state or a storyteller's consent."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from modeltranslation.translator import translator

from stories import privacy
from stories.models import Consent, Part, Story, StoryImage, Storyteller
from stories.publication import publication_batch


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
    StoryImage.objects.filter(part__story__storyteller=storyteller).delete()


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


# --- A protected term added after publication --------------------------------------------------


def _published_holders(storyteller: Storyteller | None) -> list:
    """Everything published that the guard checks: one storyteller's, or (None) the whole archive's.

    Published, not only public now: scheduled parts and those of a storyteller whose consent lapsed
    are published too, and would reach readers by themselves.
    """
    from advocacy.models import Campaign
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
    pseudonym or bio takes all their stories back; a photo its part; a call to action its campaign.
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
        targets = (
            list(holder.stories.filter(status=Story.Status.PUBLISHED)) if isinstance(holder, Storyteller) else [holder]
        )
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
