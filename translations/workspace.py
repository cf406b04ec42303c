"""What the translator's workspace shows: items to translate per story and language, with progress.

``story_items`` is the definition: one item per piece of a story's display text (its storyteller's, its
own, each part's that is not archived and each of their photos') whose original language is not the
target, done once a translation is approved and up to date. The dashboard and the queue need it for the
whole archive, which is too large to load: ``measure_overview`` counts the same items in SQL, and
``overview`` keeps that until the next write; tests hold the two to the definition.

A story is listed in a language only while its storyteller's consent does not exclude that language
(``excluded_stories``). A part that is not public and whose text still holds one of its storyteller's
identifying terms (or a site-wide one) is an item like any other, counted as work to do, but held back
(``Item.held_back``): the workspace shows neither its text nor a link to it, nor the term, until an editor
removes the term (``held_back_parts``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from archive.prepared import Param, PreparedQuery, loaded
from stories import caching, privacy
from stories.fields import IdentityKeyMissing
from stories.models import Consent, Part, Story, StoryImage, Storyteller
from stories.querysets import LANGUAGE_SCOPES
from stories.services import unpublished_text_holding_terms
from translations.models import Translation
from translations.registry import LABEL_LANGUAGE, Translatable, translatable_for

# The models whose text a story's items are, in the order story_items lists them.
MODELS = (Storyteller, Story, Part, StoryImage)
# What Item reads of a translation record to tell its status, without the texts.
STATUS_FIELDS = ("content_type", "object_id", "language", "status", "needs_update", "approved_at")


@dataclass
class Item:
    """One object's display text in one target language; a page reads each property often, worked out once."""

    obj: models.Model
    entry: Translatable
    language: str
    translation: Translation | None
    # A part not public yet whose text holds an identifying term, or a photo of one: never shown.
    held_back: bool = False
    # Its page in the workspace, when the view that lists it has worked it out (views.with_edit_urls).
    edit_url: str = ""

    @cached_property
    def status(self) -> str:
        if self.translation and self.translation.status != Translation.Status.MISSING:
            return self.translation.status
        # Text entered in the record itself in the language (a pseudonym a consent officer typed) is present:
        # a draft to review, not missing.
        return Translation.Status.DRAFT if self.entered else Translation.Status.MISSING

    @cached_property
    def entered(self) -> bool:
        """Say whether the record itself holds text in the language (its first field, as a submission needs)."""
        return bool(getattr(self.obj, f"{self.entry.fields[0]}_{self.language}", ""))

    @cached_property
    def status_label(self) -> str:
        return str(Translation.Status(self.status).label)

    @cached_property
    def needs_update(self) -> bool:
        return bool(self.translation and self.translation.needs_update)

    @cached_property
    def is_done(self) -> bool:
        return bool(self.translation and self.translation.approved_at and not self.translation.needs_update)

    @cached_property
    def needs_work(self) -> bool:
        return not self.is_done and self.status != Translation.Status.IN_REVIEW

    @cached_property
    def label(self) -> str:
        if isinstance(self.obj, Part):
            return _("Part {number}").format(number=self.obj.number)
        if isinstance(self.obj, StoryImage):
            return _("Part {number}, {photo}").format(number=self.obj.part.number, photo=self.obj)
        if isinstance(self.obj, Story):
            return _("Story title and summary")
        if isinstance(self.obj, Storyteller):
            return _("Storyteller pseudonym and bio")
        # A label of a campaign letter, by its text in the language it is written in first.
        text = self.entry.original_text(self.obj)[self.entry.fields[0]]
        if self.model_name == "country":
            return _("Country: {name}").format(name=text)
        if self.model_name == "recipientgroup":
            return _("Group for every reader: {name}").format(name=text)
        return _("Office: {name}").format(name=text)

    @cached_property
    def model_name(self) -> str:
        return self.obj._meta.model_name


