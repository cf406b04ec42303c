"""The public read API, /api/v1/: what readers may see, as JSON, through the visibility rule.

Every list and detail reads the publication table (``live()``, the materialised ``public()``) or, for
campaigns, ``Campaign.objects.live()``; texts are given in the language asked for or not at all, and
bodies are the HTML stored when they were saved. Nothing here writes. Rate limits, CORS and HTTP
caching (ETag, Last-Modified, 304) are applied around these views by ``api.middleware``.
"""

import datetime
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Path, Query
from ninja.errors import ValidationError as NinjaValidationError

from advocacy.models import Campaign, CampaignStory
from api import cursors, schemas
from archive.i18n import absolute_url
from stories import covers
from stories.models import PartPublication, Story, StoryImage, StoryPublication, Theme
from stories.querysets import themes_with_live_stories
from stories.views import BODY_FIELDS, STORY_ROW_ORDER, valid_slug, without_bodies

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

PART_ROW_ORDER = ("-published_at", "-part_id")
CAMPAIGN_ORDER = ("-priority", "-starts_on", "pk")


class ArchiveApi(NinjaAPI):
    """The API, whose OpenAPI document is built once per process: it follows from the code alone."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None):
        cache = self.__dict__.setdefault("_openapi_documents", {})
        prefix = self.get_root_path(path_params or {}) if path_prefix is None else path_prefix
        if prefix not in cache:
            # Building it takes about 200 ms: once, not on every request.
            cache[prefix] = super().get_openapi_schema(path_prefix=prefix)
        return cache[prefix]


api = ArchiveApi(
    title="Testimony archive: public read API",
    version="1",
    description=(
        "Read-only JSON of the stories, parts, themes and live campaigns readers may see, per language. "
        "See docs/api.md."
    ),
    urls_namespace="api",
    docs_url=None,
    openapi_url="/schema/",
)

ERRORS = {400: schemas.Error, 404: schemas.Error, 429: schemas.Error}


class ApiError(Exception):
    """A request the API refuses, answered as an Error with this status."""

    def __init__(self, status: int, code: str, detail: str, errors: Iterable[dict] = ()) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, list(errors)


@api.exception_handler(ApiError)
def _refused(request: HttpRequest, error: ApiError):
    body = {"code": error.code, "detail": error.detail, "errors": error.errors}
    return api.create_response(request, body, status=error.status)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, error: NinjaValidationError):
    fields = []
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in {"path", "query"}]
        fields.append({"field": ".".join(location) or "request", "message": str(item.get("msg", ""))})
    names = ", ".join(sorted({field["field"] for field in fields}))
    detail = _("These parameters are not valid: {names}.").format(names=names)
    return _refused(request, ApiError(400, "invalid_request", detail, fields))


def not_found(detail: str) -> ApiError:
    return ApiError(404, "not_found", detail)


# --- Links ----------------------------------------------------------------------------------------------


def api_url(name: str, **kwargs) -> str:
    return absolute_url(reverse(f"api:{name}", kwargs=kwargs))


def reader_url(obj: Model, language: str) -> str:
    with translation.override(language):
        return absolute_url(obj.get_absolute_url())


def text(obj: Model, field: str, language: str) -> str | None:
    """The field's text in the language itself, or None: never another language's."""
    return getattr(obj, f"{field}_{language}") or None


# --- Pages ----------------------------------------------------------------------------------------------


def page(
    request: HttpRequest,
    rows: QuerySet,
    *,
    order: tuple[str, ...],
    kinds: tuple[type, ...],
    cursor: str | None,
    limit: int,
    language: str,
    item: Callable,
    params: dict | None = None,
) -> dict:
    """One page of ``rows`` in ``order``, starting after the cursor's key, with the link to the next."""
    if cursor is not None:
        try:
            key = cursors.decode(cursor, kinds)
        except cursors.InvalidCursor as error:
            raise ApiError(
                400,
                "invalid_cursor",
                _("This cursor is not one this list gave out. Start again from the first page."),
                [{"field": "cursor", "message": _("Not a cursor of this list.")}],
            ) from error
        rows = rows.filter(cursors.after(order, key))
    found = list(rows.order_by(*order)[: limit + 1])
    shown = found[:limit]
    next_cursor = next_url = None
    if len(found) > limit:
        last = shown[-1]
        next_cursor = cursors.encode(tuple(getattr(last, name.lstrip("-")) for name in order))
        query = {**(params or {}), "limit": limit, "cursor": next_cursor}
        next_url = absolute_url(request.path) + "?" + urlencode(query)
    return {
        "language": language,
        "items": [item(row) for row in shown],
        "next": next_url,
        "next_cursor": next_cursor,
    }


