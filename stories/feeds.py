"""An Atom feed of the newest parts, one per language, through the same visibility rule."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from archive.i18n import absolute_url
from archive.validators import strip_control_characters
from stories.models import PartPublication
from stories.views import live_part_rows, mark_available, newest_parts_elsewhere

FEED_LENGTH = 20


class LatestPartsFeed(Feed):
    """The newest parts; text written before control characters were refused is written without them,
    since XML cannot hold them and one would make the feed fail for every reader."""

    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        # Last-Modified is the newest part's date, which a withdrawal of an older story does not
        # change: a reader's If-Modified-Since would get a 304 and keep the withdrawn entries.
        # The ETag, taken from the content, changes with every withdrawal instead.
        del response.headers["Last-Modified"]
        response.headers["Cache-Control"] = "no-cache"
        return response

    def title(self):
        return _("Testimony archive: newest parts")

    def subtitle(self):
        return _("First-person stories of North Korean refugees, published with their consent.")

    # Absolute on the configured site: a feed is cached and shared, so never the first requester's Host.
    def link(self):
        return absolute_url(reverse("stories:home"))

    def feed_url(self):
        return absolute_url(reverse("stories:feed"))

    def items(self):
        current = translation.get_language()
        rows = live_part_rows(PartPublication.objects.all(), current)[:FEED_LENGTH]
        here = [mark_available(row.part, current) for row in rows]
        elsewhere = newest_parts_elsewhere(FEED_LENGTH)
        merged = sorted(here + elsewhere, key=lambda part: part.published_at, reverse=True)
        return merged[:FEED_LENGTH]

    def item_title(self, item):
        with translation.override(item.available_language):
            if item.is_single_piece:
                title = item.story.title
            else:
                title = _("{story}: Part {number} — {title}").format(
                    story=item.story.title, number=item.number, title=item.title
                )
        if item.available_language != translation.get_language():
            # Marked, never passed off as the reader's language.
            language = dict(settings.LANGUAGES)[item.available_language]
            title = _("[Only in {language}] {title}").format(language=language, title=title)
        return strip_control_characters(title)

    def item_description(self, item):
        with translation.override(item.available_language):
            return strip_control_characters(item.summary)

    def item_link(self, item):
        with translation.override(item.available_language):
            return absolute_url(item.get_absolute_url())

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.published_at