@dataclass
class StoryProgress:
    story: Story
    language: str
    items: list[Item] = field(default_factory=list)

    @cached_property
    def done(self) -> int:
        return sum(item.is_done for item in self.items)

    @cached_property
    def total(self) -> int:
        return len(self.items)

    @cached_property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @cached_property
    def needs_work(self) -> bool:
        """Say whether a translator has something to do here: an item neither done nor waiting for review."""
        return any(item.needs_work for item in self.items)


def _translations(
    objects: list[models.Model], language: str, fields: tuple[str, ...] = ()
) -> dict[tuple[int, int], Translation]:
    """Load the translation records of many objects of several models in one query (only these fields, if given)."""
    by_type: dict[int, list[int]] = {}
    for obj in objects:
        by_type.setdefault(ContentType.objects.get_for_model(obj).pk, []).append(obj.pk)
    if not by_type:
        return {}
    wanted = Q()
    for content_type, pks in by_type.items():
        wanted |= Q(content_type=content_type, object_id__in=pks)
    records = Translation.objects.filter(wanted, language=language)
    if fields:
        records = records.only(*fields)
    return {(record.content_type_id, record.object_id): record for record in records}


def _objects(
    story: Story, parts: list[Part], language: str, photos: dict[int, list[StoryImage]] | None = None
) -> list[models.Model]:
    """The story's objects whose text is translated into the language; ``photos`` by part, if they are loaded."""
    if photos is None:
        photos = {part.pk: part.images.all() for part in parts}
    objects = [story.storyteller, story, *parts, *(photo for part in parts for photo in photos[part.pk])]
    return [obj for obj in objects if translatable_for(obj).original_language(obj) != language]


def story_items(
    story: Story,
    language: str,
    parts: list[Part] | None = None,
    records: dict[tuple[int, int], Translation] | None = None,
    photos: dict[int, list[StoryImage]] | None = None,
    held_back: set[int] | None = None,
) -> list[Item]:
    """Every piece of a story's display text that is translated into the language (not its original).

    ``held_back``: the keys of the parts ``held_back_parts`` found, if it was asked already.
    """
    if parts is None:
        parts = list(story.parts.exclude(status=Part.Status.ARCHIVED).prefetch_related("images").order_by("number"))
    objects = _objects(story, parts, language, photos)
    if records is None:
        records = _translations(objects, language)
    if held_back is None:
        held_back = held_back_parts(parts, photos)
    items = []
    for obj in objects:
        content_type = ContentType.objects.get_for_model(obj)
        part = obj.pk if isinstance(obj, Part) else obj.part_id if isinstance(obj, StoryImage) else None
        record = records.get((content_type.pk, obj.pk))
        items.append(Item(obj, translatable_for(obj), language, record, held_back=part in held_back))
    return items


def held_back_parts(parts: list[Part], photos: dict[int, list[StoryImage]] | None = None) -> set[int]:
    """The keys of the parts a translator must not be shown: not public, and holding an identifying term.

    The guard's own check (``stories.privacy``), through the search for exposed text, over the part's
    text in every language and its photos' text, against its storyteller's terms and the site-wide ones;
    in a constant number of queries for any number of parts. Without the identity key nothing can be
    checked, so every such part is held back (the guard fails closed).
    """
    unpublished = [part for part in parts if part.status != Part.Status.PUBLISHED]
    if not unpublished:
        return set()
    if photos is None:
        photos = {part.pk: list(part.images.all()) for part in unpublished}
    teller_of = {part.pk: part.story.storyteller_id for part in unpublished}
    try:
        terms = privacy.protected_terms_of(teller_of.values())
    except IdentityKeyMissing:
        return set(teller_of)
    matchers = {pk: privacy.Matcher(found) for pk, found in terms.items()}
    held = unpublished_text_holding_terms(Part, {pk: matchers[teller] for pk, teller in teller_of.items()})
    photo_matchers = {
        photo.pk: matchers[teller_of[part]] for part in teller_of for photo in photos.get(part, ()) if part not in held
    }
    if photo_matchers:
        part_of = {photo.pk: photo.part_id for part in teller_of for photo in photos.get(part, ())}
        held |= {part_of[pk] for pk in unpublished_text_holding_terms(StoryImage, photo_matchers)}
    return held


