"""The reading site: every query for readers goes through the public() querysets."""

import dataclasses
import json
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    Func,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Star
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, get_conditional_response
from django.utils.http import quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from django.views.generic import ListView, TemplateView, View

from advocacy.querysets import beside_story_run
from advocacy.services import press_strip, press_strip_run
from archive.i18n import absolute_url, around_key, hreflang_links, language_links
from archive.prepared import (
    Param,
    PreparedQuery,
    Run,
    clock_values,
    loaded,
    now_param,
    planned_each_time,
    run_together,
    today_param,
)
from archive.storage import StorageUnavailable, open_stored
from stories import covers, images
from stories.models import (
    ConsentEvidence,
    ContentWarning,
    Part,
    PartPublication,
    Story,
    StoryImage,
    StoryPublication,
    Storyteller,
    Theme,
    private_storage,
)
from stories.querysets import LANGUAGE_SCOPES, live_window
from stories.related import related_stories, related_stories_run
from stories.templatetags.typography import part_heading


def valid_slug(value: str) -> str:
    """Return the slug, or "" when it is not one, so that nothing else reaches the database."""
    try:
        validate_slug(value)
    except ValidationError:
        return ""
    return value


HOME_PART_COUNT = 6
HOME_STORY_COUNT = 6
ELSEWHERE_STORY_COUNT = 12

# A table of contents or a list never shows a body: these columns stay in the database.
BODY_FIELDS = tuple(f"{field}_{code}" for field in ("body", "body_html") for code, _name in settings.LANGUAGES) + (
    "body",
    "body_html",
)


def without_bodies(queryset: QuerySet, prefix: str = "") -> QuerySet:
    return queryset.defer(*(f"{prefix}{field}" for field in BODY_FIELDS))


def language_name(code: str) -> str:
    return dict(settings.LANGUAGES)[code]


def mark_available(obj: Model, code: str) -> Model:
    """Tag an object with the language a reader can read it in, for lists that show it marked."""
    obj.available_language = code
    obj.available_language_name = language_name(code)
    return obj


def only_in_other_languages(
    model: type[Model], refine: Callable[[QuerySet], QuerySet] = lambda queryset: queryset, *, limit: int | None = None
) -> list[Model]:
    """Return objects whose translation into the reader's language is missing, each tagged with a language
    it can be read in. Lists mark these instead of showing another language's text under the reader's label.
    """
    current = translation.get_language()
    found: dict[int, Model] = {}
    for code, _name in settings.LANGUAGES:
        queryset = refine(model.objects.live_awaiting_translation(current, available_in=code))
        if limit is not None:
            queryset = queryset[:limit]
        for obj in queryset:
            if obj.pk not in found:
                found[obj.pk] = mark_available(obj, code)
    return list(found.values())


def not_in_this_language(request: HttpRequest, model: type[Model], message: str, **lookup) -> HttpResponse:
    """Tell a reader a page is not translated into their language yet, with links to the versions that exist.

    Anything hidden from their language for another reason answers the plain 404.
    """
    current = translation.get_language()
    versions = []
    refine = (lambda queryset: queryset.filter(**lookup).select_related("story")) if model is Part else None
    for obj in only_in_other_languages(model, refine or (lambda queryset: queryset.filter(**lookup))):
        with translation.override(obj.available_language):
            versions.append(
                {
                    "code": obj.available_language,
                    "name": obj.available_language_name,
                    "url": obj.get_absolute_url(),
                    "title": str(obj),
                }
            )
    if not versions:
        raise Http404
    context = {
        "versions": versions,
        "message": message.format(language=language_name(current)),
        "current_language_name": language_name(current),
        "language_links": language_links(request, {version["code"]: version["url"] for version in versions}),
    }
    return render(request, "stories/not_in_language.html", context, status=404)


def urls_in(obj: Model, codes: Iterable[str]) -> dict[str, str]:
    """Map each language to the object's URL in that language."""
    urls = {}
    for code, _name in settings.LANGUAGES:
        if code in codes:
            with translation.override(code):
                urls[code] = obj.get_absolute_url()
    return urls


def alternates(request: HttpRequest, urls: dict[str, str], canonical: str) -> dict:
    """Context for a page's canonical URL, hreflang alternates and language switcher."""
    return {
        "canonical_url": absolute_url(canonical),
        "hreflang_links": hreflang_links(urls),
        "language_links": language_links(request, urls),
    }


class EveryLanguageMixin:
    """A page that exists in every language (home, the story index): alternates to each of them."""

    url_name = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        urls = {}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                urls[code] = reverse(self.url_name)
        context.update(alternates(self.request, urls, reverse(self.url_name)))
        return context


def _elsewhere(model: type[Model], language: str, available_in: str) -> QuerySet:
    """Live rows in ``available_in`` of what is not yet live in ``language``: newest first, in a prepared query."""
    return model.objects.awaiting_translation(
        language,
        available_in=available_in,
        now=now_param(),
        today=today_param(),
    )


