"""The search page: the reader's language only, public entries only, ranked, with marked passages."""

import time

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from advocacy import ratelimit
from archive.i18n import language_links
from archive.prepared import planned_each_time
from search.forms import SearchForm
from search.models import SearchEntry
from search.querysets import MOST_RANKED
from search.text import html_text, marked, marked_words, snippet
from stories.models import ContentWarning, Story, Theme

RESULTS_PER_PAGE = 10
# Searches one client network may make in a window, on every app server together (the shared cache):
# a search reads far more than a page, and a reader searches a few times a minute at most.
SEARCHES_PER_WINDOW, WINDOW_SECONDS = 30, 60


def rate_limit() -> tuple[int, int]:
    """The limit and its window in seconds: ``SEARCH_RATE_LIMIT`` (searches, seconds) in the settings."""
    limit, window = getattr(settings, "SEARCH_RATE_LIMIT", (SEARCHES_PER_WINDOW, WINDOW_SECONDS))
    return int(limit), int(window)


def _themes(language: str) -> list[Theme]:
    return list(Theme.objects.order_by(f"name_{language}", "slug"))


def _shown_fields(language: str) -> tuple[str, ...]:
    """What a result shows, in the language's own columns only."""
    return (
        "part_id",
        "story_id",
        "storyteller_id",
        "published_at",
        "part__number",
        "part__story_id",
        f"part__title_{language}",
        f"part__summary_{language}",
        f"part__body_html_{language}",
        f"part__recap_html_{language}",
        "story__slug",
        "story__kind",
        f"story__title_{language}",
        f"story__summary_{language}",
        f"storyteller__pseudonym_{language}",
    )


def _results(page, words: list[str], language: str) -> list[dict]:
    """What the template shows of each entry on the page, in the language's own columns only.

    ``words``: every form of every query word (``search.text.marked_words``), each marked where found.
    """
    entries = list(page.object_list)
    warnings: dict[int, list[ContentWarning]] = {}
    links = Story.content_warnings.through.objects.filter(story_id__in={entry.story_id for entry in entries})
    for link in links.select_related("contentwarning"):
        warnings.setdefault(link.story_id, []).append(link.contentwarning)
    results = []
    for entry in entries:
        part, story = entry.part, entry.story
        part.story = story

        def text(obj, field: str) -> str:
            # Never the modeltranslation fallback: the column of this language or nothing.
            return getattr(obj, f"{field}_{language}") or ""

        summaries = [text(part, "summary"), text(story, "summary")]
        story_warnings = warnings.get(story.pk, [])
        # Behind a content warning the story's text waits until the reader chooses to read on: the
        # result shows the warning and the summaries, never a passage of the body.
        # The recap as its page shows it: after the first part only.
        recap = [html_text(text(part, "recap_html"))] if part.number > 1 else []
        texts = summaries if story_warnings else [html_text(text(part, "body_html")), *recap, *summaries]
        results.append(
            {
                "url": part.get_absolute_url(),
                "number": part.number,
                # A single piece is linked at its story's address and never numbered.
                "is_single_piece": part.is_single_piece,
                "title": marked(text(part, "title"), words),
                "story_title": marked(text(story, "title"), words),
                "pseudonym": marked(text(entry.storyteller, "pseudonym"), words),
                "published_at": entry.published_at,
                "snippet": snippet(texts, words),
                "content_warnings": [text(warning, "label") for warning in story_warnings],
            }
        )
    return results


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """Search the public parts in the reader's language: never a 500, whatever the query says."""
    language = translation.get_language()
    form = SearchForm(request.GET)
    themes = _themes(language)
    context = {"form": form, "themes": themes, "query": "", "words": [], "theme": None}
    if form.is_valid():
        words = form.words()
        context["query"] = form.cleaned_data["q"]
        context["words"] = words
        slug = form.cleaned_data["theme"]
        theme = next((theme for theme in themes if theme.slug == slug), None)
        if slug and theme is None:
            form.add_error("theme", form.fields["theme"].error_messages["invalid"])
        context["theme"] = theme
        limit, window = rate_limit()
        # Only searches are counted. A cache that cannot be reached counts nothing and refuses nothing:
        # searching writes nothing, and public pages stay up through a cache outage (archive.health).
        limited = bool(words) and (
            ratelimit.check_client(request, scope="search", limit=limit, window=window) is ratelimit.Verdict.LIMITED
        )
        if limited:
            context.update(limited=True, retry_after=window - int(time.time()) % window)
        elif words and form.is_valid():
            entries = SearchEntry.objects.found(language, words)
            if theme is not None:
                entries = entries.filter(
                    story_id__in=Story.themes.through.objects.filter(theme=theme).values("story_id")
                )
            # The ids of the newest matches, ranked, from the entries alone (one query); then the page's
            # entries with their part, story and storyteller: joined for the page only.
            # Planned for its own words on PostgreSQL, never prepared: how many entries hold a word decides
            # whether to read the text indexes or walk the newest entries, which a generic plan cannot see.
            with planned_each_time():
                best, more = entries.best(language, words)
            paginator = Paginator(best, RESULTS_PER_PAGE)
            page = paginator.get_page(request.GET.get("page"))
            ids = list(page.object_list)
            shown = SearchEntry.objects.filter(pk__in=ids).select_related("part", "story", "storyteller")
            loaded = {entry.pk: entry for entry in shown.only(*_shown_fields(language))}
            page.object_list = [loaded[pk] for pk in ids if pk in loaded]
            context.update(
                searched=True,
                more_than=MOST_RANKED if more else None,
                page_obj=page,
                paginator=paginator,
                results=_results(page, marked_words(words, language), language),
                page_query=urlencode({"q": context["query"], **({"theme": theme.slug} if theme else {})}),
                page_query_without_theme=urlencode({"q": context["query"]}),
            )
    urls = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            urls[code] = reverse("search:search") + (
                f"?{urlencode({'q': context['query']})}" if context["query"] else ""
            )
    context["language_links"] = language_links(request, urls)
    response = render(request, "search/search.html", context, status=429 if context.get("limited") else 200)
    if context.get("limited"):
        response["Retry-After"] = str(context["retry_after"])
    # Computed afresh at every request (no page cache) and revalidated by browsers: a withdrawn part is
    # gone at the next search. Result pages are no pages of their own for search engines.
    response["Cache-Control"] = "no-cache"
    response["X-Robots-Tag"] = "noindex, follow"
    return response
