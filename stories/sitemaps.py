"""The stories' sections of the sitemap (archive/sitemaps.py): pages, stories and parts.

Every entry is a page in one language, with hreflang alternates to the same page in the other
languages it is public in. Stories and parts come from the publication table (the visibility rule,
materialised), one entry per live row. Locations are built on the configured site (``SITE_URL``),
never on the Host a request named.
"""

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import translation

from archive.i18n import absolute_url
from stories.models import PartPublication, StoryPublication
from stories.querysets import live_window


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def reverse_in(code: str, name: str, **kwargs) -> str:
    with translation.override(code):
        return reverse(name, kwargs=kwargs or None)


def entry(code: str, urls: dict[str, str], *, lastmod=None, changefreq: str = "") -> dict:
    """One <url>: the page in ``code``, with alternates to every language in ``urls`` (itself included)."""
    return {
        "location": absolute_url(urls[code]),
        "lastmod": lastmod,
        "changefreq": changefreq,
        "alternates": [
            {"lang_code": other, "location": absolute_url(urls[other])} for other in languages() if other in urls
        ],
    }


def with_alternates(rows: QuerySet, key: str, now: datetime.datetime) -> QuerySet:
    """Annotate each live row with whether the same object is live in each language."""
    model = rows.model
    return rows.annotate(
        **{
            f"live_{code}": Exists(model.objects.filter(live_window("", code, now), **{key: OuterRef(key)}))
            for code in languages()
        }
    )


def live_rows(model, now: datetime.datetime) -> QuerySet:
    """Live rows in every language: one sitemap entry each."""
    return model.objects.filter(live_window("", None, now))


def story_entries(start: int, stop: int, now: datetime.datetime) -> list[dict]:
    rows = with_alternates(live_rows(StoryPublication, now), "story_id", now).select_related("story")
    result = []
    for row in rows.order_by("story_id", "language").only("language", "story__slug", "published_at")[start:stop]:
        urls = {
            code: reverse_in(code, "stories:story", slug=row.story.slug)
            for code in languages()
            if getattr(row, f"live_{code}")
        }
        result.append(entry(row.language, urls, changefreq="weekly"))
    return result


def part_entries(start: int, stop: int, now: datetime.datetime) -> list[dict]:
    rows = with_alternates(live_rows(PartPublication, now), "part_id", now).select_related("story")
    result = []
    for row in rows.order_by("part_id", "language").only("language", "number", "published_at", "story__slug")[
        start:stop
    ]:
        urls = {
            code: reverse_in(code, "stories:part", slug=row.story.slug, number=row.number)
            for code in languages()
            if getattr(row, f"live_{code}")
        }
        result.append(entry(row.language, urls, lastmod=row.published_at, changefreq="monthly"))
    return result


def page_entries(start: int, stop: int, now: datetime.datetime) -> list[dict]:
    result = []
    for name in ("stories:home", "stories:index"):
        urls = {code: reverse_in(code, name) for code in languages()}
        result += [entry(code, urls, changefreq="daily") for code in languages()]
    return result[start:stop]


def story_count(now: datetime.datetime) -> int:
    return live_rows(StoryPublication, now).count()


def part_count(now: datetime.datetime) -> int:
    return live_rows(PartPublication, now).count()


def page_count(now: datetime.datetime) -> int:
    return 2 * len(languages())