PageSize = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1 to 100.")
Cursor = Query(None, max_length=cursors.MAX_CURSOR_LENGTH, description="The next_cursor of the page before.")


# --- Stories --------------------------------------------------------------------------------------------


def storyteller_data(story: Story, language: str, *, bio: bool = False) -> dict:
    teller = story.storyteller
    data = {"language": language, "pseudonym": text(teller, "pseudonym", language)}
    if bio:
        data["bio"] = text(teller, "bio", language)
    return data


def theme_ref(theme: Theme, language: str) -> dict:
    return {"slug": theme.slug, "name": getattr(theme, f"name_{language}")}


def story_data(row: StoryPublication, language: str, themes: Iterable[Theme]) -> dict:
    story = row.story
    return {
        "slug": story.slug,
        "language": language,
        "original_language": story.original_language,
        "is_translation": story.original_language != language,
        "title": getattr(story, f"title_{language}"),
        "summary": text(story, "summary", language),
        "kind": story.kind,
        "is_complete": story.is_complete,
        "created_at": story.created_at,
        "published_at": row.published_at,
        "storyteller": storyteller_data(story, language),
        "themes": [theme_ref(theme, language) for theme in themes],
        "cover": cover_data(story, language),
        "url": reader_url(story, language),
        "api_url": api_url("story", language=language, slug=story.slug),
    }


def story_ref(story: Story, language: str) -> dict:
    return {
        "slug": story.slug,
        "title": getattr(story, f"title_{language}"),
        "cover": cover_data(story, language),
        "url": reader_url(story, language),
        "api_url": api_url("story", language=language, slug=story.slug),
    }


@api.get("/{language}/stories/", response={200: schemas.StoryPage, **ERRORS}, url_name="stories", tags=["stories"])
def stories(
    request: HttpRequest,
    language: schemas.LanguageCode,
    theme: str | None = Query(None, max_length=80, description="Only the stories of the theme with this slug."),
    cursor: str | None = Cursor,
    limit: int = PageSize,
):
    """The stories public in the language, newest story first."""
    with translation.override(language):
        rows = StoryPublication.objects.live(language)
        params = {}
        if theme is not None:
            found = themes_with_live_stories(language).filter(slug=theme).first() if valid_slug(theme) else None
            if found is None:
                raise not_found(_("No theme with this slug has stories in this language."))
            rows = rows.filter(story__themes=found)
            params["theme"] = found.slug
        rows = covers.with_covers(rows, "story__", language)
        rows = rows.select_related("story__storyteller").prefetch_related("story__themes")
        return page(
            request,
            rows,
            order=STORY_ROW_ORDER,
            kinds=(datetime.datetime, int),
            cursor=cursor,
            limit=limit,
            language=language,
            params=params,
            item=lambda row: story_data(shown_cover(row), language, row.story.themes.all()),
        )


def live_story(language: str, slug: str) -> StoryPublication:
    rows = StoryPublication.objects.live(language).filter(story__slug=slug).select_related("story__storyteller")
    row = covers.with_covers(rows, "story__", language).first() if valid_slug(slug) else None
    if row is None:
        raise not_found(_("No story with this address is public in this language."))
    return shown_cover(row)


def part_entry(row: PartPublication, language: str) -> dict:
    part = row.part
    return {
        "number": row.number,
        "title": getattr(part, f"title_{language}"),
        "language": language,
        "summary": text(part, "summary", language),
        "published_at": row.published_at,
        "reading_minutes": getattr(part, f"reading_minutes_{language}") or 0,
        "url": reader_url(part, language),
        "api_url": api_url("part", language=language, slug=part.story.slug, number=row.number),
    }


def content_warnings(story: Story, language: str) -> list[dict]:
    return [
        {"slug": warning.slug, "label": getattr(warning, f"label_{language}")}
        for warning in story.content_warnings.all()
    ]


