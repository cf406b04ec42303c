"""Everything that changes a story's state or a storyteller's consent."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from stories.models import Consent, Part, Storyteller


@transaction.atomic
def part_publish(*, part: Part, at: datetime.datetime | None = None) -> Part:
    """Publish a part now, or schedule it when ``at`` lies in the future."""
    part.status = Part.Status.PUBLISHED
    part.published_at = at or part.published_at or timezone.now()
    part.full_clean()
    part.save()
    return part


@transaction.atomic
def part_set_status(*, part: Part, status: str) -> Part:
    """Move a part to another editorial status (draft, in review or archived)."""
    if status == Part.Status.PUBLISHED:
        return part_publish(part=part)
    part.status = status
    part.full_clean()
    part.save()
    return part


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
    consent = Consent(
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
        recorded_at=recorded_at or timezone.now(),
    )
    consent.full_clean()
    consent.save()
    return consent
