"""Atom feeds, each in every language, through the same visibility rule: the newest parts of the archive,
of one story (a serial's new parts) and of the stories about one theme."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Exists, OuterRef, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from archive.i18n import absolute_url
from archive.prepared import run_together
from archive.validators import strip_control_characters
from stories.models import PartPublication, Story, StoryPublication, Theme
from stories.querysets import live_window
from stories.views import (
    live_part_rows,
    mark_available,
    newest_parts,
    newest_parts_elsewhere,
    newest_parts_elsewhere_runs,
    newest_parts_run,
    serial_of,
    valid_slug,
)

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

    def author_name(self, obj=None):
        # Atom asks for an author of the feed or of every entry: the archive, never a storyteller's name.
        return _("Testimony archive")

    # Absolute on the configured site: a feed is cached and shared, so never the first requester's Host.
    def link(self):
        return absolute_url(reverse("stories:home"))

    def feed_url(self):
        return absolute_url(reverse("stories:feed"))

    def items(self):
        current = translation.get_language()
        # Neither list needs the other's rows: one wait for the database.
        newest, *other_languages = run_together(
            newest_parts_run(current, FEED_LENGTH), *newest_parts_elsewhere_runs(FEED_LENGTH)
        )
        here = [mark_available(part, current) for part in newest_parts(current, FEED_LENGTH, rows=newest)]
        elsewhere = newest_parts_elsewhere(FEED_LENGTH, rows=other_languages)
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


class SerialFeed(LatestPartsFeed):
    """The newest parts of one story in the reader's language: one prepared query (the story page's serial rows).

    A story not public in the language, or no story at all, is the plain 404.
    """

    def get_object(self, request, slug):
        language = translation.get_language()
        shown = valid_slug(slug)
        rows = serial_of(shown, 0, language) if shown else []
        parts = [mark_available(row.part, language) for row in rows if row.language == language]
        if not parts:
            raise Http404
        story = parts[0].story
        story.feed_parts = sorted(parts, key=lambda part: (part.published_at, part.number), reverse=True)[:FEED_LENGTH]
        return story

    def title(self, story):
        return strip_control_characters(_("{story}: new parts").format(story=story.title))

    def subtitle(self, story):
        return strip_control_characters(story.summary) or super().subtitle()

    def link(self, story):
        return absolute_url(story.get_absolute_url())

    def feed_url(self, story):
        return absolute_url(reverse("stories:story-feed", kwargs={"slug": story.slug}))

    def items(self, story):
        return story.feed_parts


# A theme with more live stories than this in the language is read newest part first; a smaller one through
# its stories. Either way the database reads a bounded number of rows (docs/read-path.md, "Feeds").
SMALL_THEME_STORIES = 200


class ThemeFeed(LatestPartsFeed):
    """The newest parts, in the reader's language, of the stories about one theme: two indexed queries.

    An unknown theme is the plain 404; a theme whose stories are all hidden now is an empty feed.
    """

    def get_object(self, request, slug):
        slug = valid_slug(slug)
        if not slug:
            raise Http404
        # Whether the theme has a live story past the first SMALL_THEME_STORIES: at most that many probes.
        beyond = (
            StoryPublication.objects.live(translation.get_language())
            .filter(story__themes=OuterRef("pk"))
            .order_by()
            .values("story_id")[SMALL_THEME_STORIES : SMALL_THEME_STORIES + 1]
        )
        theme = Theme.objects.filter(slug=slug).annotate(story_past_small=Subquery(beyond)).first()
        if theme is None:
            raise Http404
        return theme

    def title(self, theme):
        return _("Testimony archive: stories about {theme}").format(theme=theme.name)

    def link(self, theme):
        return absolute_url(reverse("stories:index")) + "?" + urlencode({"theme": theme.slug})

    def feed_url(self, theme):
        return absolute_url(reverse("stories:theme-feed", kwargs={"slug": theme.slug}))

    def items(self, theme):
        current = translation.get_language()
        rows = PartPublication.objects.filter(live_window("", current))
        if theme.story_past_small is not None:
            # Many stories: newest first along part_publication_live_idx, each row's story checked against
            # the theme by one probe of the theme table's (story_id, theme_id) index, until there are enough.
            tagged = Story.themes.through.objects.filter(story_id=OuterRef("story_id"), theme_id=theme.pk)
            rows = rows.filter(Exists(tagged))
        else:
            # Few stories: their rows through part_publication_story_idx, sorted; walking the newest rows of
            # the whole language would read most of them before finding the theme's.
            rows = rows.filter(
                story_id__in=StoryPublication.objects.live(current).filter(story__themes=theme).values("story_id")
            )
        # The page's rows chosen from the publication table alone; only they are joined to parts and stories.
        newest = rows.order_by("-published_at").values("pk")[:FEED_LENGTH]
        return [
            mark_available(row.part, current)
            for row in live_part_rows(PartPublication.objects.filter(pk__in=newest), current)
        ]