@api.get(
    "/{language}/stories/{slug}/", response={200: schemas.StoryDetail, **ERRORS}, url_name="story", tags=["stories"]
)
def story(request: HttpRequest, language: schemas.LanguageCode, slug: str):
    """A story public in the language, with its parts public in it."""
    with translation.override(language):
        row = live_story(language, slug)
        story = row.story
        parts = without_bodies(
            PartPublication.objects.live(language).filter(story_id=story.pk).select_related("part"), prefix="part__"
        ).order_by("number")
        entries = []
        for part_row in parts:
            part_row.part.story = story
            entries.append(part_entry(part_row, language))
        data = story_data(row, language, story.themes.all())
        data["storyteller"] = storyteller_data(story, language, bio=True)
        data["content_warnings"] = content_warnings(story, language)
        data["parts"] = entries
        return data


# --- Parts ----------------------------------------------------------------------------------------------


def part_list_entry(row: PartPublication, language: str) -> dict:
    return {**part_entry(row, language), "story": story_ref(row.part.story, language)}


@api.get("/{language}/parts/", response={200: schemas.PartPage, **ERRORS}, url_name="parts", tags=["parts"])
def parts(request: HttpRequest, language: schemas.LanguageCode, cursor: str | None = Cursor, limit: int = PageSize):
    """The parts public in the language, newest first (without their bodies)."""
    with translation.override(language):
        rows = without_bodies(PartPublication.objects.live(language).select_related("part__story"), prefix="part__")
        rows = covers.with_covers(rows, "part__story__", language)
        return page(
            request,
            rows,
            order=PART_ROW_ORDER,
            kinds=(datetime.datetime, int),
            cursor=cursor,
            limit=limit,
            language=language,
            item=lambda row: part_list_entry(shown_cover(row, covers.part_story), language),
        )


def photo_data(image: StoryImage, language: str) -> dict:
    """A cleaned photo: its renditions' URLs, never the upload, its areas or the stored file names."""
    items = sorted(image.rendition_items, key=lambda item: (item["extension"], item["width"]))
    return {
        "language": language,
        "alt_text": getattr(image, f"alt_text_{language}"),
        "caption": text(image, "caption", language),
        "credit": text(image, "credit", language),
        "width": image.width,
        "height": image.height,
        "renditions": [
            {
                "width": item["width"],
                "height": item["height"],
                "format": item["extension"],
                "url": absolute_url(image.rendition_url(item)),
            }
            for item in items
        ],
    }


def shown_cover(row, story_of: Callable = lambda row: row.story):
    """The row, its story given the cover readers may see (``covers.show_cover``, the pages' rule), or None.

    The row comes from a ``covers.with_covers`` queryset: the cover is joined and checked in the same query.
    """
    covers.show_cover(story_of(row), row.cover_is_live)
    return row


def cover_data(story: Story, language: str) -> dict | None:
    """The story's cover as the pages show it in the language, or None while readers may not see it."""
    cover = story.shown_cover
    return photo_data(cover, language) if cover is not None else None


@api.get(
    "/{language}/stories/{slug}/parts/{int:number}/",
    response={200: schemas.PartDetail, **ERRORS},
    url_name="part",
    tags=["parts"],
)
def part(
    request: HttpRequest,
    language: schemas.LanguageCode,
    slug: str,
    number: int = Path(..., ge=1, le=32767, description="The part's number in its story."),
):
    """A part public in the language, with its body."""
    with translation.override(language):
        shown_body = f"body_html_{language}"
        rows = (
            PartPublication.objects.live(language)
            .filter(story__slug=slug, number=number)
            .select_related("part__story__storyteller")
            .defer(*(f"part__{field}" for field in BODY_FIELDS if field != shown_body))
        )
        row = covers.with_covers(rows, "part__story__", language).first() if valid_slug(slug) else None
        if row is None:
            raise not_found(_("No part with this address is public in this language."))
        part, story = row.part, shown_cover(row, covers.part_story).part.story
        siblings = list(
            PartPublication.objects.live(language)
            .filter(story_id=story.pk)
            .order_by("number")
            .values_list("number", f"part__title_{language}")
        )

        def ref(entry: tuple[int, str] | None) -> dict | None:
            if entry is None:
                return None
            with translation.override(language):
                url = absolute_url(reverse("stories:part", kwargs={"slug": story.slug, "number": entry[0]}))
            return {
                "number": entry[0],
                "title": entry[1],
                "url": url,
                "api_url": api_url("part", language=language, slug=story.slug, number=entry[0]),
            }

        earlier = [entry for entry in siblings if entry[0] < number]
        later = [entry for entry in siblings if entry[0] > number]
        photos = (
            list(StoryImage.objects.live(language).filter(part_id=part.pk).order_by("position", "pk"))
            if row.image_count
            else []
        )
        return {
            **part_entry(row, language),
            "original_language": story.original_language,
            "is_translation": story.original_language != language,
            "body_html": getattr(part, shown_body),
            "story": story_ref(story, language),
            "storyteller": storyteller_data(story, language),
            "content_warnings": content_warnings(story, language),
            "previous": ref(earlier[-1] if earlier else None),
            "next": ref(later[0] if later else None),
            "photos": [photo_data(image, language) for image in photos],
        }