ELSEWHERE_PARTS = PreparedQuery(
    lambda language, available_in, limit: (
        _elsewhere(PartPublication, language, available_in)
        .order_by("-published_at")
        .values(
            "part_id",
            "story_id",
            "number",
            "part__published_at",
            f"part__title_{available_in}",
            # The feed's entry shows it (marked with its language): loaded here, not one query an entry.
            f"part__summary_{available_in}",
            "story__slug",
            "story__kind",
            f"story__title_{available_in}",
        )[:limit]
    )
)


def _fields(row: dict, prefix: str) -> dict:
    """The columns of a prepared row under ``prefix``, named as the model's attributes."""
    return {name[len(prefix) :]: value for name, value in row.items() if name.startswith(prefix)}


def _other_languages() -> list[str]:
    current = translation.get_language()
    return [code for code, _name in settings.LANGUAGES if code != current]


def newest_parts_elsewhere_runs(limit: int) -> list[Run]:
    """The queries ``newest_parts_elsewhere`` reads, one for each other language, for a page that sends them
    with others (``run_together``)."""
    current = translation.get_language()
    return [
        ELSEWHERE_PARTS.run(shape={"language": current, "available_in": code, "limit": limit}, **clock_values())
        for code in _other_languages()
    ]


def newest_parts_elsewhere(limit: int, *, rows: list[list[dict]] | None = None) -> list[Part]:
    """The newest parts readers of this language are told exist only in another, each marked with it.

    Taken from the publication-time index, newest first, instead of sorting every part. ``rows`` are
    those of ``newest_parts_elsewhere_runs``, when the page has read them already.
    """
    if rows is None:
        rows = [run.rows() for run in newest_parts_elsewhere_runs(limit)]
    found: dict[int, Part] = {}
    for code, read in zip(_other_languages(), rows, strict=True):
        for row in read:
            story = loaded(Story, {"id": row["story_id"], **_fields(row, "story__")})
            part = loaded(
                Part, {"id": row["part_id"], "story_id": story.pk, "number": row["number"], **_fields(row, "part__")}
            )
            part._state.fields_cache["story"] = story
            found.setdefault(part.pk, mark_available(part, code))
    return sorted(found.values(), key=lambda part: (part.published_at, part.pk), reverse=True)[:limit]


# Lists of stories, newest story first: the order of the publication table's newest-story index.
STORY_ROW_ORDER = ("-story_created_at", "-story_id")


ELSEWHERE_STORIES = PreparedQuery(
    lambda language, available_in, limit: (
        _elsewhere(StoryPublication, language, available_in)
        .order_by(*STORY_ROW_ORDER)
        .values("story_id", "story__slug", "story__created_at", f"story__title_{available_in}")[:limit]
    )
)


def newest_stories_elsewhere(limit: int) -> list[Story]:
    """The newest stories readers of this language are told exist only in another, each marked with it."""
    current = translation.get_language()
    found: dict[int, Story] = {}
    for code, _name in settings.LANGUAGES:
        if code == current:
            continue
        shape = {"language": current, "available_in": code, "limit": limit}
        for row in ELSEWHERE_STORIES(shape=shape, **clock_values()):
            story = loaded(Story, {"id": row["story_id"], **_fields(row, "story__")})
            found.setdefault(story.pk, mark_available(story, code))
    return sorted(found.values(), key=lambda story: (story.created_at, story.pk), reverse=True)[:limit]


def live_part_rows(queryset: QuerySet, language: str) -> QuerySet:
    """Live publication rows of the language with their parts and stories, newest first, without bodies."""
    return without_bodies(
        queryset.filter(live_window("", language)).select_related("part__story").order_by("-published_at"),
        prefix="part__",
    )


def _newest_parts_query(language: str, limit: int) -> QuerySet:
    """The newest live parts of the language with their stories and covers (home page, feed): a prepared query."""
    now, today = now_param(), today_param()
    codes = [code for code, _name in settings.LANGUAGES]
    return (
        PartPublication.objects.filter(live_window("", language, now, today=today))
        .annotate(cover_is_live=covers.cover_is_live("story__", language, now, today=today))
        .order_by("-published_at")
        .values(
            "part_id",
            "story_id",
            "number",
            "part__published_at",
            *(f"part__{field}_{code}" for field in ("title", "summary") for code in codes),
            "story__slug",
            "story__kind",
            "story__storyteller_id",
            *(f"story__title_{code}" for code in codes),
            "story__cover_id",
            "cover_is_live",
            *(f"story__cover__{field}" for field in covers.cover_fields(language)),
        )[:limit]
    )


def _story_cards_query(language: str, featured: bool, limit: int) -> QuerySet:
    """Live stories of the language for cards, newest first, with their tellers and covers: a prepared query.

    ``featured``: the stories an editor featured, else the serials still in progress.
    """
    rows = StoryPublication.objects.all()
    if featured:
        # The flag looked up row by row down the newest-first index, not joined: a prepared statement's generic
        # plan, made without the window's dates, read every story for it (12 ms instead of 0.2 at 100,000 parts).
        is_featured = Subquery(Story.objects.filter(pk=OuterRef("story_id")).values("is_featured")[:1])
        rows = rows.alias(is_featured=is_featured).filter(is_featured=True)
    else:
        rows = rows.filter(story__is_complete=False, story__kind=Story.Kind.SERIAL)
    return _story_card_rows(rows, language)[:limit]


