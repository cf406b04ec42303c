"""The publication table: what the visibility rule decides, written where its inputs change.

``Part.objects.public()`` and friends (stories/querysets.py) are the definition. Reader pages read
their materialised form: one row per object and language in which the object is public at some
time, with the window in which it is (the publication time to the consent's review-by date), so
that a scheduled part coming due or a review date lapsing still acts with no write at all.

Rows are derived from the definition's own ``publishable()`` querysets, for one storyteller at a
time, in the transaction of the change: every save or deletion of a storyteller, consent record,
story, part, photo or translation refreshes the rows of the storyteller it belongs to (and of the
one it belonged to, when it moved). ``publication_check`` compares the table with the definition
on a live database and repairs it; ``privacy_audit`` runs it.
"""

import contextlib
import contextvars
import dataclasses
import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils import timezone

from archive.prepared import Param, PreparedQuery
from search.index import search_check, search_rebuild, search_refresh
from stories.models import (
    Consent,
    ImagePublication,
    Part,
    PartPublication,
    Story,
    StoryImage,
    StoryPublication,
    Storyteller,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
# What each row carries from the consent in force.
CONSENT_FIELDS = ("review_by", "covers_english", "covers_korean", "covers_photos", "covers_advocacy")


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@dataclasses.dataclass
class Rows:
    """The rows the definition asks for, keyed by (object id, language)."""

    stories: dict[tuple[int, str], dict] = dataclasses.field(default_factory=dict)
    parts: dict[tuple[int, str], dict] = dataclasses.field(default_factory=dict)
    images: dict[tuple[int, str], dict] = dataclasses.field(default_factory=dict)

    def tables(self):
        return (
            (StoryPublication, "story_id", self.stories),
            (PartPublication, "part_id", self.parts),
            (ImagePublication, "image_id", self.images),
        )


def _consents(storyteller_ids: set[int] | None) -> dict[int, dict]:
    """The consent in force of each storyteller whose consent is given, as row fields."""
    given = Consent.objects.effective().filter(decision=Consent.Decision.GIVEN, review_by__isnull=False)
    if storyteller_ids is not None:
        given = given.filter(storyteller_id__in=storyteller_ids)
    return {row.pop("storyteller_id"): row for row in given.values("storyteller_id", *CONSENT_FIELDS)}


PART_COLUMNS = ("pk", "story_id", "story__storyteller_id", "number", "published_at", "story__created_at")
IMAGE_COLUMNS = ("pk", "part_id")
# A storyteller with more parts than this is computed with the ORM's queries, compiled for the occasion.
MAX_PREPARED_PARTS = 1024


def _bucket(count: int) -> int:
    """The number of part ids a prepared query takes: a power of two, so a handful of shapes serve every count."""
    return max(8, 1 << (count - 1).bit_length())


def _by_parts(queryset: models.QuerySet, field: str, size: int) -> models.QuerySet:
    return queryset.filter(
        **{f"{field}__in": [Param(f"part_{index}", models.BigIntegerField()) for index in range(size)]}
    )


PUBLISHABLE_PARTS = PreparedQuery(
    lambda language, size: _by_parts(Part.objects.publishable(language), "pk", size).values(*PART_COLUMNS)
)
SHOWN_IMAGES = PreparedQuery(
    lambda language, size: _by_parts(StoryImage.objects.shown_on_publishable_parts(language), "part__id", size).values(
        *IMAGE_COLUMNS
    )
)


def _prepared_rows(code: str, part_ids: list[int]) -> tuple[list[tuple], list[tuple]]:
    """The rule's part and photo rows of the language among these parts, as the ORM's values_list gives them."""
    if not part_ids:
        return [], []
    size = _bucket(len(part_ids))
    # The list is filled up with its first id: a repeated id in IN () matches nothing more.
    ids = {f"part_{index}": part_ids[index] if index < len(part_ids) else part_ids[0] for index in range(size)}
    shape = {"language": code, "size": size}
    parts = [tuple(row[column] for column in PART_COLUMNS) for row in PUBLISHABLE_PARTS(shape=shape, **ids)]
    images = [tuple(row[column] for column in IMAGE_COLUMNS) for row in SHOWN_IMAGES(shape=shape, **ids)]
    return parts, images


def desired_rows(storyteller_ids: set[int] | None = None) -> Rows:
    """Compute the rows the definition asks for, for some storytellers or (None) for everyone."""
    consents = _consents(storyteller_ids)
    rows = Rows()
    if storyteller_ids is not None:
        # Their parts by id, found through the storyteller and story indexes: the rule's query then
        # looks at those rows alone, whatever plan the database would have chosen for it.
        part_ids = list(Part.objects.filter(story__storyteller_id__in=storyteller_ids).values_list("pk", flat=True))
    for code in languages():
        if storyteller_ids is not None and len(part_ids) <= MAX_PREPARED_PARTS:
            # A storyteller's parts: the rule's two queries compiled once (archive.prepared), as compiling
            # them cost a write at 100,000 parts far more than running them.
            part_rows, image_rows = _prepared_rows(code, part_ids)
        else:
            part_rows = Part.objects.publishable(code)
            # The photo's own conditions; its part's are those of the part rows just computed.
            image_rows = StoryImage.objects.shown_on_publishable_parts(code)
            if storyteller_ids is not None:
                part_rows = part_rows.filter(pk__in=part_ids)
                image_rows = image_rows.filter(part_id__in=part_ids)
            part_rows = part_rows.values_list(*PART_COLUMNS).iterator(chunk_size=BATCH_SIZE)
            image_rows = image_rows.values_list(*IMAGE_COLUMNS).iterator(chunk_size=BATCH_SIZE)
        for pk, story_id, teller_id, number, published_at, story_created_at in part_rows:
            consent = consents.get(teller_id)
            if consent is None:
                continue
            rows.parts[pk, code] = {
                "language": code,
                "storyteller_id": teller_id,
                "story_id": story_id,
                "number": number,
                "published_at": published_at,
                "image_count": 0,
                **consent,
            }
            # A story is public while any of its parts is: from its first part's publication time.
            story = rows.stories.get((story_id, code))
            if story is None:
                rows.stories[story_id, code] = {
                    "language": code,
                    "storyteller_id": teller_id,
                    "published_at": published_at,
                    "story_created_at": story_created_at,
                    **consent,
                }
            elif published_at < story["published_at"]:
                story["published_at"] = published_at
        for pk, part_id in image_rows:
            part = rows.parts.get((part_id, code))
            if part is None:
                continue
            part["image_count"] += 1
            rows.images[pk, code] = {
                "language": code,
                "storyteller_id": part["storyteller_id"],
                "story_id": part["story_id"],
                "part_id": part_id,
                "published_at": part["published_at"],
                **{field: part[field] for field in CONSENT_FIELDS},
            }
    return rows


ROW_FIELDS = {
    StoryPublication: ("language", "storyteller_id", "published_at", "story_created_at", *CONSENT_FIELDS),
    PartPublication: (
        "language",
        "storyteller_id",
        "story_id",
        "number",
        "published_at",
        "image_count",
        *CONSENT_FIELDS,
    ),
    ImagePublication: ("language", "storyteller_id", "story_id", "part_id", "published_at", *CONSENT_FIELDS),
}


def _existing(model: type[models.Model], key_field: str, storyteller_ids: set[int] | None) -> dict:
    queryset = model.objects.all()
    if storyteller_ids is not None:
        queryset = queryset.filter(storyteller_id__in=storyteller_ids)
    return {
        (row[key_field], row["language"]): row
        for row in queryset.values("pk", key_field, *ROW_FIELDS[model]).iterator(chunk_size=BATCH_SIZE)
    }


@dataclasses.dataclass
class Difference:
    """How the table differs from the definition."""

    missing: list = dataclasses.field(default_factory=list)
    extra: list = dataclasses.field(default_factory=list)
    changed: list = dataclasses.field(default_factory=list)
    storyteller_ids: set[int] = dataclasses.field(default_factory=set)
    story_ids: set[int] = dataclasses.field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)