def _withdrawals() -> models.QuerySet:
    """Consent records in force that are withdrawals: what ``StorytellerQuerySet.withdrawn()`` selects by."""
    return Consent.objects.effective().filter(decision=Consent.Decision.WITHDRAWN)


def _exclusions(language: str) -> models.QuerySet:
    """Consent records in force that do not cover the language: their storytellers' text is not translated into it."""
    return Consent.objects.effective().filter(**{LANGUAGE_SCOPES[language]: False})


def workable_stories(pks: Iterable[int] | None = None, language: str | None = None) -> models.QuerySet:
    """Stories translators may work on (of these, if given): not archived, and not of a storyteller who withdrew.

    With a language: nor of a storyteller whose consent in force excludes it. A withdrawn story must not
    leave the archive in a translator's offline file either.
    """
    stories = Story.objects.exclude(status=Story.Status.ARCHIVED)
    if pks is None:
        # The tellers' keys straight from the records: joined back to the tellers, as withdrawn() is,
        # PostgreSQL plans a loop over every teller.
        stories = stories.exclude(storyteller__in=_withdrawals().values("storyteller_id"))
        if language is not None:
            stories = stories.exclude(storyteller__in=_exclusions(language).values("storyteller_id"))
        return stories
    # Row by row: a page of stories reads its own tellers' records only.
    stories = stories.filter(pk__in=list(pks)).exclude(
        Exists(_withdrawals().filter(storyteller=OuterRef("storyteller")))
    )
    if language is not None:
        stories = stories.exclude(Exists(_exclusions(language).filter(storyteller=OuterRef("storyteller"))))
    return stories


# What the workspace reads of a page's stories and their storytellers: their names in every language (a
# name falls back to another language), the original language and the story's address.
PAGE_STORY_FIELDS = ("slug", "original_language", "storyteller_id")
PAGE_TELLER_FIELDS = ("original_language",)


def _page_of_stories(count: int, language: str | None) -> models.QuerySet:
    """``workable_stories`` of ``count`` keys, bound at each run (``story0``, ``story1``, …), as rows."""
    codes = [code for code, _name in settings.LANGUAGES]
    keys = [Param(f"story{index}", models.IntegerField()) for index in range(count)]
    return workable_stories(keys, language).values(
        "id",
        *PAGE_STORY_FIELDS,
        *(f"title_{code}" for code in codes),
        *(f"storyteller__{name}" for name in PAGE_TELLER_FIELDS),
        *(f"storyteller__pseudonym_{code}" for code in codes),
    )


PAGE_OF_STORIES = PreparedQuery(_page_of_stories)


def _page_parts(count: int, language: str) -> models.QuerySet:
    """The parts (not archived) of ``count`` stories, bound at each run, in order: what a page shows of each
    (its number and status, and its first field in the language, for text already entered there: Item.entered)."""
    keys = [Param(f"story{index}", models.IntegerField()) for index in range(count)]
    return (
        Part.objects.filter(story__id__in=keys)
        .exclude(status=Part.Status.ARCHIVED)
        .order_by("number")
        .values("id", "story_id", "number", "status", f"title_{language}")
    )


def _page_photos(count: int, language: str) -> models.QuerySet:
    """The photos of those parts, as the photo list orders them, with their first field in the language."""
    keys = [Param(f"story{index}", models.IntegerField()) for index in range(count)]
    return (
        StoryImage.objects.filter(part__story__id__in=keys)
        .exclude(part__status=Part.Status.ARCHIVED)
        .values("id", "part_id", "position", f"alt_text_{language}")
    )


# The params PAGE_TRANSLATIONS binds each of MODELS' content type to, in the same order.
TYPE_PARAMS = ("storyteller", "story", "part", "photo")
# The columns of a translation record a page of items reads (Item.status, Item.is_done, …).
PAGE_TRANSLATION_FIELDS = ("id", "content_type_id", "object_id", "language", "status", "needs_update", "approved_at")