def _story_page_query(language: str, size: int) -> QuerySet:
    """The live story rows of a page of the index, named by ``size`` ids (``id0``, ``id1``, ...): a prepared query."""
    ids = [Param(f"id{index}", IntegerField()) for index in range(size)]
    return _story_card_rows(StoryPublication.objects.filter(pk__in=ids), language)


def _story_card_rows(rows: QuerySet, language: str) -> QuerySet:
    """Those of the publication rows that are live in the language, newest story first, as a story card reads them."""
    now, today = now_param(), today_param()
    codes = [code for code, _name in settings.LANGUAGES]
    return (
        rows.filter(live_window("", language, now, today=today))
        .annotate(cover_is_live=covers.cover_is_live("story__", language, now, today=today))
        .order_by(*STORY_ROW_ORDER)
        .values(
            "story_id",
            "story__slug",
            "story__kind",
            "story__is_complete",
            "story__storyteller_id",
            *(f"story__{field}_{code}" for field in ("title", "summary") for code in codes),
            *(f"story__storyteller__pseudonym_{code}" for code in codes),
            "story__cover_id",
            "cover_is_live",
            *(f"story__cover__{field}" for field in covers.cover_fields(language)),
        )
    )


NEWEST_PARTS = PreparedQuery(_newest_parts_query)
STORY_CARDS = PreparedQuery(_story_cards_query)
STORY_PAGE = PreparedQuery(_story_page_query)


def _story_of(row: dict, language: str) -> Story:
    """The story of a prepared row: its ``story__`` columns, its teller's when the row has them, its cover."""
    story = loaded(
        Story,
        {"id": row["story_id"], **{name: value for name, value in _fields(row, "story__").items() if "__" not in name}},
    )
    teller = _fields(row, "story__storyteller__")
    if teller:
        story._state.fields_cache["storyteller"] = loaded(Storyteller, {"id": story.storyteller_id, **teller})
    story.shown_cover = covers.loaded_cover(row, language)
    return story


def newest_parts_run(language: str, limit: int) -> Run:
    """The query ``newest_parts`` reads, for a page that sends it with others (``run_together``)."""
    return NEWEST_PARTS.run(shape={"language": language, "limit": limit}, **clock_values())


def newest_parts(language: str, limit: int, *, rows: list[dict] | None = None) -> list[Part]:
    """The newest live parts of the language, newest first, each with its story and the story's cover.

    ``rows`` are those of ``newest_parts_run``, when the page has read them already.
    """
    if rows is None:
        rows = newest_parts_run(language, limit).rows()
    found = []
    for row in rows:
        part = loaded(
            Part, {"id": row["part_id"], "story_id": row["story_id"], "number": row["number"], **_fields(row, "part__")}
        )
        part._state.fields_cache["story"] = _story_of(row, language)
        found.append(part)
    return found


def story_cards_run(language: str, *, featured: bool, limit: int) -> Run:
    """The query of the story cards (``_story_cards_query``), for a page that sends it with others."""
    return STORY_CARDS.run(shape={"language": language, "featured": featured, "limit": limit}, **clock_values())


def story_cards(rows: list[dict], language: str) -> list[Story]:
    """The stories of the rows of ``story_cards_run``, each with its teller and cover."""
    return [_story_of(row, language) for row in rows]


class HomeView(EveryLanguageMixin, TemplateView):
    """The home page, in five prepared, indexed queries whatever the size of the archive, sent together."""

    template_name = "stories/home.html"
    url_name = "stories:home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        current = translation.get_language()
        # None of the page's queries needs another's rows: one wait for the database.
        newest, featured, in_progress, press, *elsewhere = run_together(
            newest_parts_run(current, HOME_PART_COUNT),
            story_cards_run(current, featured=True, limit=1),
            # One more than is shown: the featured story, shown on its own, may be among them.
            story_cards_run(current, featured=False, limit=HOME_STORY_COUNT + 1),
            press_strip_run(),
            *newest_parts_elsewhere_runs(HOME_PART_COUNT),
        )
        context["newest_parts"] = newest_parts(current, HOME_PART_COUNT, rows=newest)
        featured = next(iter(story_cards(featured, current)), None)
        context["featured_story"] = featured
        context["stories_in_progress"] = [
            story for story in story_cards(in_progress, current) if featured is None or story.pk != featured.pk
        ][:HOME_STORY_COUNT]
        context["elsewhere_parts"] = newest_parts_elsewhere(HOME_PART_COUNT, rows=elsewhere)
        context["press_mentions"] = press_strip(rows=press)
        return context


def _live_stories(language: str, theme: bool, *, unseen: bool = True) -> QuerySet:
    """The live story rows of the language, of the theme bound as ``theme`` when asked: the index's list.

    The count and a page's keys see the clock (``now_param``): their plans follow its value.
    """
    now, today = now_param(unseen=unseen), today_param(unseen=unseen)
    rows = StoryPublication.objects.filter(live_window("", language, now, today=today))
    return rows.filter(story__themes=Param("theme", IntegerField())) if theme else rows