def _compare(storyteller_ids: set[int] | None) -> tuple[Rows, Difference, dict]:
    desired = desired_rows(storyteller_ids)
    difference = Difference()
    existing_by_model = {}
    for model, key_field, wanted in desired.tables():
        existing = _existing(model, key_field, storyteller_ids)
        existing_by_model[model] = existing
        for key, fields in wanted.items():
            row = existing.get(key)
            if row is None:
                difference.missing.append((model, key))
            elif any(row[name] != fields[name] for name in ROW_FIELDS[model]):
                difference.changed.append((model, key))
            else:
                continue
            difference.storyteller_ids.add(fields["storyteller_id"])
            difference.story_ids.add(key[0] if model is StoryPublication else fields["story_id"])
        for key, row in existing.items():
            if key not in wanted:
                difference.extra.append((model, key))
                difference.storyteller_ids.add(row["storyteller_id"])
                difference.story_ids.add(key[0] if model is StoryPublication else row["story_id"])
    return desired, difference, existing_by_model


def _write(desired: Rows, difference: Difference, existing_by_model: dict) -> None:
    """Bring the table to the desired rows, touching only the rows that differ."""
    stale = {model: [] for model, _key, _rows in desired.tables()}
    fresh = {model: [] for model, _key, _rows in desired.tables()}
    keys = {model: key_field for model, key_field, _rows in desired.tables()}
    wanted = {model: rows for model, _key, rows in desired.tables()}
    for model, key in difference.extra + difference.changed:
        stale[model].append(existing_by_model[model][key]["pk"])
    for model, key in difference.missing + difference.changed:
        fresh[model].append(model(**{keys[model]: key[0]}, **wanted[model][key]))
    # Deletions first, so that a changed row never meets its old self in the unique constraint.
    for model in (ImagePublication, PartPublication, StoryPublication):
        for start in range(0, len(stale[model]), BATCH_SIZE):
            model.objects.filter(pk__in=stale[model][start : start + BATCH_SIZE]).delete()
    for model in (StoryPublication, PartPublication, ImagePublication):
        model.objects.bulk_create(fresh[model], batch_size=BATCH_SIZE)


