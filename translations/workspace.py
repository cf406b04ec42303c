"""What the translator's workspace shows: items to translate per story and language, with progress."""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext as _

from stories.models import Part, Story, StoryImage
from translations.models import Translation
from translations.registry import Translatable, translatable_for


@dataclass
class Item:
    """One object's display text in one target language."""

    obj: models.Model
    entry: Translatable
    language: str
    translation: Translation | None

    @property
    def status(self) -> str:
        return self.translation.status if self.translation else Translation.Status.MISSING

    @property
    def status_label(self) -> str:
        return str(Translation.Status(self.status).label)

    @property
    def needs_update(self) -> bool:
        return bool(self.translation and self.translation.needs_update)

    @property
    def is_done(self) -> bool:
        return bool(self.translation and self.translation.approved_at and not self.translation.needs_update)

    @property
    def needs_work(self) -> bool:
        return not self.is_done and self.status != Translation.Status.IN_REVIEW

    @property
    def label(self) -> str:
        if isinstance(self.obj, Part):
            return _("Part {number}").format(number=self.obj.number)
        if isinstance(self.obj, StoryImage):
            return _("Part {number}, {photo}").format(number=self.obj.part.number, photo=self.obj)
        if isinstance(self.obj, Story):
            return _("Story title and summary")
        return _("Storyteller pseudonym and bio")

    @property
    def model_name(self) -> str:
        return self.obj._meta.model_name


@dataclass
class StoryProgress:
    story: Story
    language: str
    items: list[Item] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(item.is_done for item in self.items)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def _translations(objects: list[models.Model], language: str) -> dict[tuple[int, int], Translation]:
    """Load the translation records of many objects of several models in one query per model."""
    found = {}
    by_model: dict[type, list[int]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj.pk)
    for model, pks in by_model.items():
        content_type = ContentType.objects.get_for_model(model)
        for translation in Translation.objects.filter(content_type=content_type, object_id__in=pks, language=language):
            found[(content_type.pk, translation.object_id)] = translation
    return found


def _objects(story: Story, parts: list[Part], language: str) -> list[models.Model]:
    photos = [photo for part in parts for photo in part.images.all()]
    objects = [story.storyteller, story, *parts, *photos]
    return [obj for obj in objects if translatable_for(obj).original_language(obj) != language]


def story_items(
    story: Story,
    language: str,
    parts: list[Part] | None = None,
    records: dict[tuple[int, int], Translation] | None = None,
) -> list[Item]:
    """Every piece of a story's display text that is translated into the language (not its original)."""
    if parts is None:
        parts = list(story.parts.exclude(status=Part.Status.ARCHIVED).prefetch_related("images").order_by("number"))
    objects = _objects(story, parts, language)
    if records is None:
        records = _translations(objects, language)
    items = []
    for obj in objects:
        content_type = ContentType.objects.get_for_model(obj)
        items.append(Item(obj, translatable_for(obj), language, records.get((content_type.pk, obj.pk))))
    return items


def workable_stories():
    """Stories translators may work on: not archived, and not of a storyteller who withdrew consent.

    A withdrawn story must not leave the archive in a translator's offline file either.
    """
    from stories.models import Storyteller

    return Story.objects.exclude(status=Story.Status.ARCHIVED).exclude(storyteller__in=Storyteller.objects.withdrawn())


def progress(language: str) -> list[StoryProgress]:
    """Progress of every story that is not archived, for one target language."""
    stories = list(
        workable_stories()
        .select_related("storyteller")
        .prefetch_related(
            models.Prefetch("parts", queryset=Part.objects.exclude(status=Part.Status.ARCHIVED)), "parts__images"
        )
        .order_by("-created_at")
    )
    parts_of = {story.pk: sorted(story.parts.all(), key=lambda part: part.number) for story in stories}
    # One query per model for every story's records, so the page does not grow with the archive.
    records = _translations(
        [obj for story in stories for obj in _objects(story, parts_of[story.pk], language)], language
    )
    result = []
    for story in stories:
        items = story_items(story, language, parts_of[story.pk], records)
        if items:
            result.append(StoryProgress(story, language, items))
    return result