def _themes_query(language: str) -> QuerySet:
    """Themes with a live story in the language, by slug: a prepared query.

    For each theme, its stories until the first live one (a scalar subquery with LIMIT 1, which every database
    runs as a short nested loop of probes).
    """
    live = _live_stories(language, theme=False).filter(story_id=OuterRef("story_id"))
    first_live = Story.themes.through.objects.filter(Exists(live), theme_id=OuterRef("pk")).values("story_id")[:1]
    codes = [code for code, _name in settings.LANGUAGES]
    return (
        Theme.objects.alias(first_live=Subquery(first_live))
        .filter(first_live__isnull=False)
        .order_by("slug")
        .values("id", "slug", *(f"name_{code}" for code in codes))
    )


LIVE_THEMES = PreparedQuery(_themes_query)
# The index's count, and the keys of one page's rows (limit and offset bound at each run).
LIVE_STORY_COUNT = PreparedQuery(
    lambda language, theme: (
        _live_stories(language, theme, unseen=False)
        .order_by()
        .values(count=Func(Star(), function="COUNT", output_field=IntegerField()))
    )
)
LIVE_STORY_KEYS = PreparedQuery(
    lambda language, theme: _live_stories(language, theme, unseen=False).order_by(*STORY_ROW_ORDER).values("id"),
    paged=True,
)


class LiveStories:
    """The index's live story rows for Django's paginator: counted, and sliced a page at a time, by key."""

    def __init__(self, language: str, theme: Theme | None) -> None:
        self.shape = {"language": language, "theme": theme is not None}
        # One moment for the count and the page, as one QuerySet had: a part coming due between them
        # would otherwise make the page disagree with the count.
        self.params = {**({"theme": theme.pk} if theme is not None else {}), **clock_values()}

    def count(self) -> int:
        return LIVE_STORY_COUNT(shape=self.shape, **self.params)[0]["count"]

    def __getitem__(self, page: slice) -> list[int]:
        start, stop = page.start or 0, page.stop
        if stop <= start:
            return []  # an empty archive's only page
        # Planned for its own limit and offset: a generic plan, which knows neither (and takes the window to
        # hold a third of the rows, not nearly all), sorts every row rather than walk the index: 2.9 ms, not 1.6.
        with planned_each_time():
            rows = LIVE_STORY_KEYS(shape=self.shape, limit=stop - start, offset=start, **self.params)
        return [row["id"] for row in rows]


class StoryListView(EveryLanguageMixin, ListView):
    """The story index, in five prepared, indexed queries whatever the page or the size of the archive
    (docs/read-path.md)."""

    template_name = "stories/story_list.html"
    url_name = "stories:index"
    context_object_name = "stories"
    paginate_by = settings.STORIES_PAGE_SIZE

    def get_queryset(self):
        current = translation.get_language()
        self.themes = [loaded(Theme, row) for row in LIVE_THEMES(shape={"language": current}, **clock_values())]
        self.theme = None
        theme_slug = self.request.GET.get("theme")
        if theme_slug:
            self.theme = next((theme for theme in self.themes if theme.slug == theme_slug), None)
            if self.theme is None:
                raise Http404
        return LiveStories(current, self.theme)

    def paginate_queryset(self, queryset, page_size):
        # The paginator counts, and slices out the keys of the page's rows; their stories come in one query.
        paginator, page, ids, is_paginated = super().paginate_queryset(queryset, page_size)
        language = translation.get_language()
        shape = {"language": language, "size": len(ids)}
        params = {f"id{index}": pk for index, pk in enumerate(ids)}
        found = STORY_PAGE(shape=shape, **params, **clock_values()) if ids else []
        page.object_list = [_story_of(row, language) for row in found]
        return paginator, page, page.object_list, is_paginated

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["themes"] = self.themes
        context["current_theme"] = self.theme
        if self.theme is None:
            context["elsewhere_stories"] = newest_stories_elsewhere(ELSEWHERE_STORY_COUNT)
        return context


@dataclasses.dataclass
class Serial:
    """What a story's live publication rows say about its parts, in every language, at one moment."""

    rows: list[PartPublication]
    language: str

    def parts(self) -> list[Part]:
        """The parts readers of the language may see, in order."""
        return [row.part for row in self.rows if row.language == self.language]

    def languages_of(self, number: int | None = None) -> set[str]:
        """The languages the part (or, without a number, the story) is public in."""
        return {row.language for row in self.rows if number is None or row.number == number}

    def awaiting_translation(self) -> list[Part]:
        """Parts public in another language only, whose teller's consent covers the reader's language too.

        The same rule as ``Part.objects.live_awaiting_translation()``, applied to rows already loaded.
        """
        here = {row.number for row in self.rows if row.language == self.language}
        scope = LANGUAGE_SCOPES[self.language]
        found: dict[int, Part] = {}
        for row in self.rows:
            if row.language != self.language and row.number not in here and getattr(row, scope):
                found.setdefault(row.number, mark_available(row.part, row.language))
        return sorted(found.values(), key=lambda part: part.number)