def _invalidate(difference: Difference) -> None:
    """Tell the page cache which stories and storytellers changed in readers' eyes."""
    from stories import caching

    invalidate = getattr(caching, "invalidate", None)
    if invalidate is None:
        return
    tags = ["publications"]
    tags += [f"stories.storyteller:{pk}" for pk in sorted(difference.storyteller_ids)]
    tags += [f"stories.story:{pk}" for pk in sorted(difference.story_ids)]
    # Related stories are chosen among a theme's live stories in the language (stories.related), which only
    # a story's own rows decide: a new part of a live story leaves the pages of its themes warm.
    languages_of = {}
    for model, (story_id, language) in difference.missing + difference.extra + difference.changed:
        if model is StoryPublication:
            languages_of.setdefault(story_id, set()).add(language)
    stories = sorted(languages_of)
    sets = set()
    for start in range(0, len(stories), BATCH_SIZE):
        links = Story.themes.through.objects.filter(story_id__in=stories[start : start + BATCH_SIZE])
        for story_id, theme_id in links.values_list("story_id", "theme_id"):
            sets.update((theme_id, language) for language in languages_of[story_id])
    tags += [caching.theme_stories(theme_id, language) for theme_id, language in sorted(sets)]
    invalidate(*tags)


@transaction.atomic
def publication_refresh(*, storyteller_ids: Iterable[int | None]) -> Difference:
    """Rewrite the rows of these storytellers from the definition; return what changed."""
    ids = {pk for pk in storyteller_ids if pk is not None}
    if not ids:
        return Difference()
    desired, difference, existing = _compare(ids)
    if difference:
        _write(desired, difference, existing)
        _invalidate(difference)
    # The search index derives from these rows and from the text, which can change while they do not.
    search_refresh(rows=desired.parts, storyteller_ids=ids)
    return difference


@transaction.atomic
def publication_rebuild() -> int:
    """Rewrite the whole table from the definition, as after a bulk import; return the number of rows."""
    desired = desired_rows(None)
    for model in (ImagePublication, PartPublication, StoryPublication):
        model.objects.all().delete()
    count = 0
    for model, key_field, rows in desired.tables():
        objects = (model(**{key_field: key[0]}, **fields) for key, fields in rows.items())
        model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
        count += len(rows)
    search_rebuild(rows=desired.parts)
    _invalidate(Difference(storyteller_ids=set(), story_ids=set()))
    return count


@dataclasses.dataclass
class Check:
    """What ``publication_check`` found."""

    difference: Difference
    # (model name, language, ids the definition finds and the table does not, ids the table finds alone)
    disagreements: list[tuple[str, str, set[int], set[int]]]

    def __bool__(self) -> bool:
        return bool(self.difference or self.disagreements)