def _page_translations(count: int, language: str) -> models.QuerySet:
    """The translation records into the language of ``count`` stories' objects, bound at each run, as rows.

    Their storytellers', their own, and their parts' and photos', whatever those parts' status: a record
    of an object the page does not list is never looked up. Each model's content type is bound at each
    run (``storyteller_type``, ``story_type``, ``part_type``, ``photo_type``), so the SQL holds no key of
    this database's. One statement for every page of the same number of stories, where ``_translations``
    builds a condition for every object and compiles it again on each request. A union of one index
    lookup per model: joined by OR in one condition, PostgreSQL reads the whole table to test it.
    """
    keys = [Param(f"story{index}", models.IntegerField()) for index in range(count)]
    stories = Story.objects.filter(id__in=keys)
    objects = (
        stories.values("storyteller_id"),
        stories.values("id"),
        Part.objects.filter(story__id__in=keys).values("id"),
        StoryImage.objects.filter(part__story__id__in=keys).values("id"),
    )
    first, *rest = (
        Translation.objects.filter(
            content_type_id=Param(f"{kind}_type", models.IntegerField()), object_id__in=pks, language=language
        ).values(*PAGE_TRANSLATION_FIELDS)
        for kind, pks in zip(TYPE_PARAMS, objects, strict=True)
    )
    return first.union(*rest, all=True)


PAGE_PARTS = PreparedQuery(_page_parts)
PAGE_PHOTOS = PreparedQuery(_page_photos)
PAGE_TRANSLATIONS = PreparedQuery(_page_translations)


def workable_page(pks: Sequence[int], language: str | None = None) -> dict[int, Story]:
    """Those of these stories (a page of them) translators may work on, by key, each with its storyteller.

    ``workable_stories(pks, language)``, compiled once per process for each number of keys (``archive.prepared``):
    building and compiling its consent subqueries cost a page more than running them. The stories and
    storytellers hold what the workspace shows of them; reading anything else costs a query.
    """
    pks = list(pks)
    if not pks:
        return {}
    rows = PAGE_OF_STORIES(
        shape={"count": len(pks), "language": language}, **{f"story{index}": pk for index, pk in enumerate(pks)}
    )
    found = {}
    for row in rows:
        teller = {
            name[len("storyteller__") :]: value for name, value in row.items() if name.startswith("storyteller__")
        }
        storyteller = loaded(Storyteller, {"id": row["storyteller_id"], **teller})
        story = loaded(Story, {name: value for name, value in row.items() if not name.startswith("storyteller__")})
        story._state.fields_cache["storyteller"] = storyteller
        found[story.pk] = story
    return found


def stories_progress(pks: Sequence[int], language: str) -> list[StoryProgress]:
    """The progress of these stories (a page of them), in the order given, in a constant number of queries.

    Stories that stopped being workable since their keys were listed are left out.
    """
    types = ContentType.objects.get_for_models(*MODELS)  # one query when their ids are not known yet
    stories = workable_page(pks, language)
    # Grouped here rather than by prefetch_related, which builds a queryset for every story and part; and
    # not the texts, which are long: a page shows each item's status only.
    parts_of: dict[int, list[Part]] = {pk: [] for pk in stories}
    keys = {f"story{index}": pk for index, pk in enumerate(stories)}
    shape = {"count": len(keys), "language": language}
    for row in PAGE_PARTS(shape=shape, **keys) if keys else ():
        part = loaded(Part, row)
        part.story = stories[part.story_id]
        parts_of[part.story_id].append(part)
    part_of = {part.pk: part for parts in parts_of.values() for part in parts}
    photos_of: dict[int, list[StoryImage]] = {pk: [] for pk in part_of}
    for row in PAGE_PHOTOS(shape=shape, **keys) if part_of else ():
        photo = loaded(StoryImage, row)
        photo.part = part_of[photo.part_id]
        photos_of[photo.part_id].append(photo)
    ordered = [stories[pk] for pk in pks if pk in stories]
    kinds = {f"{kind}_type": types[model].pk for kind, model in zip(TYPE_PARAMS, MODELS, strict=True)}
    rows = PAGE_TRANSLATIONS(shape=shape, **keys, **kinds) if keys else []
    records = {(row["content_type_id"], row["object_id"]): loaded(Translation, row) for row in rows}
    held_back = held_back_parts(list(part_of.values()), photos_of)
    return [
        StoryProgress(story, language, story_items(story, language, parts_of[story.pk], records, photos_of, held_back))
        for story in ordered
    ]


