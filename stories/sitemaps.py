"""The stories' sections of the sitemap (archive/sitemaps.py): pages, stories and parts.

Every entry is a page in one language, with hreflang alternates to the same page in the other
languages it is public in. Stories and parts come from the publication table (the visibility rule,
materialised), one entry per live row. Locations are built on the configured site (``SITE_URL``),
never on the Host a request named.
"""

import datetime
import itertools
import operator
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import translation

from archive.i18n import absolute_url, x_default_language
from stories.models import PartPublication, Story, StoryPublication
from stories.querysets import live_window


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def reverse_in(code: str, name: str, **kwargs) -> str:
    with translation.override(code):
        return reverse(name, kwargs=kwargs or None)


def x_default(urls: dict[str, str], to_location: Callable[[str], str] = str) -> list[dict]:
    """The x-default alternate of a page in these languages, as the pages' own links choose it (archive.i18n)."""
    default = x_default_language(urls)
    return [] if default is None else [{"lang_code": "x-default", "location": to_location(urls[default])}]


def entry(code: str, urls: dict[str, str], *, lastmod=None, changefreq: str = "") -> dict:
    """One <url>: the page in ``code``, with alternates to every language in ``urls`` (itself included)."""
    return {
        "location": absolute_url(urls[code]),
        "lastmod": lastmod,
        "changefreq": changefreq,
        "alternates": [
            {"lang_code": other, "location": absolute_url(urls[other])} for other in languages() if other in urls
        ]
        + x_default(urls, absolute_url),
    }


def live_rows(model, now: datetime.datetime) -> QuerySet:
    """Live rows in every language: one sitemap entry each."""
    return model.objects.filter(live_window("", None, now))


def objects_per_page() -> int:
    """Each page holds a range of object ids: at most SITEMAP_PAGE_SIZE entries, one per language."""
    return max(1, settings.SITEMAP_PAGE_SIZE // len(languages()))


def page_of(model, key: str, *, last: bool) -> int | None:
    """The page of the lowest (or highest) id with a row, live now or not; None when there is none.

    Read from one end of the id index. A condition on the window would let a database with
    statistics choose another index and sort every row instead (SQLite did: 60-200 ms at 100,000
    parts); at worst a page at either end of the range then lists nothing.
    """
    found = model.objects.order_by(f"-{key}" if last else key).values_list(key, flat=True).first()
    return None if found is None else found // objects_per_page() + 1


def pages_of(model, key: str, now: datetime.datetime) -> list[int]:
    """The pages of a section: every id range from the first row's to the last's.

    Ranges rather than offsets, so that page 48 costs what page 1 does; found in two probes of the
    id index rather than by grouping every row, so the index costs the same at any size. A range
    whose objects are all hidden now stays listed, as a page with no entries.
    """
    first, last = page_of(model, key, last=False), page_of(model, key, last=True)
    return [] if first is None else list(range(first, last + 1))


def rows_on_page(model, key: str, page: int, now: datetime.datetime) -> QuerySet | None:
    """The live rows of one page, or None for a page beyond the last: the plain 404."""
    last = page_of(model, key, last=True)
    if last is None or not 1 <= page <= last:
        return None
    size = objects_per_page()
    return live_rows(model, now).filter(**{f"{key}__gte": (page - 1) * size, f"{key}__lt": page * size})


class UrlPattern:
    """An absolute URL reversed once per language, then filled in for each row: a sitemap page has thousands."""

    SLUG = "sitemapslugplaceholder"
    NUMBER = 987654321

    def __init__(self, name: str, *, numbered: bool) -> None:
        kwargs = {"slug": self.SLUG, **({"number": self.NUMBER} if numbered else {})}
        self.patterns = {code: absolute_url(reverse_in(code, name, **kwargs)) for code in languages()}

    def url(self, code: str, slug: str, number: int | None = None) -> str:
        # Slugs are letters, digits, hyphens and underscores (validated on save): nothing to escape.
        url = self.patterns[code].replace(self.SLUG, slug)
        return url.replace(str(self.NUMBER), str(number)) if number is not None else url


def absolute_entry(code: str, urls: dict[str, str], *, lastmod=None, changefreq: str = "") -> dict:
    """As entry(), for URLs that are absolute already."""
    return {
        "location": urls[code],
        "lastmod": lastmod,
        "changefreq": changefreq,
        "alternates": [{"lang_code": other, "location": url} for other, url in urls.items()] + x_default(urls),
    }


def story_pages(now: datetime.datetime) -> list[int]:
    return pages_of(StoryPublication, "story_id", now)


def part_pages(now: datetime.datetime) -> list[int]:
    return pages_of(PartPublication, "part_id", now)


def story_slug(*, serials_only: bool = False) -> Subquery:
    """Each row's story slug, looked up by primary key: a page's rows span few stories of many.

    ``serials_only``: None for a single piece, read at its story's address (its part-1 only redirects there).
    """
    stories = Story.objects.filter(pk=OuterRef("story_id"))
    if serials_only:
        stories = stories.exclude(kind=Story.Kind.SINGLE)
    return Subquery(stories.values("slug")[:1])


def entries_of(rows: Iterable[tuple], url: Callable[..., str], *, changefreq: str) -> list[dict]:
    """One entry a row of ``(object id, language, lastmod, *URL arguments)``, ordered by object id.

    A page holds every live row of the objects in its id range, in every language: the rows of one
    object are the languages it is public in, so its alternates are read from its own rows.
    """
    result = []
    for _key, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        group = list(group)
        urls = {language: url(language, *arguments) for _key, language, _lastmod, *arguments in group}
        result += [
            absolute_entry(language, urls, lastmod=lastmod, changefreq=changefreq)
            for _k, language, lastmod, *_a in group
        ]
    return result


def story_entries(page: int, now: datetime.datetime) -> list[dict] | None:
    rows = rows_on_page(StoryPublication, "story_id", page, now)
    if rows is None:
        return None
    pattern = UrlPattern("stories:story", numbered=False)
    # Plain tuples, not model instances: a page holds up to SITEMAP_PAGE_SIZE of them.
    rows = rows.order_by("story_id", "language").annotate(slug=story_slug())
    # A story changes as its parts do: no date of its own.
    undated = ((key, language, None, slug) for key, language, slug in rows.values_list("story_id", "language", "slug"))
    return entries_of(undated, pattern.url, changefreq="weekly")


def part_entries(page: int, now: datetime.datetime) -> list[dict] | None:
    rows = rows_on_page(PartPublication, "part_id", page, now)
    if rows is None:
        return None
    pattern = UrlPattern("stories:part", numbered=True)
    # Single pieces are listed with the stories. Left out by the slug's lookup, not by a join to every story:
    # a prepared statement's generic plan, made for any kind, started such a join from the stories table
    # (234 ms instead of 0.5 at 100,000 parts on PostgreSQL); this one has a single plan, the id range.
    rows = rows.order_by("part_id", "language").annotate(slug=story_slug(serials_only=True))
    found = rows.values_list("part_id", "language", "published_at", "slug", "number")
    return entries_of((row for row in found if row[3] is not None), pattern.url, changefreq="monthly")


def page_entries(page: int, now: datetime.datetime) -> list[dict] | None:
    if page != 1:
        return None
    result = []
    for name in ("stories:home", "stories:index"):
        urls = {code: reverse_in(code, name) for code in languages()}
        result += [entry(code, urls, changefreq="daily") for code in languages()]
    return result
