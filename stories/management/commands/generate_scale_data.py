"""Fill an empty database with invented stories at scale, to measure the archive at realistic volumes.

Rows are written with ``bulk_create``, so no ``save()`` and no signal runs. What ``Part.save`` derives
(the rendered body and reading time per language) is computed here with the same functions, each
body rendered once however many parts share it; the publication table is rebuilt at the end. The
page cache needs nothing: a fresh database has nothing cached. No audit-trail rows are written.
"""

import contextlib
import dataclasses
import datetime
import json
import math
import random
import time

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.text import slugify

from advocacy.demo import COUNTRIES
from advocacy.models import Action, ActionCount, Campaign, CampaignStory, Country, Recipient
from archive.richtext import render_markdown, render_translated_markdown
from stories.demo import scale
from stories.fields import identity_key_configured
from stories.models import (
    Consent,
    ContentWarning,
    Part,
    ProtectedTerm,
    Story,
    Storyteller,
    StorytellerIdentity,
    Theme,
    reading_minutes,
)
from stories.publication import publication_rebuild
from translations.models import Translation

EN, KO = scale.EN, scale.KO
OTHER = {EN: KO, KO: EN}
DAY = datetime.timedelta(days=1)

# Consent ledgers, in a fixed rotation so that even a run with a handful of storytellers has every
# case: mostly given for the web in both languages, some withdrawn after being given, some past
# their review date, some covering one language only, one given again after a withdrawal, and one
# given for everything but the web.
FULL, WITHDRAWN, LAPSED, EN_ONLY, KO_ONLY, RETURNED, NOT_WEB = (
    "full",
    "withdrawn",
    "lapsed",
    "en_only",
    "ko_only",
    "returned",
    "not_web",
)
CONSENT_ROTATION = (
    *(FULL, WITHDRAWN, FULL, LAPSED, FULL, EN_ONLY, FULL, KO_ONLY, FULL, FULL),
    *(FULL, RETURNED, FULL, FULL, FULL, FULL, WITHDRAWN, FULL, FULL, FULL),
    *(FULL, LAPSED, FULL, FULL, NOT_WEB, FULL, FULL, EN_ONLY, FULL, FULL),
    *(FULL, FULL, WITHDRAWN, FULL, FULL, KO_ONLY, FULL, LAPSED, FULL, FULL),
)
# 85% published, 10% draft, 5% archived; the first stories are published, for tiny runs.
STORY_STATUS_ROTATION = (
    *(Story.Status.PUBLISHED,) * 9,
    Story.Status.DRAFT,
    *(Story.Status.PUBLISHED,) * 4,
    Story.Status.ARCHIVED,
    *(Story.Status.PUBLISHED,) * 3,
    Story.Status.DRAFT,
    Story.Status.PUBLISHED,
)

# The state of an object's translation into the language other than its original. "stale" ones were
# approved, then the original changed: readers keep the old translation while "kept" public, and
# a "redraft" is a stale one a translator is already reworking.
APPROVED, STALE_KEPT, STALE_HIDDEN, REDRAFT = "approved", "stale_kept", "stale_hidden", "redraft"
IN_REVIEW, DRAFT, MISSING, NO_RECORD = "in_review", "draft", "missing", "no_record"
CURRENT, EARLIER = "current", "earlier"
# Which version of the translated text the object's own columns (what readers see) hold.
COLUMNS = {APPROVED: CURRENT, STALE_KEPT: EARLIER, STALE_HIDDEN: EARLIER, REDRAFT: EARLIER}

TELLER_TRANSLATIONS = {
    APPROVED: 86,
    STALE_KEPT: 2,
    STALE_HIDDEN: 2,
    IN_REVIEW: 3,
    DRAFT: 3,
    MISSING: 2,
    NO_RECORD: 2,
}
STORY_TRANSLATIONS = {
    APPROVED: 86,
    STALE_KEPT: 3,
    STALE_HIDDEN: 2,
    IN_REVIEW: 3,
    DRAFT: 3,
    MISSING: 2,
    NO_RECORD: 1,
}
PART_TRANSLATIONS = {
    APPROVED: 72,
    STALE_KEPT: 6,
    STALE_HIDDEN: 3,
    REDRAFT: 2,
    IN_REVIEW: 7,
    DRAFT: 5,
    MISSING: 3,
    NO_RECORD: 2,
}
# Text nobody has finished in its original is rarely being translated yet.
UNFINISHED_TRANSLATIONS = {DRAFT: 15, MISSING: 35, NO_RECORD: 50}


@dataclasses.dataclass(slots=True)
class Teller:
    language: str
    consent: str
    translation: str
    name: tuple[str, str]
    bio: tuple[str, str]
    earlier_bio: tuple[str, str]
    first_at: datetime.datetime | None = None
    last_at: datetime.datetime | None = None
    pk: int | None = None