# --- Themes ---------------------------------------------------------------------------------------------


@api.get("/{language}/themes/", response={200: schemas.ThemePage, **ERRORS}, url_name="themes", tags=["themes"])
def themes(request: HttpRequest, language: schemas.LanguageCode, cursor: str | None = Cursor, limit: int = PageSize):
    """The themes that have stories public in the language, by slug."""
    with translation.override(language):
        return page(
            request,
            themes_with_live_stories(language),
            order=("slug",),
            kinds=(str,),
            cursor=cursor,
            limit=limit,
            language=language,
            item=lambda theme: {
                **theme_ref(theme, language),
                "language": language,
                "stories_url": api_url("stories", language=language) + "?" + urlencode({"theme": theme.slug}),
            },
        )


# --- Campaigns ------------------------------------------------------------------------------------------


def campaign_data(campaign: Campaign, language: str) -> dict:
    return {
        "slug": campaign.slug,
        "language": language,
        "kicker": text(campaign, "kicker", language),
        "title": getattr(campaign, f"title_{language}"),
        "byline": text(campaign, "byline", language),
        "summary": text(campaign, "summary", language),
        "date": campaign.date,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "is_featured": campaign.is_featured,
        "url": reader_url(campaign, language),
        "api_url": api_url("campaign", language=language, slug=campaign.slug),
    }


# A list of campaigns never shows a body: these columns stay in the database.
CAMPAIGN_LIST_DEFERRED = tuple(
    f"{field}_{code}" for field in ("body", "body_html") for code, _name in settings.LANGUAGES
) + ("body", "body_html")


@api.get(
    "/{language}/campaigns/", response={200: schemas.CampaignPage, **ERRORS}, url_name="campaigns", tags=["campaigns"]
)
def campaigns(request: HttpRequest, language: schemas.LanguageCode, cursor: str | None = Cursor, limit: int = PageSize):
    """The campaigns live in the language, highest priority first."""
    with translation.override(language):
        return page(
            request,
            Campaign.objects.live(language).defer(*CAMPAIGN_LIST_DEFERRED),
            order=CAMPAIGN_ORDER,
            kinds=(int, datetime.date, int),
            cursor=cursor,
            limit=limit,
            language=language,
            item=lambda campaign: campaign_data(campaign, language),
        )


@api.get(
    "/{language}/campaigns/{slug}/",
    response={200: schemas.CampaignDetail, **ERRORS},
    url_name="campaign",
    tags=["campaigns"],
)
def campaign(request: HttpRequest, language: schemas.LanguageCode, slug: str):
    """A campaign live in the language, with the stories behind it that its readers may see."""
    with translation.override(language):
        found = Campaign.objects.live(language).filter(slug=slug).first() if valid_slug(slug) else None
        if found is None:
            raise not_found(_("No campaign with this address is live in this language."))
        # As on the campaign's page: only stories whose tellers agreed to their use in campaigns.
        for_advocacy = Story.objects.live_for_advocacy(language).filter(pk=OuterRef("story_id"))
        links = covers.with_covers(
            CampaignStory.objects.filter(Exists(for_advocacy), campaign=found)
            .select_related("story")
            .order_by("position", "story_id"),
            "story__",
            language,
        )
        return {
            **campaign_data(found, language),
            "body_html": text(found, "body_html", language),
            "stories": [story_ref(shown_cover(link).story, language) for link in links],
        }
