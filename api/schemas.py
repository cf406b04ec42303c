"""The shapes of the API's answers, from which django-ninja writes the OpenAPI document.

Each field is listed here on purpose: a response holds these and nothing else (ninja drops any other
key), so no private column can reach a reader by being added to a model.
"""

import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

LanguageCode = Literal["en", "ko"]


class FieldError(Schema):
    field: str = Field(description="The parameter that was refused.")
    message: str


class Error(Schema):
    code: str = Field(description="A stable code: invalid_request, invalid_cursor, not_found, rate_limited…")
    detail: str = Field(description="What went wrong, in the requested language when it is known.")
    errors: list[FieldError] = []


class Link(Schema):
    url: str = Field(description="The reader's page.")
    api_url: str = Field(description="This object in the API.")


class ThemeRef(Schema):
    slug: str
    name: str


class Theme(ThemeRef):
    language: LanguageCode
    stories_url: str = Field(description="The API list of this theme's stories.")


class ContentWarning(Schema):
    slug: str
    label: str


class Storyteller(Schema):
    language: LanguageCode = Field(description="The language of the pseudonym and bio.")
    pseudonym: str | None = Field(description="The only name readers ever see; null when not written in it.")
    bio: str | None = None


class Rendition(Schema):
    width: int
    height: int
    format: Literal["webp", "jpg"] = Field(description="webp (WebP) or jpg (JPEG).")
    url: str = Field(
        description="The rendition as the site's pages use it; it answers 404 once the photo is not public."
    )


class Photo(Schema):
    language: LanguageCode = Field(description="The language of the alt text, caption and credit; never another.")
    alt_text: str = Field(description="What the photo shows, for readers who cannot see it.")
    caption: str | None
    credit: str | None
    width: int = Field(description="The width of the widest rendition, in pixels.")
    height: int = Field(description="The height of the widest rendition, in pixels.")
    renditions: list[Rendition] = Field(
        description="Copies rebuilt from the photo's pixels alone, by format then width (narrowest first)."
    )


COVER = (
    "The story's cover photo while readers may see it in this language (by the rule the site's pages follow: "
    "a photo of a recognisable person only while the storyteller's consent covers photos, and only with its "
    "alt text written or approved in this language), else null."
)


class Story(Link):
    slug: str
    language: LanguageCode = Field(description="The language of every text of this object; never another.")
    original_language: LanguageCode
    is_translation: bool
    title: str
    summary: str | None
    kind: Literal["serial", "single"] = Field(
        description="A serial in numbered parts, or a single piece (a profile, an essay) of one part, "
        "read at the story's own address."
    )
    is_complete: bool = Field(description="False while more parts are still to come.")
    created_at: datetime.datetime
    published_at: datetime.datetime = Field(description="When its first part became public in this language.")
    storyteller: Storyteller
    themes: list[ThemeRef]
    cover: Photo | None = Field(description=COVER)


class PartRef(Link):
    number: int
    title: str


class PartEntry(PartRef):
    language: LanguageCode
    summary: str | None
    published_at: datetime.datetime
    reading_minutes: int


class StoryRef(Link):
    slug: str
    title: str
    cover: Photo | None = Field(description=COVER)


class PartListEntry(PartEntry):
    story: StoryRef


class StoryDetail(Story):
    content_warnings: list[ContentWarning]
    parts: list[PartEntry] = Field(description="The parts public in this language, in order.")


class PartDetail(PartEntry):
    original_language: LanguageCode
    is_translation: bool
    body_html: str = Field(description="The sanitised body, rendered once when it was saved.")
    story: StoryRef
    storyteller: Storyteller
    content_warnings: list[ContentWarning]
    previous: PartRef | None
    next: PartRef | None
    photos: list[Photo]


class Campaign(Link):
    slug: str
    language: LanguageCode
    kicker: str | None
    title: str
    byline: str | None
    summary: str | None
    date: datetime.date
    starts_on: datetime.date
    ends_on: datetime.date | None
    is_featured: bool


class CampaignDetail(Campaign):
    body_html: str | None = Field(description="The sanitised body, rendered once when it was saved.")
    stories: list[StoryRef] = Field(description="The stories behind the campaign whose tellers agreed to it.")


class Page(Schema):
    language: LanguageCode
    next: str | None = Field(description="The URL of the next page, or null on the last one.")
    next_cursor: str | None


class StoryPage(Page):
    items: list[Story]


class PartPage(Page):
    items: list[PartListEntry]


class ThemePage(Page):
    items: list[Theme]


class CampaignPage(Page):
    items: list[Campaign]
