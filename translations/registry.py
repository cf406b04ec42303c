"""Which display text is translated with a review workflow, and what each object's original language is."""

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

# The language labels of campaign letters (countries, groups, offices) are written in first: the editor's
# text in it is enough to save them; every other language comes through the review workflow.
LABEL_LANGUAGE = settings.LANGUAGE_CODE


@dataclass(frozen=True)
class Translatable:
    """One model whose display text goes through the translation workflow."""

    label: str  # "app_label.model_name"
    fields: tuple[str, ...]
    # Dotted path from the object to the field holding its original language, or "" for LABEL_LANGUAGE.
    original_language_path: str

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def original_language(self, obj: models.Model) -> str:
        if not self.original_language_path:
            return LABEL_LANGUAGE
        value = obj
        for attribute in self.original_language_path.split("."):
            value = getattr(value, attribute)
        return value

    def original_text(self, obj: models.Model) -> dict[str, str]:
        """Return the original-language text of every translated field."""
        language = self.original_language(obj)
        return {field: getattr(obj, f"{field}_{language}") or "" for field in self.fields}

    def text_in(self, obj: models.Model, language: str) -> dict[str, str]:
        return {field: getattr(obj, f"{field}_{language}") or "" for field in self.fields}

    def field_label(self, field: str) -> str:
        """The field's name for people, in the active language ("Title", "본문")."""
        return capfirst(self.model._meta.get_field(field).verbose_name)


REGISTRY: dict[str, Translatable] = {
    "stories.storyteller": Translatable("stories.storyteller", ("pseudonym", "bio"), "original_language"),
    "stories.story": Translatable("stories.story", ("title", "summary"), "original_language"),
    "stories.part": Translatable("stories.part", ("title", "summary", "body", "recap"), "story.original_language"),
    "stories.storyimage": Translatable(
        "stories.storyimage", ("alt_text", "caption", "credit"), "part.story.original_language"
    ),
    # The labels of campaign letters: readers of another language see them once a translation is approved.
    "advocacy.country": Translatable("advocacy.country", ("name",), ""),
    "advocacy.recipientgroup": Translatable("advocacy.recipientgroup", ("name",), ""),
    "advocacy.recipient": Translatable("advocacy.recipient", ("label",), ""),
}
# The models of campaign letters' labels, translated outside any story.
LABEL_MODELS = ("advocacy.country", "advocacy.recipientgroup", "advocacy.recipient")


def translatable_for(obj_or_model) -> Translatable:
    """Return the registry entry for an object or model, or raise KeyError."""
    return REGISTRY[obj_or_model._meta.label_lower]


def require_original_label(obj: models.Model, field: str) -> None:
    """A label of a campaign letter needs its text in LABEL_LANGUAGE; other languages come through review."""
    if not (getattr(obj, f"{field}_{LABEL_LANGUAGE}", "") or "").strip():
        language = dict(settings.LANGUAGES)[LABEL_LANGUAGE]
        raise ValidationError(
            {
                f"{field}_{LABEL_LANGUAGE}": _(
                    "Write this in {language}. The other languages are translated and approved in the "
                    "translation workspace; until then their readers are told it is not yet in their language."
                ).format(language=language)
            }
        )