@dataclasses.dataclass(slots=True)
class Serial:
    index: int
    teller: Teller
    language: str
    status: str
    is_complete: bool
    # (status, published_at) of each part, numbered from 1.
    parts: list[tuple[str, datetime.datetime | None]]
    created_at: datetime.datetime
    translation: str
    title: tuple[str, str]
    summary: tuple[str, str]
    earlier_summary: tuple[str, str]
    pk: int | None = None


@contextlib.contextmanager
def timestamps_as_given(*model_classes: type[models.Model]):
    """Let bulk_create store the invented creation and update times instead of the time of the run."""
    fields = [
        field
        for model in model_classes
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.given_timestamps = (field.auto_now, field.auto_now_add)
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
            del field.given_timestamps


@contextlib.contextmanager
def timestamps_from_the_clock(*model_classes: type[models.Model]):
    """Inside ``timestamps_as_given``: rows that signals write (a label's translation records) get the time."""
    fields = [
        field for model in model_classes for field in model._meta.concrete_fields if hasattr(field, "given_timestamps")
    ]
    for field in fields:
        field.auto_now, field.auto_now_add = field.given_timestamps
    try:
        yield
    finally:
        for field in fields:
            field.auto_now = field.auto_now_add = False


class UnescapedJSONEncoder(json.JSONEncoder):
    """JSON with Korean written as it is, not as \\u escapes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**{**kwargs, "ensure_ascii": False})


@contextlib.contextmanager
def json_unescaped_on_postgresql(*model_classes: type[models.Model]):
    """Send JSON fields with Korean unescaped to PostgreSQL, whose jsonb stores the same value either way.

    psycopg escapes every backslash in the array literal a bulk insert sends, one regular-expression
    match at a time: with each Korean character a \\u escape, that took most of the run's time.
    """
    fields = [
        field
        for model in model_classes
        for field in model._meta.concrete_fields
        if isinstance(field, models.JSONField) and field.encoder is None
    ]
    if connection.vendor != "postgresql":
        fields = []
    for field in fields:
        field.encoder = UnescapedJSONEncoder
    try:
        yield
    finally:
        for field in fields:
            field.encoder = None


# SQLite's page cache for the run, in KiB. With its default of 2 MiB, building the search index's
# FTS5 tables in one pass ('rebuild') re-read their segments page by page from the file as they merged:
# at 100,000 parts over 500 GB through read() calls, for most of the run. Memory is taken as pages are
# read, up to this much, for this connection alone; the setting is put back when the run ends.
SQLITE_CACHE_KIB = 1024 * 1024


@contextlib.contextmanager
def sqlite_page_cache(kib: int):
    """On SQLite, let this connection cache up to ``kib`` KiB of the database's pages for a while."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (saved,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(saved)}")


class Generator:
    """Plan invented storytellers, stories and campaigns, then write them in batches."""

    def __init__(self, *, parts: int, storytellers: int, campaigns: int, seed: int, batch_size: int, out) -> None:
        self.part_count = parts
        self.teller_count = storytellers
        self.campaign_count = campaigns
        self.seed = seed
        self.batch_size = batch_size
        self.out = out
        self.rng = random.Random(seed)  # noqa: S311 - seeded on purpose: the same seed, the same data
        # Whole minutes, as editors schedule; everything is dated relative to this moment.
        self.now = timezone.now().replace(second=0, microsecond=0)
        self.today = timezone.localdate(self.now)
        # Bodies are shared by parts, each rendered once; a small run renders only a few.
        self.bank = scale.BodyBank(
            seed=seed,
            render=render_markdown,
            minutes=reading_minutes,
            size=min(parts, 3000),
            paragraphs=min(2500, 20 + 2 * parts),
        )
        self.content_types = {
            model: ContentType.objects.get_for_model(model).pk for model in (Storyteller, Story, Part)
        }
        self.started = time.perf_counter()
        self.step_started, self.step_cpu = self.started, time.process_time()
        self.counts: dict[str, int] = {}

    # --- helpers -------------------------------------------------------------------------------------

    def days(self, low: float, high: float) -> datetime.timedelta:
        return datetime.timedelta(minutes=round(self.rng.uniform(low, high) * 24 * 60))

    def between(self, start: datetime.datetime, end: datetime.datetime) -> datetime.datetime:
        if end <= start:
            return start
        return start + (end - start) * self.rng.random()

    def choose(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def progress(self, message: str) -> None:
        """Report a step done: the time since the start, then the step's own time and the CPU it took
        (on a busy machine the two differ, and only the CPU time compares between runs)."""
        now, cpu = time.perf_counter(), time.process_time()
        step, step_cpu = now - self.step_started, cpu - self.step_cpu
        self.out.write(f"{now - self.started:8.1f} s  {message}  ({step:.1f} s, CPU {step_cpu:.1f} s)")
        self.step_started, self.step_cpu = now, cpu

    def insert(self, model: type[models.Model], objects: list) -> list:
        """Write rows in batches, counting them; objects get their primary keys."""
        for start in range(0, len(objects), self.batch_size):
            model.objects.bulk_create(objects[start : start + self.batch_size])
        label = model._meta.verbose_name_plural
        self.counts[label] = self.counts.get(label, 0) + len(objects)
        return objects

    def translation(
        self,
        state: str,
        model: type[models.Model],
        object_id: int,
        language: str,
        *,
        original: dict[str, str],
        translated: dict[str, str],
        earlier_original: dict[str, str],
        at: datetime.datetime,
    ) -> Translation | None:
        """The translation record of one object in one language, in the given state."""
        if state == NO_RECORD:
            return None
        record = Translation(
            content_type_id=self.content_types[model], object_id=object_id, language=language, updated_at=at
        )
        if state == MISSING:
            record.status = Translation.Status.MISSING
        elif state in {DRAFT, IN_REVIEW}:
            record.status = Translation.Status.DRAFT if state == DRAFT else Translation.Status.IN_REVIEW
            record.draft, record.draft_source = translated, original
            if state == IN_REVIEW:
                record.submitted_at = at
        elif state == APPROVED:
            record.status = Translation.Status.APPROVED
            record.approved_source, record.approved_at = original, at
        else:
            # Approved when the original was shorter; the original has changed since.
            record.status = Translation.Status.DRAFT if state == REDRAFT else Translation.Status.APPROVED
            record.approved_source, record.approved_at = earlier_original, at
            record.needs_update = True
            record.keep_public_while_updating = state != STALE_HIDDEN
            if state == REDRAFT:
                record.draft, record.draft_source = translated, original
            record.updated_at = self.between(at, self.now)
        return record

    def translation_time(self, start: datetime.datetime, around: datetime.datetime | None) -> datetime.datetime:
        """When a translation was last worked on: around publication, never before the text or after now."""
        moment = (around or start) + self.days(-5, 20)
        return min(max(moment, start), self.now - datetime.timedelta(minutes=1))

    # --- planning ------------------------------------------------------------------------------------

    def plan(self) -> tuple[list[Teller], list[Serial]]:
        tellers = []
        for index in range(self.teller_count):
            name = scale.pseudonym(self.rng)
            tellers.append(
                Teller(
                    language=KO if self.rng.random() < 0.65 else EN,
                    consent=CONSENT_ROTATION[index % len(CONSENT_ROTATION)],
                    translation=self.choose(TELLER_TRANSLATIONS),
                    name=name,
                    bio=scale.bio(self.rng, name),
                    earlier_bio=scale.bio(self.rng, name),
                )
            )
        serials = []
        for index, length in enumerate(self.serial_lengths()):
            teller = tellers[index] if index < len(tellers) else self.rng.choice(tellers)
            status = STORY_STATUS_ROTATION[index % len(STORY_STATUS_ROTATION)]
            is_complete, parts = self.timeline(index, length, status)
            if teller.consent in {WITHDRAWN, RETURNED}:
                # A withdrawal sends scheduled parts back to draft (stories.services._after_withdrawal).
                parts = [(Part.Status.DRAFT, at) if at and at > self.now else (state, at) for state, at in parts]
            dated = [at for _state, at in parts if at]
            created_at = (min(dated) if dated else self.now - self.days(20, 400)) - self.days(3, 60)
            summary = self.rng.choice(scale.STORY_SUMMARIES)
            serials.append(
                Serial(
                    index=index,
                    teller=teller,
                    language=teller.language if self.rng.random() < 0.85 else OTHER[teller.language],
                    status=status,
                    is_complete=is_complete,
                    parts=parts,
                    created_at=created_at,
                    translation=self.choose(
                        STORY_TRANSLATIONS if status != Story.Status.DRAFT else UNFINISHED_TRANSLATIONS
                    ),
                    title=scale.story_title(self.rng, teller.name),
                    summary=summary,
                    earlier_summary=self.rng.choice([s for s in scale.STORY_SUMMARIES if s != summary]),
                )
            )
            past = [at for _state, at in parts if at and at <= self.now]
            teller.first_at = min(teller.first_at or created_at, created_at)
            teller.last_at = max([teller.last_at or created_at, *past])
        for teller in tellers:
            if teller.first_at is None:
                teller.first_at = teller.last_at = self.now - self.days(30, 900)
        return tellers, serials

    def serial_lengths(self) -> list[int]:
        """Serials of 1 to 30 parts, mostly short, adding up to exactly the parts asked for."""
        total = self.part_count
        if total <= self.teller_count:
            return [1] * total
        count = max(self.teller_count, math.ceil(total / 7), math.ceil(total / 30))
        extra = [0] * count
        remaining = total - count
        weights = [self.rng.expovariate(1) for _ in range(count)]
        scale_by = remaining / sum(weights)
        for index, weight in enumerate(weights):
            extra[index] = min(29, int(weight * scale_by))
        left = remaining - sum(extra)
        while left:
            index = self.rng.randrange(count)
            if extra[index] < 29:
                extra[index] += 1
                left -= 1
        return [1 + value for value in extra]

    def timeline(self, index: int, length: int, status: str) -> tuple[bool, list[tuple[str, datetime.datetime | None]]]:
        """Each part's status and publication time: instalments every week or few over the past years.

        One published story in five is still being told, its next parts scheduled.
        """
        if status == Story.Status.DRAFT:
            parts = []
            for _ in range(length):
                roll = self.rng.random()
                if roll < 0.2:
                    # Published once, before an editor took the story back to draft.
                    parts.append((Part.Status.PUBLISHED, self.now - self.days(10, 700)))
                else:
                    parts.append((Part.Status.IN_REVIEW if roll < 0.5 else Part.Status.DRAFT, None))
            return False, parts
        if status == Story.Status.ARCHIVED or index % 5 != 2:
            dates = self.backwards(self.now - self.days(2, 6 * 365), length)
            parts = [
                (Part.Status.ARCHIVED if number > 1 and self.rng.random() < 0.015 else Part.Status.PUBLISHED, at)
                for number, at in enumerate(dates, start=1)
            ]
            return True, parts
        # Still being told: the next parts are scheduled, the last ones still being written.
        scheduled = min(length - 1, self.rng.choice((1, 1, 1, 2, 3)))
        unfinished = min(length - 1 - scheduled, self.rng.choice((0, 0, 1, 2)))
        dates = self.backwards(self.now - self.days(0.5, 40), length - scheduled - unfinished)
        parts = [(Part.Status.PUBLISHED, at) for at in dates]
        due = self.now + self.days(1, 14)
        for _ in range(scheduled):
            parts.append((Part.Status.PUBLISHED, due))
            due += self.days(5, 21)
        parts += [(self.rng.choice((Part.Status.IN_REVIEW, Part.Status.DRAFT)), None) for _ in range(unfinished)]
        return False, parts

    def backwards(self, last: datetime.datetime, count: int) -> list[datetime.datetime]:
        dates = [last]
        for _ in range(count - 1):
            dates.append(dates[-1] - self.days(5, 21))
        return dates[::-1]

    # --- writing -------------------------------------------------------------------------------------

    def run(self) -> None:
        tellers, serials = self.plan()
        self.progress(f"planned {len(tellers):,} storytellers and {len(serials):,} stories")
        themes, warnings = self.write_taxonomy()
        self.write_tellers(tellers)
        self.write_stories(serials, themes, warnings)
        self.write_parts(serials)
        self.write_campaigns(serials)

    def write_taxonomy(self) -> tuple[list[int], list[int]]:
        themes = [Theme.objects.get_or_create(slug=data["slug"], defaults=data)[0].pk for data in scale.THEMES]
        warnings = [
            ContentWarning.objects.get_or_create(slug=data["slug"], defaults=data)[0].pk
            for data in scale.CONTENT_WARNINGS
        ]
        for term, note in scale.PROTECTED_TERMS:
            ProtectedTerm.objects.get_or_create(term=term, defaults={"note": note})
        return themes, warnings

    def write_tellers(self, tellers: list[Teller]) -> None:
        ledgers = [self.ledger(teller) for teller in tellers]
        objects = []
        for teller, ledger in zip(tellers, ledgers, strict=True):
            original, other = teller.language, OTHER[teller.language]
            index, other_index = scale.LANGUAGES.index(original), scale.LANGUAGES.index(other)
            created_at = ledger[0].recorded_at - self.days(0, 10)
            fields = {f"pseudonym_{original}": teller.name[index], f"bio_{original}": teller.bio[index]}
            version = COLUMNS.get(teller.translation)
            bio = teller.bio if version == CURRENT else teller.earlier_bio
            fields[f"pseudonym_{other}"] = teller.name[other_index] if version else ""
            fields[f"bio_{other}"] = bio[other_index] if version else ""
            objects.append(
                Storyteller(
                    original_language=original,
                    created_at=created_at,
                    updated_at=self.between(created_at, self.now),
                    **fields,
                )
            )
        self.insert(Storyteller, objects)
        for teller, obj in zip(tellers, objects, strict=True):
            teller.pk = obj.pk
        self.progress(f"storytellers: {len(objects):,}")

        consents = []
        for teller, ledger in zip(tellers, ledgers, strict=True):
            for record in ledger:
                record.storyteller_id = teller.pk
            consents += ledger
        self.insert(Consent, consents)
        self.progress(f"consent records: {len(consents):,}")

        if identity_key_configured():
            identities = [
                StorytellerIdentity(
                    storyteller_id=teller.pk,
                    legal_name=f"Invented Person {teller.pk:06d}",
                    caseworker_notes="Invented for scale tests; no real person.",
                    # Terms that appear in no generated text, so that the guard has something to look for.
                    identifying_terms=f"Scaleton-{teller.pk:06d}\n스케일마을-{teller.pk:06d}",
                    updated_at=obj.created_at,
                )
                for teller, obj in zip(tellers, objects, strict=True)
            ]
            self.insert(StorytellerIdentity, identities)
            self.progress(f"identity records: {len(identities):,}")
        else:
            self.progress("identity records: skipped, IDENTITY_ENCRYPTION_KEYS is not set")

        translations = []
        for teller, obj in zip(tellers, objects, strict=True):
            original, other = teller.language, OTHER[teller.language]
            index, other_index = scale.LANGUAGES.index(original), scale.LANGUAGES.index(other)
            record = self.translation(
                teller.translation,
                Storyteller,
                teller.pk,
                other,
                original={"pseudonym": teller.name[index], "bio": teller.bio[index]},
                translated={"pseudonym": teller.name[other_index], "bio": teller.bio[other_index]},
                earlier_original={"pseudonym": teller.name[index], "bio": teller.earlier_bio[index]},
                at=self.translation_time(obj.created_at, teller.first_at),
            )
            if record is not None:
                translations.append(record)
        self.insert(Translation, translations)
        self.progress(f"storyteller translations: {len(translations):,}")

    def ledger(self, teller: Teller) -> list[Consent]:
        """A storyteller's consent records, oldest first; the last one is in force."""
        period = self.rng.choice((365, 730))
        start = teller.first_at - self.days(1, 60)
        if teller.consent == LAPSED:
            start = min(start, self.now - self.days(period + 20, period + 300))
        withdrawn_at = None
        if teller.consent in {WITHDRAWN, RETURNED}:
            end = self.now - self.days(40, 60) if teller.consent == RETURNED else self.now - self.days(0.1, 1)
            withdrawn_at = self.between(max(teller.last_at, start + DAY), end)
            withdrawn_at = max(withdrawn_at, start + DAY)

        scopes = {
            "covers_web": teller.consent != NOT_WEB,
            "covers_english": teller.consent != KO_ONLY,
            "covers_korean": teller.consent != EN_ONLY,
            "covers_photos": self.rng.random() < 0.4,
            "covers_advocacy": self.rng.random() < 0.6,
        }

        def given(at: datetime.datetime, review_by: datetime.date) -> Consent:
            return Consent(
                decision=Consent.Decision.GIVEN,
                recorded_at=at,
                review_by=review_by,
                note=self.rng.choice(scale.GIVEN_NOTES),
                **scopes,
            )

        review_by = (start + period * DAY).date()
        records = [given(start, review_by)]
        while True:
            if teller.consent == LAPSED:
                renew = review_by + period * DAY < self.today
            elif withdrawn_at is not None:
                renew = review_by < withdrawn_at.date()
            else:
                renew = review_by < self.today + 20 * DAY
            if not renew:
                break
            at = datetime.datetime.combine(review_by, datetime.time(10), tzinfo=datetime.UTC) - self.days(1, 30)
            at = min(at, self.now - self.days(0.05, 2), withdrawn_at or self.now)
            review_by += period * DAY
            records.append(given(at, review_by))
        if withdrawn_at is not None:
            records.append(
                Consent(
                    decision=Consent.Decision.WITHDRAWN,
                    recorded_at=max(withdrawn_at, records[-1].recorded_at + datetime.timedelta(minutes=1)),
                    note=self.rng.choice(scale.WITHDRAWAL_NOTES),
                )
            )
        if teller.consent == RETURNED:
            at = self.between(records[-1].recorded_at + DAY, self.now - DAY)
            records.append(given(at, max((at + period * DAY).date(), self.today + 30 * DAY)))
        return records

    def write_stories(self, serials: list[Serial], themes: list[int], warnings: list[int]) -> None:
        objects = []
        for serial in serials:
            original, other = serial.language, OTHER[serial.language]
            index, other_index = scale.LANGUAGES.index(original), scale.LANGUAGES.index(other)
            version = COLUMNS.get(serial.translation)
            summary = serial.summary if version == CURRENT else serial.earlier_summary
            dated = [at for _state, at in serial.parts if at and at <= self.now]
            objects.append(
                Story(
                    slug=f"{slugify(serial.title[0])[:100]}-{serial.index + 1}",
                    storyteller_id=serial.teller.pk,
                    original_language=original,
                    status=serial.status,
                    is_complete=serial.is_complete,
                    is_featured=serial.status == Story.Status.PUBLISHED and self.rng.random() < 0.01,
                    created_at=serial.created_at,
                    updated_at=max([serial.created_at, *dated]),
                    **{
                        f"title_{original}": serial.title[index],
                        f"summary_{original}": serial.summary[index],
                        f"title_{other}": serial.title[other_index] if version else "",
                        f"summary_{other}": summary[other_index] if version else "",
                    },
                )
            )
        self.insert(Story, objects)
        for serial, obj in zip(serials, objects, strict=True):
            serial.pk = obj.pk
        self.progress(f"stories: {len(objects):,}")

        story_themes = [
            Story.themes.through(story_id=serial.pk, theme_id=theme)
            for serial in serials
            for theme in self.rng.sample(themes, self.rng.randint(1, 3))
        ]
        story_warnings = [
            Story.content_warnings.through(story_id=serial.pk, contentwarning_id=warning)
            for serial in serials
            for warning in self.rng.sample(warnings, self.rng.choice((0, 1, 1, 2, 3)))
        ]
        self.insert(Story.themes.through, story_themes)
        self.insert(Story.content_warnings.through, story_warnings)

        translations = []
        for serial in serials:
            original, other = serial.language, OTHER[serial.language]
            index, other_index = scale.LANGUAGES.index(original), scale.LANGUAGES.index(other)
            dated = [at for _state, at in serial.parts if at]
            record = self.translation(
                serial.translation,
                Story,
                serial.pk,
                other,
                original={"title": serial.title[index], "summary": serial.summary[index]},
                translated={"title": serial.title[other_index], "summary": serial.summary[other_index]},
                earlier_original={"title": serial.title[index], "summary": serial.earlier_summary[index]},
                at=self.translation_time(serial.created_at, min(dated) if dated else None),
            )
            if record is not None:
                translations.append(record)
        self.insert(Translation, translations)
        self.progress(f"story themes: {len(story_themes):,}, warnings: {len(story_warnings):,}")
        self.progress(f"story translations: {len(translations):,}")

    def write_parts(self, serials: list[Serial]) -> None:
        self.bank.verify()
        batch: list[tuple[Part, Serial, str, tuple[str, str], tuple[str, str], int]] = []
        written = 0
        translations = 0
        for serial in serials:
            titles = self.rng.sample(scale.PART_TITLES, min(len(serial.parts), len(scale.PART_TITLES)))
            for number, (status, published_at) in enumerate(serial.parts, start=1):
                title = titles[(number - 1) % len(titles)]
                summary = self.rng.choice(scale.PART_SUMMARIES)
                variant = self.rng.randrange(self.bank.size)
                unfinished = status in {Part.Status.DRAFT, Part.Status.IN_REVIEW}
                state = self.choose(UNFINISHED_TRANSLATIONS if unfinished else PART_TRANSLATIONS)
                part = self.part(serial, number, status, published_at, title, summary, variant, state)
                batch.append((part, serial, state, title, summary, variant))
                if len(batch) >= self.batch_size:
                    written += len(batch)
                    translations += self.flush_parts(batch)
                    self.progress(f"parts: {written:,} of {self.part_count:,}")
                    batch = []
        if batch:
            written += len(batch)
            translations += self.flush_parts(batch)
            self.progress(f"parts: {written:,} of {self.part_count:,}")
        self.progress(f"part translations: {translations:,}")

    def part(
        self,
        serial: Serial,
        number: int,
        status: str,
        published_at: datetime.datetime | None,
        title: tuple[str, str],
        summary: tuple[str, str],
        variant: int,
        state: str,
    ) -> Part:
        original, other = serial.language, OTHER[serial.language]
        index, other_index = scale.LANGUAGES.index(original), scale.LANGUAGES.index(other)
        body = self.bank.body(variant)
        fields = {
            f"title_{original}": title[index],
            f"summary_{original}": summary[index],
            f"body_{original}": body.markdown[original],
            f"body_html_{original}": body.html[original],
            f"reading_minutes_{original}": body.minutes[original],
        }
        version = COLUMNS.get(state)
        if version:
            shown = body if version == CURRENT else self.bank.body(variant, earlier=True)
            fields |= {
                f"title_{other}": title[other_index],
                f"summary_{other}": summary[other_index],
                f"body_{other}": shown.markdown[other],
                f"body_html_{other}": shown.html[other],
                f"reading_minutes_{other}": shown.minutes[other],
            }
        else:
            fields |= {
                f"title_{other}": "",
                f"summary_{other}": "",
                f"body_{other}": "",
                f"body_html_{other}": "",
                f"reading_minutes_{other}": 0,
            }
        if published_at is not None:
            created_at = max(serial.created_at, published_at - self.days(1, 30))
        else:
            created_at = self.between(serial.created_at, self.now)
        created_at = min(created_at, self.now - self.days(0.01, 1))
        return Part(
            story_id=serial.pk,
            number=number,
            status=status,
            published_at=published_at,
            created_at=created_at,
            updated_at=max(created_at, min(self.now, published_at or created_at)),
            **fields,
        )

    def flush_parts(self, batch: list[tuple]) -> int:
        """Write a batch of parts, then their translations; return how many translation records."""
        Part.objects.bulk_create([item[0] for item in batch])
        records = []
        for part, serial, state, title, summary, variant in batch:
            original, other = serial.language, OTHER[serial.language]
            body, earlier = self.bank.body(variant), self.bank.body(variant, earlier=True)
            index, other_index = scale.LANGUAGES.index(original), scale.LANGUAGES.index(other)
            record = self.translation(
                state,
                Part,
                part.pk,
                other,
                # Generated parts carry no recap: its text is empty in every language, as the registry records it.
                original={
                    "title": title[index],
                    "summary": summary[index],
                    "body": body.markdown[original],
                    "recap": "",
                },
                translated={
                    "title": title[other_index],
                    "summary": summary[other_index],
                    "body": body.markdown[other],
                    "recap": "",
                },
                earlier_original={
                    "title": title[index],
                    "summary": summary[index],
                    "body": earlier.markdown[original],
                    "recap": "",
                },
                at=self.translation_time(part.created_at, part.published_at),
            )
            if record is not None:
                records.append(record)
        Translation.objects.bulk_create(records, batch_size=self.batch_size)
        label = Part._meta.verbose_name_plural
        self.counts[label] = self.counts.get(label, 0) + len(batch)
        label = Translation._meta.verbose_name_plural
        self.counts[label] = self.counts.get(label, 0) + len(records)
        return len(records)

    def write_campaigns(self, serials: list[Serial]) -> None:
        # Countries, groups and offices are saved one by one, and their labels' translation records are
        # written by a signal (translations.signals), dated by the clock.
        with timestamps_from_the_clock(Translation):
            self._write_campaigns(serials)

    def _write_campaigns(self, serials: list[Serial]) -> None:
        countries = [Country.objects.get_or_create(code=data["code"], defaults=data)[0] for data in COUNTRIES]
        kinds = [
            (Recipient.Kind.EMBASSY, "Embassy", "대사관"),
            (Recipient.Kind.CONSULATE, "Consulate", "영사관"),
            (Recipient.Kind.UN_MISSION, "Mission to the UN", "유엔 대표부"),
        ]
        recipients: dict[int, list[Recipient]] = {}
        for country in countries:
            for kind, label_en, label_ko in kinds:
                recipient, _created = Recipient.objects.get_or_create(
                    email=f"scale-{kind.replace('_', '-')}-{country.code.lower()}@example.org",
                    defaults={
                        "country": country,
                        "kind": kind,
                        "label_en": f"{label_en} (invented), {country.name_en}",
                        "label_ko": f"{label_ko} (가상), {country.name_ko}",
                        "last_verified_on": self.today - self.days(5, 500).days * DAY,
                        "note": "Invented for scale tests.",
                    },
                )
                recipients.setdefault(country.pk, []).append(recipient)

        campaigns = []
        for index in range(self.campaign_count):
            roll = self.rng.random()
            languages = (EN, KO) if roll < 0.8 else ((EN,) if roll < 0.9 else (KO,))
            title = self.rng.choice(scale.CAMPAIGN_TITLES)
            texts = {
                "kicker": self.rng.choice(scale.CAMPAIGN_KICKERS),
                "title": title,
                "byline": self.rng.choice(scale.CAMPAIGN_BYLINES),
                "summary": self.rng.choice(scale.CAMPAIGN_SENTENCES),
                "body": scale.campaign_body(self.rng),
            }
            starts_on = self.today - self.days(0, 700).days * DAY
            ends_on = None if self.rng.random() < 0.5 else starts_on + self.days(30, 400).days * DAY
            created_at = datetime.datetime.combine(starts_on, datetime.time(9), tzinfo=datetime.UTC) - self.days(1, 20)
            campaign = Campaign(
                slug=f"{slugify(title[0])}-{index + 1}",
                date=starts_on,
                starts_on=starts_on,
                ends_on=ends_on,
                priority=self.rng.choice((0, 0, 0, 5, 10)),
                status=self.rng.choices(
                    [Campaign.Status.PUBLISHED, Campaign.Status.DRAFT, Campaign.Status.ARCHIVED], weights=[70, 15, 15]
                )[0],
                is_featured=index == 0,
                created_at=min(created_at, self.now),
                updated_at=self.between(min(created_at, self.now), self.now),
                **{
                    f"{name}_{code}": pair[scale.LANGUAGES.index(code)] if code in languages else ""
                    for name, pair in texts.items()
                    for code in scale.LANGUAGES
                },
            )
            if index == 0:
                # The featured campaign is live in both languages, beside every story without its own.
                campaign.status, campaign.ends_on = Campaign.Status.PUBLISHED, None
                for code in scale.LANGUAGES:
                    for name, pair in texts.items():
                        setattr(campaign, f"{name}_{code}", pair[scale.LANGUAGES.index(code)])
            render_translated_markdown(campaign, {})
            campaigns.append((campaign, languages if index else scale.LANGUAGES))
        self.insert(Campaign, [campaign for campaign, _languages in campaigns])

        actions, action_recipients = [], []
        for number, (campaign, languages) in enumerate(campaigns, start=1):
            chosen = [kind for kind in Action.Kind if kind == Action.Kind.LETTER or self.rng.random() < 0.6]
            for position, kind in enumerate(chosen):
                heading, blurb = scale.ACTION_TEXT[kind]
                pairs = {"heading": heading, "blurb": blurb}
                if kind == Action.Kind.LETTER:
                    pairs |= {
                        "subject_template": self.rng.choice(scale.LETTER_SUBJECTS),
                        "body_template": scale.LETTER_BODY,
                    }
                elif kind == Action.Kind.SOCIAL:
                    pairs["post_template"] = self.rng.choice(scale.SOCIAL_POSTS)
                elif kind in scale.BUTTON_LABELS:
                    pairs["button_label"] = scale.BUTTON_LABELS[kind]
                url = f"https://donate.example.org/scale-{number}-{kind}" if kind in scale.BUTTON_LABELS else ""
                actions.append(
                    Action(
                        campaign_id=campaign.pk,
                        kind=kind,
                        position=position,
                        url=url,
                        **{
                            f"{name}_{code}": pair[scale.LANGUAGES.index(code)] if code in languages else ""
                            for name, pair in pairs.items()
                            for code in scale.LANGUAGES
                        },
                    )
                )
        self.insert(Action, actions)
        for action in actions:
            if action.kind == Action.Kind.LETTER:
                for country in self.rng.sample(countries, self.rng.randint(1, len(countries))):
                    action_recipients += [
                        Action.recipients.through(action_id=action.pk, recipient_id=recipient.pk)
                        for recipient in recipients[country.pk]
                    ]
        self.insert(Action.recipients.through, action_recipients)

        # Stories beside campaigns: mostly from storytellers who agreed to advocacy use, as editors pick.
        published = [serial for serial in serials if serial.status == Story.Status.PUBLISHED]
        links = []
        for campaign, _languages in campaigns:
            for position, serial in enumerate(self.rng.sample(published, min(len(published), self.rng.randint(1, 6)))):
                links.append(CampaignStory(campaign_id=campaign.pk, story_id=serial.pk, position=position))
        self.insert(CampaignStory, links)

        counts = []
        for campaign, _languages in campaigns:
            if campaign.status != Campaign.Status.PUBLISHED:
                continue
            last = min(self.today, campaign.ends_on or self.today)
            day = max(campaign.starts_on, last - 60 * DAY)
            while day <= last:
                for kind in self.rng.sample(list(ActionCount.Kind), 3):
                    counts.append(
                        ActionCount(campaign_id=campaign.pk, day=day, kind=kind, count=self.rng.randint(1, 40))
                    )
                day += DAY
        self.insert(ActionCount, counts)
        self.progress(
            f"campaigns: {len(campaigns):,}, actions: {len(actions):,}, story links: {len(links):,}, "
            f"daily counts: {len(counts):,}"
        )


class Command(BaseCommand):
    help = (
        "Fill an empty database with invented storytellers, consent records, stories, parts, translations "
        "and campaigns at scale, for measuring. Refuses a database that already holds stories."
    )

    def add_arguments(self, parser):
        parser.add_argument("--parts", type=int, default=100_000, help="how many parts to write (default 100000)")
        parser.add_argument(
            "--storytellers", type=int, default=10_000, help="how many storytellers to write (default 10000)"
        )
        parser.add_argument(
            "--campaigns",
            type=int,
            default=None,
            help="how many campaigns (default: one per 250 storytellers, 3 to 40)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="the same seed writes the same data, dated from the time of the run (default 1)",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="rows per bulk insert (default 2000)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (for tests and measuring servers); never on a production site.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to generate scale data with DEBUG off: this looks like a production site. "
                "Use --force only on a database made for measuring."
            )
        parts, storytellers = options["parts"], options["storytellers"]
        if parts < 1 or storytellers < 1 or options["batch_size"] < 1:
            raise CommandError("--parts, --storytellers and --batch-size must be at least 1.")
        campaigns = options["campaigns"]
        if campaigns is None:
            campaigns = max(3, min(40, storytellers // 250))
        for model in (Storyteller, Consent, Story, Part, Translation, Campaign):
            if model.objects.exists():
                raise CommandError(
                    f"This database already holds {model._meta.verbose_name_plural}. Generate scale data into "
                    "an empty one: create a new database, point DATABASE_URL at it and run migrate first."
                )

        database = connection.settings_dict["NAME"]
        self.stdout.write(
            f"Writing {parts:,} parts for {storytellers:,} storytellers (seed {options['seed']}) "
            f"into {connection.vendor} database {database}."
        )
        generator = Generator(
            parts=parts,
            storytellers=storytellers,
            campaigns=campaigns,
            seed=options["seed"],
            batch_size=options["batch_size"],
            out=self.stdout,
        )
        # With DEBUG on, Django would format and keep the last 9,000 queries, parameters and all:
        # gigabytes of part bodies, and a tenth of the run's time.
        with override_settings(DEBUG=False), sqlite_page_cache(SQLITE_CACHE_KIB):
            # One transaction: a run that fails leaves the database empty, ready for another try.
            with (
                transaction.atomic(),
                timestamps_as_given(Storyteller, StorytellerIdentity, Story, Part, Translation, Campaign),
                json_unescaped_on_postgresql(Translation),
            ):
                generator.run()
            generator.progress("committed")
            # Statistics first, so that the rebuild reads the rule with a good plan: without them
            # SQLite reads the visibility rule by scanning every published part.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            generator.progress("statistics gathered for the rebuild")
            rows = publication_rebuild()
            generator.progress(f"publication table rebuilt: {rows:,} rows")
            # Then again for the tables just written, as autovacuum would in time on PostgreSQL (where
            # VACUUM also marks pages all-visible, so counts read the index alone), outside any transaction.
            vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        generator.progress("statistics gathered")
        self.stdout.write("Rows written:")
        for label, count in generator.counts.items():
            self.stdout.write(f"  {label:<36} {count:>10,}")
        elapsed = time.perf_counter() - generator.started
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f} s ({elapsed / 60:.1f} min)."))
