"""Display text registered with django-modeltranslation.

Only what readers see is translated. Consent, identity and audit fields are never
registered here.
"""

from modeltranslation.translator import TranslationOptions, register

from stories.models import ContentWarning, Part, Story, StoryImage, Storyteller, Theme


@register(Theme)
class ThemeTranslationOptions(TranslationOptions):
    fields = ("name",)


@register(ContentWarning)
class ContentWarningTranslationOptions(TranslationOptions):
    fields = ("label",)


@register(Storyteller)
class StorytellerTranslationOptions(TranslationOptions):
    fields = ("pseudonym", "bio")


@register(Story)
class StoryTranslationOptions(TranslationOptions):
    fields = ("title", "summary")


@register(Part)
class PartTranslationOptions(TranslationOptions):
    # body_html and reading_minutes are derived from body on save, recap_html from recap, one per language.
    fields = ("title", "summary", "body", "body_html", "reading_minutes", "recap", "recap_html")


@register(StoryImage)
class StoryImageTranslationOptions(TranslationOptions):
    # What readers see (or hear read aloud) with a photo; its areas and consent flag are not translated.
    fields = ("alt_text", "caption", "credit")