# --- The whole archive, counted in SQL ------------------------------------------------------------------------

# What an object's translation record says, as SQL computes it: Item.is_done, waiting for review, or
# Item.needs_work (which a missing record is too).
DONE, IN_REVIEW, TO_DO = 2, 1, 0


# How many of the newest stories with work left the overview counts items of (the dashboard lists them).
NEWEST_STORIES = 5


@dataclass(frozen=True)
class StoryCount:
    """One story's items in one language, and how many of them are done."""

    story: int
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(frozen=True)
class LanguageProgress:
    """The whole archive's progress into one language."""

    language: str
    done: int
    total: int
    # Workable stories with any text to translate into the language, newest first, and those of them
    # where a translator has something to do (StoryProgress.needs_work).
    stories: tuple[int, ...]
    todo: tuple[int, ...]
    # The first of those, with their counts.
    newest: tuple[StoryCount, ...]

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(frozen=True)
class Overview:
    """The workspace's view of the whole archive at one moment."""

    languages: dict[str, LanguageProgress]
    # Translations waiting for review, longest waiting first.
    review: tuple[int, ...]


def newest_stories(summary: Overview) -> dict[str, list[tuple[Story, StoryCount]]]:
    """The overview's newest stories with work left, per language, in one query; those still workable only."""
    pks = {count.story for progress in summary.languages.values() for count in progress.newest}
    stories = workable_page(sorted(pks))  # each language's were chosen by measure_overview
    return {
        code: [(stories[count.story], count) for count in progress.newest if count.story in stories]
        for code, progress in summary.languages.items()
    }


def _state(model: type[models.Model], language: str, pk: str, original_language: str) -> Case:
    """The state of the row's object in the language, or NULL where the language is the object's original."""
    record = Translation.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=OuterRef(pk), language=language
    ).annotate(
        state=Case(
            When(approved_at__isnull=False, needs_update=False, then=Value(DONE)),
            When(status=Translation.Status.IN_REVIEW, then=Value(IN_REVIEW)),
            default=Value(TO_DO),
        )
    )
    return Case(
        When(~Q(**{original_language: language}), then=Coalesce(Subquery(record.values("state")[:1]), Value(TO_DO))),
        default=None,
        output_field=IntegerField(),
    )