def campaign_boxes(
    story: Story | None, *, may_advocate: bool | None = None, rows: list[dict] | None = None
) -> list[dict]:
    """The calls to action beside a story, as the plain text and links the template only formats.

    Built here once per campaign rather than looked up by the template (a campaign's address, for
    one, is used three times in its box): the box costs a fraction of what template lookups cost.
    ``rows`` are those of ``beside_story_run``, when the page has read them already.
    """
    from advocacy.querysets import beside_story
    from advocacy.templatetags.advocacy_tags import COUNTED_KINDS

    language = translation.get_language()
    campaigns = beside_story(story, language, may_advocate=may_advocate, rows=rows) if story is not None else []
    boxes = []
    for campaign in campaigns:
        url = campaign.get_absolute_url()
        go = None
        actions = []
        for action in campaign.shown_actions:
            if not action.is_available(language):
                continue
            if action.kind in COUNTED_KINDS:
                # Giving links are counted on the way to the giving page: one remembered address a campaign.
                before, after = go = go or around_key("advocacy:go", slug=campaign.slug)
                href = f"{before}{action.pk}{after}"
                actions.append({"kind": action.kind, "href": href, "label": action.button_label, "counted": True})
            else:
                href = f"{url}#action-{action.pk}"
                actions.append({"kind": action.kind, "href": href, "label": action.display_heading, "counted": False})
        boxes.append(
            {
                "kicker": campaign.kicker,
                "title": campaign.title,
                "summary": campaign.summary,
                "url": url,
                "actions": actions,
            }
        )
    return boxes