def publication_check(*, repair: bool = False) -> Check:
    """Compare the table with the definition on this database, now and in every window; repair if asked.

    Two comparisons: the rows themselves (which also covers every future moment), and what
    ``public()`` and ``live()`` return right now for parts, stories and photos in every language.
    """
    now = timezone.now()
    disagreements = []
    for model in (Part, Story, StoryImage):
        for code in languages():
            defined = set(model.objects.public(code, now=now).values_list("pk", flat=True))
            fast = set(model.objects.live(code, now=now).values_list("pk", flat=True))
            if defined != fast:
                disagreements.append((model._meta.label, code, defined - fast, fast - defined))
    with transaction.atomic():
        desired, difference, existing = _compare(None)
        if repair and difference:
            _write(desired, difference, existing)
            _invalidate(difference)
            logger.warning("Repaired the publication table for %d storytellers.", len(difference.storyteller_ids))
        disagreements += search_check(rows=desired.parts, repair=repair).disagreements()
    return Check(difference=difference, disagreements=disagreements)


# --- Where the rule's inputs change -----------------------------------------------------------------

TRANSLATED_OWNERS = {
    "storyteller": lambda ids: set(ids),
    "story": lambda ids: set(Story.objects.filter(pk__in=ids).values_list("storyteller_id", flat=True)),
    "part": lambda ids: set(Part.objects.filter(pk__in=ids).values_list("story__storyteller_id", flat=True)),
    "storyimage": lambda ids: set(
        StoryImage.objects.filter(pk__in=ids).values_list("part__story__storyteller_id", flat=True)
    ),
}


def _rows_of(model: type[models.Model], **lookup) -> set[int]:
    """Storytellers the table files an object under now: it may have moved to another one."""
    return set(model.objects.filter(**lookup).values_list("storyteller_id", flat=True))


def storytellers_affected(instance: models.Model) -> set[int]:
    """Whose rows a change to this object can alter."""
    if isinstance(instance, Storyteller):
        return {instance.pk}
    if isinstance(instance, Consent):
        return {instance.storyteller_id}
    if isinstance(instance, Story):
        return {instance.storyteller_id} | _rows_of(StoryPublication, story_id=instance.pk)
    if isinstance(instance, Part):
        return TRANSLATED_OWNERS["story"]([instance.story_id]) | _rows_of(PartPublication, part_id=instance.pk)
    if isinstance(instance, StoryImage):
        return TRANSLATED_OWNERS["part"]([instance.part_id]) | _rows_of(ImagePublication, image_id=instance.pk)
    # A translation: whose text it is, known from its content type without loading the object.
    from translations.models import Translation

    if isinstance(instance, Translation):
        content_type = ContentType.objects.get_for_id(instance.content_type_id)
        owners = TRANSLATED_OWNERS.get(content_type.model) if content_type.app_label == "stories" else None
        return owners([instance.object_id]) if owners else set()
    return set()


# Storytellers whose rows a batch of changes will refresh once it ends; None outside a batch.
_batch: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar("publication_batch", default=None)


@contextlib.contextmanager
def publication_batch():
    """Refresh the rows once, at the end of several changes, instead of after each of them.

    For a service that saves several objects of one storyteller, an import or a test building a
    state. Use it inside the transaction of the changes, so that the rows are still written in it.
    """
    if _batch.get() is not None:
        yield  # Already inside a batch: the outermost one refreshes.
        return
    pending: set[int] = set()
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    publication_refresh(storyteller_ids=pending)


def _changed(sender, instance, raw: bool = False, **kwargs) -> None:
    if raw:
        # Fixtures load rows in any order; run `manage.py publication_check --repair` after loaddata.
        return
    affected = storytellers_affected(instance)
    pending = _batch.get()
    if pending is not None:
        pending.update(affected)
        return
    publication_refresh(storyteller_ids=affected)


def _after_migrate(sender, using: str = "default", **kwargs) -> None:
    """Fill the table once on a database that had stories before it existed."""
    if sender.name != "stories" or PartPublication._meta.db_table not in connections[using].introspection.table_names():
        return
    if not PartPublication.objects.exists() and Part.objects.filter(status=Part.Status.PUBLISHED).exists():
        publication_rebuild()


def connect_signals() -> None:
    from translations.models import Translation

    for model in (Storyteller, Consent, Story, Part, StoryImage, Translation):
        label = model._meta.label_lower
        post_save.connect(_changed, sender=model, dispatch_uid=f"publication-saved-{label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"publication-deleted-{label}")
    post_migrate.connect(_after_migrate, dispatch_uid="publication-after-migrate")
