"""The sitemap: an index of sections, each in pages, so that no response grows with the archive."""

import dataclasses
import datetime
from collections.abc import Callable
from html import escape

from django.urls import reverse
from django.utils import timezone

from advocacy import sitemaps as campaigns
from archive.i18n import absolute_url
from stories import sitemaps as stories


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the sitemap: which pages it has, and the entries on each."""

    pages: Callable[[datetime.datetime], list[int]]
    entries: Callable[[int, datetime.datetime], list[dict] | None]


def first_page_only(now: datetime.datetime) -> list[int]:
    return [1]


SECTIONS: dict[str, Section] = {
    "pages": Section(pages=first_page_only, entries=stories.page_entries),
    # Stories and parts in ranges of ids: at most SITEMAP_PAGE_SIZE entries a page, however large the archive.
    "stories": Section(pages=stories.story_pages, entries=stories.story_entries),
    "parts": Section(pages=stories.part_pages, entries=stories.part_entries),
    # A few dozen at most, always on one page.
    "campaigns": Section(pages=first_page_only, entries=campaigns.campaign_entries),
}


def index_entries(now: datetime.datetime) -> list[str]:
    """The sitemap index: the address of every page of every section, from the first and last id of each."""
    locations = []
    for name, section in SECTIONS.items():
        # Reversed once a section, then filled in: the index lists a page per SITEMAP_PAGE_SIZE entries.
        pattern = absolute_url(reverse("sitemap-section", kwargs={"section": name, "page": PAGE_PLACEHOLDER}))
        locations += [pattern.replace(str(PAGE_PLACEHOLDER), str(page)) for page in section.pages(now)]
    return locations


# A page number no section reaches, replaced in the reversed URL by each real one.
PAGE_PLACEHOLDER = 987654321


def index_xml(locations: list[str]) -> str:
    """Write the sitemap index: the markup of Django's sitemap_index.xml template, without a template engine."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    ]
    lines += [f"<sitemap><loc>{escape(location)}</loc></sitemap>" for location in locations]
    lines.append("</sitemapindex>\n")
    return "\n".join(lines)


def section_entries(name: str, page: int, now: datetime.datetime) -> list[dict] | None:
    """One page of one section, or None when there is no such page."""
    section = SECTIONS.get(name)
    if section is None:
        return None
    # None is a page the index does not list: the plain 404. A listed page may be empty.
    return section.entries(page, now)


def urlset_xml(entries: list[dict]) -> str:
    """Write a sitemap page: the markup of Django's sitemap.xml template, without a template engine.

    A page holds up to SITEMAP_PAGE_SIZE entries; templating each of them cost more than finding them.
    """
    zone = timezone.get_current_timezone()
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">'
    ]
    for url in entries:
        lines.append(f"<url><loc>{escape(url['location'])}</loc>")
        lastmod = url.get("lastmod")
        if lastmod:
            day = lastmod.astimezone(zone).date() if isinstance(lastmod, datetime.datetime) else lastmod
            lines.append(f"<lastmod>{day.isoformat()}</lastmod>")
        if url.get("changefreq"):
            lines.append(f"<changefreq>{escape(url['changefreq'])}</changefreq>")
        lines += [
            f'<xhtml:link rel="alternate" hreflang="{escape(alternate["lang_code"])}" '
            f'href="{escape(alternate["location"])}"/>'
            for alternate in url.get("alternates", ())
        ]
        lines.append("</url>")
    lines.append("</urlset>\n")
    return "".join(lines)
