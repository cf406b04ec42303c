"""The search index: the public text of each part, one row per part and language in which it is public."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from search.querysets import SearchEntryQuerySet
from stories.models import Language, Part, Story, Storyteller


class SearchEntry(models.Model):
    """A part's public text in one language, with the window in which it is public (as its publication row).

    Derived from the publication table's rows in the same transaction (``search.index``): a row exists
    only while the part is public in the language at some time, and queries filter the window by now,
    as reader pages do. The matched text is kept lower-cased, so that both databases match alike.
    """

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="+", verbose_name=_("part"))
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+", verbose_name=_("story"))
    storyteller = models.ForeignKey(
        Storyteller, on_delete=models.CASCADE, related_name="+", verbose_name=_("storyteller")
    )
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    published_at = models.DateTimeField(_("public from"))
    review_by = models.DateField(_("public until the end of"))
    # Lower-cased text, for matching and ranking: the part's title; the story's title and the
    # storyteller's pseudonym; both summaries; and all of it with the body (the indexed column).
    title = models.TextField(_("title"))
    heading = models.TextField(_("story and storyteller"))
    summary = models.TextField(_("summary"))
    document = models.TextField(_("document"))
    # The document's distinct pieces of words of one and two characters, separated by spaces
    # (search.text.short_grams): the index of words too short for a trigram (search.querysets).
    grams = models.TextField(_("short pieces of words"))
    # The digest of what the text above was derived from (search.index.entry_source): a refresh works out
    # again only the texts whose source changed. Null until an entry is written with one (a column that
    # could not be null would make Django rebuild the table on SQLite, and drop its text indexes' triggers).
    source = models.CharField(_("source digest"), max_length=32, null=True, editable=False)  # noqa: DJ001

    objects = SearchEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        constraints = [models.UniqueConstraint(fields=["part", "language"], name="search_entry_unique")]
        indexes = [
            # Short queries walk a language's entries newest first (search.querysets).
            # With the window's end, so that picking them reads the index alone.
            models.Index(fields=["language", "-published_at", "-part", "review_by"], name="search_entry_newest_idx"),
            models.Index(fields=["storyteller"], name="search_entry_teller_idx"),
            models.Index(fields=["story"], name="search_entry_story_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.part_id} ({self.language})"
