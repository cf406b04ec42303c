"""Display text registered with django-modeltranslation.

Only what readers see is translated: addresses, links, dates, statuses and counts are not.
"""

from modeltranslation.translator import TranslationOptions, register

from advocacy.models import (
    Action,
    Campaign,
    Country,
    NewsletterMessages,
    PressMention,
    Recipient,
    RecipientGroup,
)


@register(Country)
class CountryTranslationOptions(TranslationOptions):
    fields = ("name",)


@register(RecipientGroup)
class RecipientGroupTranslationOptions(TranslationOptions):
    fields = ("name",)


@register(Recipient)
class RecipientTranslationOptions(TranslationOptions):
    fields = ("label",)


@register(Campaign)
class CampaignTranslationOptions(TranslationOptions):
    # body_html and not_listed_html are derived from body and not_listed on save, one per language.
    fields = (
        "kicker",
        "title",
        "byline",
        "summary",
        "body",
        "body_html",
        "not_listed",
        "not_listed_html",
        "photo_alt",
        "photo_caption",
        "photo_credit",
    )


@register(Action)
class ActionTranslationOptions(TranslationOptions):
    fields = ("heading", "blurb", "subject_template", "body_template", "post_template", "button_label")


@register(NewsletterMessages)
class NewsletterMessagesTranslationOptions(TranslationOptions):
    fields = ("success_message", "failure_message")


@register(PressMention)
class PressMentionTranslationOptions(TranslationOptions):
    fields = ("alt_text",)