class StoryDetailView(View):
    """A story's page in two indexed queries, however many parts it has.

    A story is public while one of its parts is (``StoryQuerySet.public``): the serial's live rows say
    whether it is, and carry the story and its teller.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        current = translation.get_language()
        shown = valid_slug(slug)
        serial = Serial(serial_of(shown, 0, current, story_page=True) if shown else [], current)
        parts = serial.parts()
        if not parts:
            moved = moved_story(shown, current)
            if moved is not None:
                return HttpResponsePermanentRedirect(moved.get_absolute_url())
            return not_in_this_language(request, Story, _("This story is not yet available in {language}."), slug=slug)
        story = parts[0].story
        if story.is_single:
            # A single piece is read here, at the story's address: its one part, without numbering.
            row = next(row for row in serial.rows if row.language == current and row.number == 1)
            return render_part(request, serial, row)
        # The page's other queries need nothing but the serial's rows: sent together, one wait for the database.
        warnings, related, press = run_together(
            CONTENT_WARNINGS.run(shape={"language": current}, story=story.pk),
            related_stories_run(story.pk),
            press_strip_run(),
        )
        context = {
            "story": story,
            "parts": parts,
            "elsewhere_parts": serial.awaiting_translation(),
            "content_warnings": content_warnings_of(story.pk, rows=warnings),
            "share": covers.story_card(story, parts),
            "press_mentions": press_strip(rows=press),
            "related_stories": related_stories(story.pk, rows=related),
            **alternates(request, urls_in(story, serial.languages_of()), story.get_absolute_url()),
        }
        return render(request, "stories/story_detail.html", context)


CONTENT_WARNINGS = PreparedQuery(
    lambda language: (
        ContentWarning.objects.filter(stories=Param("story", IntegerField()))
        .order_by("slug")
        .values("id", "slug", f"label_{language}")
    )
)


def moved_story(slug: str, language: str) -> Story | None:
    """The story now at the address of one of its old slugs, if readers of the language may see it.

    Read only when an address names no story live in the language: one indexed lookup. A withdrawn,
    unpublished or untranslated story is never redirected to; its old address is the plain 404.
    """
    if not slug:
        return None
    return Story.objects.live(language).filter(old_slugs__slug=slug).only("slug", "kind").first()


class StoryWarnings(Func):
    """A story's content warnings as a JSON array of [id, slug, label in the language] (``[]`` if none).

    Read inside the part page's serial query, so that the warnings cost no query of their own.
    """

    output_field = TextField()

    def __init__(self, story_id, language: str) -> None:
        super().__init__(story_id)
        self.language = language

    def _inner(self, compiler, connection) -> tuple[str, list]:
        story_sql, params = compiler.compile(self.source_expressions[0])
        label = connection.ops.quote_name(f"label_{self.language}")
        warnings = connection.ops.quote_name(ContentWarning._meta.db_table)
        links = connection.ops.quote_name(Story.content_warnings.through._meta.db_table)
        # Quoted table and column names of our own models, and the compiler's SQL for the story's id.
        sql = (
            f"SELECT w.id AS id, w.slug AS slug, w.{label} AS label FROM {warnings} w "  # noqa: S608
            f"INNER JOIN {links} l ON l.contentwarning_id = w.id WHERE l.story_id = {story_sql}"
        )
        return sql, params

    def as_sqlite(self, compiler, connection, **extra):
        inner, params = self._inner(compiler, connection)
        return f"(SELECT json_group_array(json_array(c.id, c.slug, c.label)) FROM ({inner}) c)", params  # noqa: S608

    def as_postgresql(self, compiler, connection, **extra):
        inner, params = self._inner(compiler, connection)
        return (
            f"(SELECT COALESCE(json_agg(json_build_array(c.id, c.slug, c.label)), '[]')::text FROM ({inner}) c)",  # noqa: S608
            params,
        )


class StoryThemes(Func):
    """A story's themes as a JSON array of their ids (``[]`` if none).

    Read inside the part page's serial query, so that the related-stories query can be given them
    (``stories.related``) rather than look them up for each story it walks.
    """

    output_field = TextField()

    def _inner(self, compiler, connection) -> tuple[str, list]:
        story_sql, params = compiler.compile(self.source_expressions[0])
        links = connection.ops.quote_name(Story.themes.through._meta.db_table)
        # A quoted table name of our own model, and the compiler's SQL for the story's id.
        return f"SELECT t.theme_id AS id FROM {links} t WHERE t.story_id = {story_sql}", params  # noqa: S608

    def as_sqlite(self, compiler, connection, **extra):
        inner, params = self._inner(compiler, connection)
        return f"(SELECT json_group_array(c.id) FROM ({inner}) c)", params  # noqa: S608

    def as_postgresql(self, compiler, connection, **extra):
        inner, params = self._inner(compiler, connection)
        return f"(SELECT COALESCE(json_agg(c.id), '[]')::text FROM ({inner}) c)", params  # noqa: S608


def content_warnings_of(
    story_id: int, read: str | None = None, *, rows: list[dict] | None = None
) -> list[ContentWarning]:
    """The story's content warnings, in order, with their labels in the reader's language.

    ``read`` is what the serial query already read of them (``StoryWarnings``), when it did; ``rows`` what
    ``CONTENT_WARNINGS`` read for the story in the language, when the page ran it with others.
    """
    language = translation.get_language()
    if read is not None:
        rows = [{"id": pk, "slug": slug, f"label_{language}": label} for pk, slug, label in json.loads(read)]
        rows.sort(key=lambda row: row["slug"])
    elif rows is None:
        rows = CONTENT_WARNINGS(shape={"language": language}, story=story_id)
    return [loaded(ContentWarning, row) for row in rows]


def part_context(part: Part, parts: list[Part], *, related: list[dict] | None = None) -> dict:
    """Build the navigation around one part from the serial's ordered table of contents.

    ``related`` are the rows of ``related_stories_run``, when the page has read them already.
    """
    earlier = [p for p in parts if p.number < part.number]
    later = [p for p in parts if p.number > part.number]
    return {
        # Said rather than left out: a name the context lacks costs the template an exception at each test.
        "is_preview": False,
        "part": part,
        "story": part.story,
        # The numbered title, written twice (the window's title, the page's heading), built once.
        "heading": None if part.is_single_piece else part_heading(part),
        "table_of_contents": parts,
        "previous_part": earlier[-1] if earlier else None,
        "next_part": later[0] if later else None,
        # Readers arriving mid-serial are offered the beginning: parts 1 and 2.
        "opening_parts": [p for p in earlier if p.number <= 2],
        "content_warnings": content_warnings_of(part.story_id, getattr(part, "read_warnings", None)),
        "share": covers.part_card(part),
        # Live stories sharing the most themes with this one: one prepared query (stories.related).
        "related_stories": related_stories(part.story_id, rows=related, themes=getattr(part, "read_themes", None)),
    }


def _serial_query(language: str, story_page: bool) -> QuerySet:
    """Live rows of one story's parts in every language, with what the part page shows of each.

    The body and recap of the part shown alone come along (``shown_body``, ``shown_recap``); every other
    part's stay in the database.
    The story's page reads its teller's bio and whether the story is complete too.
    """
    codes = [code for code, _name in settings.LANGUAGES]
    # A lookup by slug, generic-planned with the clock seen as well: the subqueries would cost at each run.
    now, today = now_param(unseen=False), today_param(unseen=False)

    def shown(field: str) -> Case:
        """The part's field in the language on the row of the part shown, empty on every other row.

        The part of a single piece is shown on its story's page too.
        """
        the_part = Q(number=Param("number", IntegerField())) | Q(number=1, story__kind=Story.Kind.SINGLE)
        return Case(
            When(the_part, language=language, then=F(f"part__{field}_{language}")),
            default=Value(""),
            output_field=TextField(),
        )

    return (
        PartPublication.objects.filter(live_window("", None, now, today=today, story__slug=Param("slug", CharField())))
        .annotate(
            shown_body=shown("body_html"),
            shown_recap=shown("recap_html"),
            # The story's content warnings, on the row of the part shown (the story page reads them apart).
            shown_warnings=Case(
                When(
                    Q(number=Param("number", IntegerField())) | Q(number=1, story__kind=Story.Kind.SINGLE),
                    language=language,
                    then=StoryWarnings(F("story_id"), language),
                ),
                default=Value(None),
                output_field=TextField(),
            ),
            # The story's themes, on the same row: given to the related-stories query (stories.related).
            shown_themes=Case(
                When(
                    Q(number=Param("number", IntegerField())) | Q(number=1, story__kind=Story.Kind.SINGLE),
                    language=language,
                    then=StoryThemes(F("story_id")),
                ),
                default=Value(None),
                output_field=TextField(),
            ),
            # Whether readers of the language may see the story's cover photo (stories.covers).
            cover_is_live=covers.cover_is_live("story__", language, now, today=today),
        )
        .order_by("number", "language")
        .values(
            "language",
            "number",
            "image_count",
            *LANGUAGE_SCOPES.values(),
            "covers_photos",
            "covers_advocacy",
            "part_id",
            "story_id",
            "part__published_at",
            *(f"part__{field}_{code}" for field in ("title", "summary", "reading_minutes") for code in codes),
            "story__slug",
            "story__kind",
            "story__storyteller_id",
            *(f"story__{field}_{code}" for field in ("title", "summary") for code in codes),
            *(f"story__storyteller__pseudonym_{code}" for code in codes),
            *((f"story__storyteller__bio_{language}", "story__is_complete") if story_page else ()),
            "shown_body",
            "shown_recap",
            "shown_warnings",
            "shown_themes",
            "story__cover_id",
            "cover_is_live",
            *(f"story__cover__{field}" for field in covers.cover_fields(language)),
        )
    )


SERIAL_QUERY = PreparedQuery(_serial_query)
# A part's number is a small integer (PositiveSmallIntegerField): a larger one in a URL names no part, and
# would overflow the database's integer as a prepared query's parameter.
MAX_PART_NUMBER = 32767


def serial_of(slug: str, number: int, language: str, *, story_page: bool = False) -> list[PartPublication]:
    """One story's live publication rows in every language, each with its part, the story and its teller.

    Compiled once per process (``archive.prepared``): the rows, parts, story and teller are built from
    one row each, without the ORM's per-query compiling that costs more than the query.
    """
    now = timezone.now()
    rows = SERIAL_QUERY(
        shape={"language": language, "story_page": story_page},
        slug=slug,
        number=number,
        now=now,
        today=timezone.localdate(now),
    )
    if not rows:
        return []
    first = rows[0]
    story = _story_of(first, language)
    found = []
    # Every row has the same columns: the part's are picked out once, not looked for in each row.
    part_columns = [(name, name[len("part__") :]) for name in first if name.startswith("part__")]
    for row in rows:
        part = loaded(
            Part,
            {
                "id": row["part_id"],
                "story_id": story.pk,
                "number": row["number"],
                **{attribute: row[name] for name, attribute in part_columns},
            },
        )
        part._state.fields_cache["story"] = story
        if row["language"] == language and (row["number"] == number or (story.is_single and row["number"] == 1)):
            # Set even when empty: the page reads both, and a deferred field would cost a query.
            setattr(part, f"body_html_{language}", row["shown_body"])
            setattr(part, f"recap_html_{language}", row["shown_recap"])
            part.read_warnings = row["shown_warnings"]
            part.read_themes = json.loads(row["shown_themes"])
        publication = loaded(
            PartPublication,
            {
                name: row[name]
                for name in (
                    "language",
                    "number",
                    "image_count",
                    "covers_photos",
                    "covers_advocacy",
                    "story_id",
                    "part_id",
                )
            }
            | {scope: row[scope] for scope in LANGUAGE_SCOPES.values()},
        )
        publication._state.fields_cache["part"] = part
        found.append(publication)
    return found


class PartDetailView(View):
    """A part's page in at most five indexed queries, however long the serial or large the archive.

    One query reads every live row of the serial in every language, with the parts, the story and
    its teller, and the body and content warnings of this part alone; the others are its photos (only
    when it has some), the campaigns beside it with their actions, related stories and the press strip.
    """

    http_method_names = ["get", "head", "options"]

    def get_object(self) -> tuple[Serial, PartPublication | None]:
        current = translation.get_language()
        slug, number = valid_slug(self.kwargs["slug"]), self.kwargs["number"]
        if not slug or not 1 <= number <= MAX_PART_NUMBER:
            return Serial([], current), None
        rows = serial_of(slug, number, current)
        shown = next((row for row in rows if row.language == current and row.number == number), None)
        return Serial(rows, current), shown

    def get(self, request: HttpRequest, slug: str, number: int) -> HttpResponse:
        serial, shown = self.get_object()
        if shown is None:
            moved = moved_story(valid_slug(slug), serial.language) if not serial.rows else None
            if moved is not None:
                url = moved.get_absolute_url()
                if not (moved.is_single and number == 1):
                    url = reverse("stories:part", kwargs={"slug": moved.slug, "number": number})
                return HttpResponsePermanentRedirect(url)
            return not_in_this_language(
                request, Part, _("This part is not yet available in {language}."), story__slug=slug, number=number
            )
        if shown.part.is_single_piece:
            # A single piece needs no part-1 in its address: the story's is the piece's.
            return HttpResponsePermanentRedirect(shown.part.get_absolute_url())
        return render_part(request, serial, shown)


def render_part(request: HttpRequest, serial: Serial, shown: PartPublication) -> HttpResponse:
    """A part's page, or a single piece's at its story's address: the part shown and its serial's rows."""
    part = shown.part
    part.shown_images = (
        list(StoryImage.objects.live(serial.language).filter(part=part).order_by("position", "pk"))
        if shown.image_count
        else []
    )
    # The live row carries the consent in force: whether it covers use in advocacy (live_for_advocacy).
    may_advocate = shown.covers_advocacy
    # The page's other queries need nothing but the serial's rows: sent together, one wait for the database.
    related, campaigns, press = run_together(
        related_stories_run(part.story_id, themes=getattr(part, "read_themes", None)),
        beside_story_run(part.story, may_advocate=may_advocate),
        press_strip_run(),
    )
    context = part_context(part, serial.parts(), related=related)
    context["elsewhere_parts"] = serial.awaiting_translation()
    context["campaign_boxes"] = campaign_boxes(part.story, may_advocate=may_advocate, rows=campaigns)
    context["press_mentions"] = press_strip(rows=press)
    context.update(alternates(request, urls_in(part, serial.languages_of(shown.number)), part.get_absolute_url()))
    return render(request, "stories/part_detail.html", context)


@never_cache
@login_required
def part_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Show staff a part through the reader's template, whatever its status, marked as a preview."""
    if not (
        request.user.is_staff
        and (request.user.has_perm("stories.view_part") or request.user.has_perm("translations.translate"))
    ):
        raise Http404
    # Nobody works on the text of a storyteller who withdrew, so nobody previews it either; the plain 404
    # tells an editor or translator nothing about consent they may not see.
    previewable = Part.objects.exclude(story__storyteller__in=Storyteller.objects.withdrawn())
    part = get_object_or_404(previewable.select_related("story", "story__storyteller"), pk=pk)
    # Staff preview every cleaned photo of the part, whether or not readers may see it yet.
    part.shown_images = [image for image in part.images.all() if image.rendition_key]
    parts = list(part.story.parts.order_by("number"))
    context = part_context(part, parts)
    context["is_preview"] = True
    context["campaign_boxes"] = campaign_boxes(part.story)
    response = render(request, "stories/part_detail.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_GET
def consent_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a consent form or recording to consent officers; everyone else gets the plain 404."""
    if not (
        request.user.is_authenticated
        and request.user.is_staff
        and request.user.has_perm("stories.view_consentevidence")
    ):
        raise Http404
    evidence = get_object_or_404(ConsentEvidence, pk=pk)
    try:
        handle = open_stored(evidence.file.storage, evidence.file.name)
    except FileNotFoundError as error:
        raise Http404 from error
    except StorageUnavailable:
        return storage_unavailable(request)
    response = FileResponse(handle, as_attachment=True, filename=evidence.file.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _may_preview_photos(user) -> bool:
    return bool(user.is_authenticated and user.is_staff and user.has_perm("stories.view_storyimage"))


@require_safe
def story_image(request: HttpRequest, key: str, width: int, extension: str) -> HttpResponse:
    """Serve one cleaned rendition of a photo readers may see in this language; anything else is the plain 404.

    Staff who may view photos also get the photos of parts that are not public, for previews, never cached.
    """
    image = StoryImage.objects.live().filter(rendition_key=key).first()
    for_staff = False
    if image is None and _may_preview_photos(request.user):
        # As for previews: never the photos of a storyteller who withdrew.
        withdrawn = Storyteller.objects.withdrawn()
        image = StoryImage.objects.filter(rendition_key=key).exclude(part__story__storyteller__in=withdrawn).first()
        for_staff = True
    rendition = image.rendition(width=width, extension=extension) if image else None
    if rendition is None:
        raise Http404
    etag = None if for_staff else quote_etag(f"{key}-{width}-{extension}")
    # A browser revalidating a photo that is still public gets its 304 without the file being read at all.
    response = get_conditional_response(request, etag=etag) if etag else None
    if response is None:
        # Streamed through here, never a link to the store: once a withdrawal commits, nothing can fetch the file.
        try:
            handle = open_stored(private_storage(), rendition["name"])
        except FileNotFoundError as error:
            raise Http404 from error
        except StorageUnavailable:
            return storage_unavailable(request)
        response = FileResponse(handle, content_type=images.RENDITION_FORMATS[extension][1])
    if for_staff:
        response["Cache-Control"] = "private, no-store"
    else:
        # Browsers and proxies may keep a copy but must ask again before each use, so a withdrawal
        # reaches them at the next request; the unchanged photo then costs a 304, not a download.
        response["Cache-Control"] = "no-cache"
        response["ETag"] = etag
    # Search engines keep image thumbnails long after a page is gone; photos stay out of their indexes.
    response["X-Robots-Tag"] = "noindex, noimageindex"
    return response


def storage_unavailable(request: HttpRequest) -> HttpResponse:
    """Say that the file cannot be read right now (503): the failure was logged once per outage, not here."""
    response = render(request, "503.html", {"QUICK_EXIT_URL": settings.QUICK_EXIT_URL}, status=503)
    response["Retry-After"] = "60"
    add_never_cache_headers(response)
    # Django would otherwise log, and mail to ADMINS, every request that met the outage.
    response._has_been_logged = True
    return response


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    """Let crawlers read the public site but not the back office or previews."""
    lines = ["User-agent: *", "Disallow: /admin/"]
    for code, _name in settings.LANGUAGES:
        lines.append(f"Disallow: /{code}/preview/")
    lines.append(f"Sitemap: {absolute_url(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
