"""The sitemap: an index of sections, each paginated, so that no response grows with the archive."""

import dataclasses
import datetime
import math
from collections.abc import Callable

from django.conf import settings
from django.urls import reverse

from advocacy import sitemaps as campaigns
from archive.i18n import absolute_url
from stories import sitemaps as stories


@dataclasses.dataclass(frozen=True)
class Section:
    """One paginated part of the sitemap."""

    count: Callable[[datetime.datetime], int]
    entries: Callable[[int, int, datetime.datetime], list[dict]]


SECTIONS: dict[str, Section] = {
    "pages": Section(count=stories.page_count, entries=stories.page_entries),
    "stories": Section(count=stories.story_count, entries=stories.story_entries),
    "parts": Section(count=stories.part_count, entries=stories.part_entries),
    # A few dozen at most, always on one page: no count is needed to list it.
    "campaigns": Section(count=lambda now: 1, entries=campaigns.campaign_entries),
}


def index_entries(now: datetime.datetime) -> list[dict]:
    """The sitemap index: every page of every section, in two counting queries."""
    size = settings.SITEMAP_PAGE_SIZE
    locations = []
    for name, section in SECTIONS.items():
        pages = max(1, math.ceil(section.count(now) / size))
        locations += [
            {"location": absolute_url(reverse("sitemap-section", kwargs={"section": name, "page": page}))}
            for page in range(1, pages + 1)
        ]
    return locations


def section_entries(name: str, page: int, now: datetime.datetime) -> list[dict] | None:
    """One page of one section, or None when there is no such page."""
    section = SECTIONS.get(name)
    if section is None or page < 1:
        return None
    size = settings.SITEMAP_PAGE_SIZE
    entries = section.entries((page - 1) * size, page * size, now)
    if not entries and page > 1:
        return None
    return entries