def measure_overview() -> Overview:
    """Count each language's items and stories with work left, and list what waits for review, in four queries."""
    languages = [code for code, _name in settings.LANGUAGES]
    ContentType.objects.get_for_models(*MODELS)  # one query when their ids are not known yet
    stories = workable_stories()
    # Archived parts are left out through the (status, published_at) index: SQLite keeps a part's status
    # behind its body, and reading it from every row would cost more than all the rest of this.
    archived = Part.objects.filter(status=Part.Status.ARCHIVED).values("pk")
    parts = Part.objects.filter(story__in=stories).exclude(pk__in=archived)
    photos = StoryImage.objects.filter(part__story__in=stories).exclude(part__in=archived)
    # Per story and language: [items, done, to do].
    tally: dict[str, dict[int, list[int]]] = {code: {} for code in languages}

    def add(story: int, code: str, state: int | None, count: int = 1) -> None:
        if state is None:
            return
        counts = tally[code].setdefault(story, [0, 0, 0])
        counts[0] += count
        counts[1] += count if state == DONE else 0
        counts[2] += count if state == TO_DO else 0

    # Parts and photos grouped by story and state: a row per story and state, not per part.
    grouped = [
        (parts, "story_id", Part, "story__original_language"),
        (photos, "part__story_id", StoryImage, "part__story__original_language"),
    ]
    for queryset, story_path, model, original_language in grouped:
        states = {f"state_{code}": _state(model, code, "pk", original_language) for code in languages}
        rows = (
            queryset.annotate(**states)
            .values(story_path, *states)
            .annotate(count=Count("pk"))
            .order_by()
            .values_list(story_path, *states, "count")
        )
        for story, *by_language, count in rows:
            for code, state in zip(languages, by_language, strict=True):
                add(story, code, state, count)

    states = {}
    for code in languages:
        states[f"teller_{code}"] = _state(Storyteller, code, "storyteller_id", "storyteller__original_language")
        states[f"story_{code}"] = _state(Story, code, "pk", "original_language")
        # The storyteller's consent excludes the language: the story is not listed in it (workable_stories).
        states[f"excluded_{code}"] = Case(
            When(storyteller__in=_exclusions(code).values("storyteller_id"), then=Value(True)),
            default=Value(False),
            output_field=models.BooleanField(),
        )
    newest_first = stories.annotate(**states).order_by("-created_at", "-pk").values_list("pk", *states)
    listed: dict[str, list[int]] = {code: [] for code in languages}
    todo: dict[str, list[int]] = {code: [] for code in languages}
    for story, *by_language in newest_first:
        for index, code in enumerate(languages):
            if by_language[3 * index + 2]:
                tally[code].pop(story, None)
                continue
            add(story, code, by_language[3 * index])
            add(story, code, by_language[3 * index + 1])
            counts = tally[code].get(story)
            if counts:
                listed[code].append(story)
                if counts[2]:
                    todo[code].append(story)
    progress = {}
    for code in languages:
        counts = [tally[code][story] for story in listed[code]]
        progress[code] = LanguageProgress(
            language=code,
            done=sum(count[1] for count in counts),
            total=sum(count[0] for count in counts),
            stories=tuple(listed[code]),
            todo=tuple(todo[code]),
            newest=tuple(
                StoryCount(story, tally[code][story][1], tally[code][story][0]) for story in todo[code][:NEWEST_STORIES]
            ),
        )
    # What was sent together with a part waits with it: the part's translation is the one listed.
    review = (
        Translation.objects.filter(status=Translation.Status.IN_REVIEW)
        .exclude(submitted_with__status=Translation.Status.IN_REVIEW)
        .order_by(F("submitted_at").asc(nulls_first=True), "pk")
    )
    return Overview(languages=progress, review=tuple(review.values_list("pk", flat=True)))


# A bound on how long an overview can outlive an invalidation the cache never received.
OVERVIEW_SECONDS = 300


def overview() -> Overview:
    """``measure_overview()``, kept in the cache until the next write to the archive's content.

    Every save or delete of a translation, storyteller, consent record, story, part or photo moves the
    page cache's write counter (``stories.caching.kept_until_next_write``).
    """
    return caching.kept_until_next_write("translations:overview", measure_overview, seconds=OVERVIEW_SECONDS)


def label_items(language: str) -> list[Item]:
    """The labels of campaign letters (countries, groups for every reader, offices) to translate into the language.

    Outside any story: none of them is a storyteller's text. In five queries whatever their number.
    """
    from advocacy.models import Country, Recipient, RecipientGroup

    if language == LABEL_LANGUAGE:
        return []  # written in it first: nothing to translate
    ContentType.objects.get_for_models(Country, RecipientGroup, Recipient)
    objects = [
        *Country.objects.order_by(f"name_{LABEL_LANGUAGE}", "code"),
        *RecipientGroup.objects.order_by("position", "pk"),
        *Recipient.objects.order_by(f"label_{LABEL_LANGUAGE}", "pk"),
    ]
    records = _translations(objects, language, STATUS_FIELDS)
    content_types = {
        model: ContentType.objects.get_for_model(model).pk for model in (Country, RecipientGroup, Recipient)
    }
    return [
        Item(obj, translatable_for(obj), language, records.get((content_types[type(obj)], obj.pk))) for obj in objects
    ]
