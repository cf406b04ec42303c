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
from django_tasks import TaskResultStatus, task
from django_tasks.signals import task_finished
from modeltranslation.translator import translator

from background import queue
from stories import privacy
from stories.audit import ERASED
from stories.models import (
    Consent,
    ConsentEvidence,
    ExposureFinding,
    ExposureScan,
    FileDeletion,
    Part,
    ProtectedTerm,
    Story,
    StoryImage,
    StorySlugHistory,
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
    """Save changes to a story, refused if someone saved it since its editor opened it.

    When the slug of a story that was published changes, the old slug is kept (``StorySlugHistory``)
    in the same transaction, so that links readers shared keep answering with a permanent redirect.
    """
    _full_clean(story)
    before = Story.objects.filter(pk=story.pk).values("slug", "status").first() if story.pk else None
    _save_versioned(story, expected_version=expected_version)
    _record_old_slug(story=story, before=before)
    return story


def story_was_published(story: Story) -> bool:
    """Whether readers may have been given links to the story: it is, or was, published."""
    if not story.pk:
        return False
    if Story.objects.filter(pk=story.pk, status__in=[Story.Status.PUBLISHED, Story.Status.ARCHIVED]).exists():
        return True
    return Part.history.filter(story_id=story.pk, status=Part.Status.PUBLISHED).exists()


def _record_old_slug(*, story: Story, before: dict | None) -> None:
    # The slug is this story's again: it no longer redirects anywhere.
    StorySlugHistory.objects.filter(slug=story.slug).delete()
    if before is None or before["slug"] == story.slug:
        return
    if before["status"] == Story.Status.DRAFT and not story_was_published(story):
        # Nobody was ever given a link to a story that was never published.
        return
    StorySlugHistory.objects.update_or_create(slug=before["slug"], defaults={"story": story})


@transaction.atomic
def part_delete_draft(*, part: Part, deleted_by: AbstractBaseUser | None) -> None:
    """Delete a part created by mistake: only a draft (or one in review) that was never published.

    Published, scheduled and archived parts stay (archive them instead). The audit trail keeps the part's
    history and a deletion record naming who deleted it; its translation records go with it.
    """
    locked = Part.objects.select_for_update().filter(pk=part.pk).first()
    if locked is None:
        return
    if not part_may_be_deleted(locked):
        raise ValidationError(_("Only a draft part that was never published can be deleted; archive this one instead."))
    locked._history_user = deleted_by
    with publication_batch():
        _translations_of(Part, [locked.pk]).delete()
        locked.delete()


def part_may_be_deleted(part: Part) -> bool:
    """A draft (or one in review) that was never published: no reader was ever shown it."""
    if part.status not in (Part.Status.DRAFT, Part.Status.IN_REVIEW):
        return False
    return not part.history.filter(status__in=[Part.Status.PUBLISHED, Part.Status.ARCHIVED]).exists()


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

# Rows of one kind read at a time by the search; a running search says how far it got after each.
SCAN_CHUNK = 500
# A search for a term added after publication goes before other background work: while it waits and runs,
# the text it looks for is still published (photo renderings have 0, the guard's alerts 10, exports -10).
SCAN_PRIORITY = 50


def _published(storyteller: Storyteller | None) -> list[QuerySet]:
    """Everything published that the guard checks, a queryset per kind: one storyteller's, or (None) all.

    Published, not only public now: scheduled parts and those of a storyteller whose consent lapsed
    are published too, and would reach readers by themselves.
    """
    from advocacy.models import Action, Campaign, Country, NewsletterMessages, Recipient, RecipientGroup
    from stories.models import ContentWarning, Theme

    stories = Story.objects.filter(status=Story.Status.PUBLISHED)
    if storyteller is not None:
        # A storyteller's few stories and parts, found by their own keys whatever the planner knows of the
        # tables: filtered on their status, SQLite without statistics read every published part.
        story_ids = list(stories.filter(storyteller=storyteller).values_list("pk", flat=True))
        parts = Part.objects.filter(story_id__in=story_ids).values_list("pk", "status")
        part_ids = [pk for pk, status in parts if status == Part.Status.PUBLISHED]
        return [
            Storyteller.objects.filter(pk=storyteller.pk) if story_ids else Storyteller.objects.none(),
            Story.objects.filter(pk__in=story_ids),
            Part.objects.filter(pk__in=part_ids),
            StoryImage.objects.filter(part_id__in=part_ids),
        ]
    parts = Part.objects.filter(status=Part.Status.PUBLISHED, story__in=stories.values("pk"))
    published = [
        Storyteller.objects.filter(pk__in=stories.values("storyteller")),
        stories,
        parts,
        StoryImage.objects.filter(part__in=parts.values("pk")),
    ]
    campaigns = Campaign.objects.filter(status=Campaign.Status.PUBLISHED)
    actions = Action.objects.filter(campaign__in=campaigns.values("pk"))
    # Offices the letters of published campaigns write to, and their countries: to be edited.
    offices = Recipient.objects.filter(pk__in=actions.values("recipients"))
    return [
        *published,
        campaigns,
        actions,
        Theme.objects.filter(pk__in=stories.values("themes")),
        ContentWarning.objects.filter(pk__in=stories.values("content_warnings")),
        offices,
        Country.objects.filter(pk__in=offices.values("country")),
        RecipientGroup.objects.filter(pk__in=offices.values("group")),
        NewsletterMessages.objects.all(),
    ]


def _stored_rendering(model: type[models.Model], field: str) -> str | None:
    """The column that keeps a field's rendering (``body_en``: ``body_html_en``), rendered from it on save."""
    name, _sep, code = field.rpartition("_")
    stored = f"{name}_html_{code}"
    return stored if name and any(column.name == stored for column in model._meta.concrete_fields) else None


def _scan(model: type[models.Model], ids: list[int], matcher: privacy.Matcher | dict[int, privacy.Matcher]):
    """Search the published text of these objects of one kind, SCAN_CHUNK at a time, in the guard's columns.

    ``matcher`` is one for every object, or one per object's id (each storyteller's own terms).

    Yields, per chunk, how many objects it read and what it found: (model, pk, Finding), without the
    objects. Rows are read as values, by primary key; a stored rendering is read only for the texts whose
    rendering can differ from them in letters (``privacy.renders_letters``): most texts cannot.
    """
    labels = privacy.text_fields(model)
    stored = {field: _stored_rendering(model, field) for field in labels}
    rendered_columns = sorted(column for column in stored.values() if column)
    for start in range(0, len(ids), SCAN_CHUNK):
        chunk = ids[start : start + SCAN_CHUNK]
        texts = {row[0]: dict(zip(labels, row[1:], strict=True)) for row in
                 model.objects.filter(pk__in=chunk).values_list("pk", *labels)}  # fmt: skip
        marked = [
            pk for pk, fields in texts.items()
            if any(stored[field] and privacy.renders_letters(text or "") for field, text in fields.items())
        ]  # fmt: skip
        renderings = {}
        if marked:
            values = model.objects.filter(pk__in=marked).values_list("pk", *rendered_columns)
            renderings = {row[0]: dict(zip(rendered_columns, row[1:], strict=True)) for row in values}
        found = []
        for pk, fields in texts.items():
            rendered = renderings.get(pk, {})
            items = [
                privacy.PublicText(labels[field], text or "", None, field, rendered.get(stored[field]))
                for field, text in fields.items()
            ]
            terms = matcher[pk] if isinstance(matcher, dict) else matcher
            found += [(model, pk, finding) for finding in privacy.find_terms(items, terms)]
        yield len(chunk), found


def _published_ids(storyteller: Storyteller | None) -> list[tuple[type[models.Model], list[int]]]:
    """The ids of everything published (``_published``), by kind: what a search reads, counted before it starts."""
    return [
        (queryset.model, list(queryset.order_by("pk").values_list("pk", flat=True)))
        for queryset in _published(storyteller)
    ]


def _matcher(*, storyteller: Storyteller | None, terms: Iterable[str]) -> privacy.Matcher:
    if storyteller is not None:
        return privacy.Matcher(privacy.protected_terms(storyteller))
    return privacy.Matcher([(term, True) for term in terms])


def unpublished_text_holding_terms(model: type[models.Model], matchers: dict[int, privacy.Matcher]) -> set[int]:
    """The ids of objects of one kind whose text holds a term of theirs (``matchers``: each id's own terms).

    The search for exposed text (``_scan``: the guard's columns and stored renderings, read as values), for
    text that is not public yet, such as a draft part the translation workspace must not show.
    """
    held: set[int] = set()
    for _read, found in _scan(model, sorted(matchers), matchers):
        held.update(pk for _model, pk, _finding in found)
    return held


def exposed_text_objects(model: type[models.Model], ids: Iterable[int]) -> dict[int, models.Model]:
    """The objects of one kind by id, with what their names and edit links need: one query."""
    related = {
        "stories.part": ["story"],
        "stories.storyimage": ["part__story"],
        "advocacy.action": ["campaign"],
        "advocacy.recipient": ["country"],
    }.get(model._meta.label_lower, [])
    return model.objects.select_related(*related).in_bulk(list(ids))


def exposed_text_find(*, storyteller: Storyteller | None = None, terms: Iterable[str] = ()) -> list[privacy.Finding]:
    """Find every published text that holds a protected term, reading it all now.

    With a storyteller: their identifying terms (and the site-wide ones) in their own published text, a few
    dozen objects, searched at once when an officer saves them. With terms: those site-wide terms anywhere
    in the archive, which is a task's work (``exposed_text_scan_queue``). Findings name objects and fields.
    """
    matcher = _matcher(storyteller=storyteller, terms=terms)
    found = []
    for model, ids in _published_ids(storyteller):
        for _read, chunk in _scan(model, ids, matcher):
            found += chunk
    kinds: dict[type[models.Model], set[int]] = {}
    for model, pk, _finding in found:
        kinds.setdefault(model, set()).add(pk)
    objects = {model: exposed_text_objects(model, pks) for model, pks in kinds.items()}
    return [dataclasses.replace(finding, obj=objects[model][pk]) for model, pk, finding in found]


@transaction.atomic
def exposed_text_scan_queue(*, term: ProtectedTerm, requested_by: AbstractBaseUser | None) -> ExposureScan:
    """Queue a search of the whole archive's published text for a site-wide term, replacing any before it.

    The task is enqueued in this transaction: it commits with the term, and a worker takes it at once,
    before other work (SCAN_PRIORITY). With the immediate backend (development, tests) it has run when
    this returns.
    """
    ExposureScan.objects.filter(term=term).delete()  # a search still running sees it was replaced, and stops
    scan = ExposureScan.objects.create(term=term, requested_by=requested_by)
    queue.enqueue_in_transaction(scan_published_text, scan.pk)
    scan.refresh_from_db()
    return scan


@task(priority=SCAN_PRIORITY)
def scan_published_text(scan_id: int) -> int:
    """Search every published text for a term added after publication: ``exposed_text_scan_run``."""
    return exposed_text_scan_run(scan_id=scan_id)


def exposed_text_scan_run(*, scan_id: int) -> int:
    """Search every published text for the scan's term and keep where it is; return how many places.

    Safe to run twice (tasks are run at least once): a run forgets what an earlier one found, and stops
    when its scan was replaced by a newer one. Places are kept as they are found, a chunk at a time, so
    the officer's page shows the first of them, and can take them back, while the search goes on.
    """
    started = (
        ExposureScan.objects.filter(pk=scan_id)
        .exclude(state=ExposureScan.State.DONE)
        .update(state=ExposureScan.State.RUNNING, started_at=timezone.now(), checked=0, error="", finished_at=None)
    )
    if not started:
        return 0  # replaced by a newer search, or done by an earlier run
    ExposureFinding.objects.filter(scan_id=scan_id).delete()
    places = 0
    try:
        term = ProtectedTerm.objects.filter(scans=scan_id).values_list("term", flat=True).get()
        matcher = _matcher(storyteller=None, terms=[term])
        published = _published_ids(None)
        ExposureScan.objects.filter(pk=scan_id).update(total=sum(len(ids) for _model, ids in published))
        checked = 0
        for model, ids in published:
            content_type = ContentType.objects.get_for_model(model)
            for read, found in _scan(model, ids, matcher):
                checked += read
                with transaction.atomic():
                    # The update locks the scan's row: a newer search cannot delete it under these places.
                    if not ExposureScan.objects.filter(pk=scan_id).update(checked=checked):
                        return places
                    ExposureFinding.objects.bulk_create(
                        ExposureFinding(
                            scan_id=scan_id,
                            content_type=content_type,
                            object_id=pk,
                            field=finding.field_name,
                            line=finding.line,
                            column=finding.column,
                        )
                        for _model, pk, finding in found
                    )
                places += len(found)
    except Exception as error:
        _scan_failed(scan_id, type(error).__name__)
        raise
    ExposureScan.objects.filter(pk=scan_id, state=ExposureScan.State.RUNNING).update(
        state=ExposureScan.State.DONE, finished_at=timezone.now()
    )
    return places


def _scan_failed(scan_id: int, error: str) -> None:
    ExposureScan.objects.filter(pk=scan_id).exclude(state=ExposureScan.State.DONE).update(
        state=ExposureScan.State.FAILED, error=error[:100], finished_at=timezone.now()
    )


def _scan_task_failed(sender, task_result, **kwargs) -> None:
    """A search whose worker died too often (background/reaper.py) says it failed, not that it is searching."""
    if task_result.status != TaskResultStatus.FAILED or task_result.task.func is not scan_published_text.func:
        return
    error = task_result.errors[-1].exception_class_path.rsplit(".", 1)[-1] if task_result.errors else "error"
    _scan_failed(task_result.args[0], error)


task_finished.connect(_scan_task_failed, dispatch_uid="stories-exposure-scan-failed")


def _holding_now(scan: ExposureScan) -> tuple[list[models.Model], list[int]]:
    """The objects of a scan's places whose text holds its term now, locked; and the places that no longer do."""
    term = ProtectedTerm.objects.filter(pk=scan.term_id).values_list("term", flat=True).first()
    matcher = _matcher(storyteller=None, terms=[term] if term else [])
    places = list(scan.findings.all())
    ids: dict[int, set[int]] = {}
    for place in places:
        ids.setdefault(place.content_type_id, set()).add(place.object_id)
    objects = {
        content_type_id: ContentType.objects.get_for_id(content_type_id)
        .model_class()
        .objects.select_for_update()
        .in_bulk(list(pks))
        for content_type_id, pks in ids.items()
    }
    holding: dict[tuple[int, int], models.Model] = {}
    gone = []
    for place in places:
        obj = objects[place.content_type_id].get(place.object_id)
        if obj is not None and place.field in privacy.text_fields(obj):
            stored = _stored_rendering(type(obj), place.field)
            if matcher.search(getattr(obj, place.field) or "", getattr(obj, stored) if stored else None):
                holding[place.content_type_id, place.object_id] = obj
                continue
        gone.append(place.pk)
    return list(holding.values()), gone


def _still_published(scan: ExposureScan) -> set[int]:
    """The scan's places whose objects are still published (``_published``)."""
    places = list(scan.findings.all())
    published = {}
    for queryset in _published(None):
        content_type_id = ContentType.objects.get_for_model(queryset.model).pk
        ids = [place.object_id for place in places if place.content_type_id == content_type_id]
        if ids:
            published[content_type_id] = set(queryset.filter(pk__in=ids).values_list("pk", flat=True))
    return {place.pk for place in places if place.object_id in published.get(place.content_type_id, ())}


@transaction.atomic
def exposed_text_unpublish(
    *, storyteller: Storyteller | None = None, terms: Iterable[str] = (), scan: ExposureScan | None = None
) -> list[object]:
    """Take every published part, story or campaign whose text holds the terms back to draft, in one step.

    Returns what went back to draft. What holds a term is found again inside the transaction, so what is
    unpublished is what holds it now: with a ``scan``, each of its places, read and matched again; else
    all of the storyteller's (or, with terms, the archive's) published text. A storyteller's pseudonym
    or bio takes all their stories back; a photo its part; a call to action its campaign; an office, its
    country or its group, every published campaign whose letters write to it. Themes and content warnings cannot be
    unpublished: their places stay, to be edited. The scan forgets every place that no longer reaches readers.
    """
    from advocacy.models import Campaign

    if scan is not None:
        scan = ExposureScan.objects.select_for_update().get(pk=scan.pk)  # a second submit waits for the first
        holders, gone = _holding_now(scan)
    else:
        holders = [finding.obj for finding in exposed_text_find(storyteller=storyteller, terms=terms)]
    changed: list[object] = []
    seen: set[tuple[type, int]] = set()
    for holder in holders:
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
        elif holder._meta.label_lower == "advocacy.recipientgroup":
            targets = list(published.filter(actions__recipients__group=holder).distinct())
        else:
            targets = [holder]
        for target in targets:
            if (type(target), target.pk) in seen:
                continue
            seen.add((type(target), target.pk))
            target.refresh_from_db()
            if isinstance(target, Part) and target.status == Part.Status.PUBLISHED:
                part_set_status(part=target, status=Part.Status.DRAFT)
            elif isinstance(target, Story) and target.status == Story.Status.PUBLISHED:
                target.status = Story.Status.DRAFT
                story_save(story=target)
            elif isinstance(target, Campaign) and target.status == Campaign.Status.PUBLISHED:
                target.status = Campaign.Status.DRAFT
                target.save(update_fields=["status", "updated_at"])
            else:
                continue  # back to draft already (a second submit), or a theme, to be edited
            changed.append(target)
    if scan is not None:
        scan.findings.exclude(pk__in=_still_published(scan)).delete()
        scan.findings.filter(pk__in=gone).delete()
    return changed
