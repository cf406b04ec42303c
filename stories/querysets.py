"""The visibility rule: what a reader may see, decided here and nowhere else."""

import datetime

from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone, translation

# Which consent scope covers reading in each language.
LANGUAGE_SCOPES = {"en": "covers_english", "ko": "covers_korean"}


def reading_language(language: str | None) -> str:
    """Return the language to check, defaulting to the active one."""
    code = (language or translation.get_language() or "en").split("-")[0]
    if code not in LANGUAGE_SCOPES:
        # A language the site does not publish in has nothing public.
        return ""
    return code


def in_language(code: str, *, original_field: str, model_label: str, pk_field: str) -> Q:
    """Match objects readable in the language: it is their original, or an approved translation is live.

    There is no fallback: text in a language that is neither original nor approved is never shown.
    """
    from translations.models import Translation

    live = Translation.objects.live(code).for_model(model_label).filter(object_id=OuterRef(pk_field))
    return Q(**{original_field: code}) | Exists(live)


def live_window(relation: str, code: str | None, now: datetime.datetime | None = None, *, today=None, **row) -> Q:
    """Match publication rows of the language (or, with None, of any language) whose window holds ``now``.

    A row exists only while every condition of the rule that a write changes holds; the window
    holds the two that time alone changes: the publication time and the consent's review-by date.
    ``row`` adds conditions on the same row (one join, not two). ``today`` is the local date of ``now``,
    given apart only when ``now`` is a prepared query's parameter (``archive.prepared.Param``).
    """
    now = now or timezone.now()
    path = f"{relation}__" if relation else ""
    conditions = {
        f"{path}published_at__lte": now,
        f"{path}review_by__gte": today if today is not None else timezone.localdate(now),
        **{f"{path}{name}": value for name, value in row.items()},
    }
    if code is not None:
        conditions[f"{path}language"] = code
    return Q(**conditions)


def consent_covers(
    path: str,
    *,
    language: str,
    today: datetime.date | None = None,
    scopes: tuple[str, ...] = (),
    review: bool = True,
) -> Exists:
    """Match rows whose storyteller (the field at ``path``) has consent in force that covers the language.

    Correlated on the row's own storyteller, so that the database looks up that storyteller's ledger
    instead of working out everyone's consent first.
    """
    from stories.models import Consent

    active = Consent.objects.active(language=language, today=today, scopes=scopes, review=review)
    return Exists(active.filter(storyteller=OuterRef(path)))


class PublicationQuerySet(models.QuerySet):
    """Rows of the publication table (stories.publication): the visibility rule, materialised."""

    def live(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "PublicationQuerySet":
        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(live_window("", code, now))

    def awaiting_translation(
        self, language: str | None, *, available_in: str, now: datetime.datetime | None = None, today=None
    ) -> "PublicationQuerySet":
        """Live rows in ``available_in`` of objects not live in ``language``, whose consent covers it too.

        The row form of ``live_awaiting_translation()``, so that lists can take the newest from the
        publication-time index instead of sorting every part. ``today`` as for ``live_window``.
        """
        code = reading_language(language)
        if not code or code == available_in:
            return self.none()
        key = self.model.object_field
        here = self.model.objects.filter(live_window("", code, now, today=today), **{key: OuterRef(key)})
        return self.filter(live_window("", available_in, now, today=today, **{LANGUAGE_SCOPES[code]: True})).exclude(
            Exists(here)
        )


class ConsentQuerySet(models.QuerySet):
    def effective(self) -> "ConsentQuerySet":
        """Keep only each storyteller's latest record, the one in force."""
        latest = (
            self.model.objects.filter(storyteller=OuterRef("storyteller"))
            .order_by("-recorded_at", "-pk")
            .values("pk")[:1]
        )
        return self.filter(pk=Subquery(latest))

    def active(
        self,
        *,
        language: str | None = None,
        today: datetime.date | None = None,
        scopes: tuple[str, ...] = (),
        review: bool = True,
    ) -> "ConsentQuerySet":
        """Effective records that are given, not past review and cover the web in the language.

        ``scopes`` names further consent fields that must also be granted, such as ``covers_advocacy``.
        ``review=False`` leaves out the review-by date, the one condition that time alone changes:
        the publication table stores that date instead (see ``stories.publication``).
        """
        code = reading_language(language)
        if not code:
            return self.none()
        conditions = {}
        if review:
            conditions["review_by__gte"] = today or timezone.localdate()
        return self.effective().filter(
            decision=self.model.Decision.GIVEN,
            covers_web=True,
            **{LANGUAGE_SCOPES[code]: True},
            **dict.fromkeys(scopes, True),
            **conditions,
        )


class StorytellerQuerySet(models.QuerySet):
    def withdrawn(self) -> "StorytellerQuerySet":
        """Storytellers whose consent in force is a withdrawal: nobody works on their text any more."""
        from stories.models import Consent

        ended = Consent.objects.effective().filter(decision=Consent.Decision.WITHDRAWN)
        return self.filter(pk__in=ended.values("storyteller_id"))

    def consenting(
        self,
        *,
        language: str | None = None,
        today: datetime.date | None = None,
        scopes: tuple[str, ...] = (),
        review: bool = True,
    ) -> "StorytellerQuerySet":
        """Storytellers whose consent in force lets the web show their story in the language."""

        return self.filter(consent_covers("pk", language=language, today=today, scopes=scopes, review=review))


class AwaitingTranslationMixin:
    """Find what readers of one language may be pointed to in another while its translation is missing."""

    # Path from the queryset's model to its storyteller.
    storyteller_path = ""

    def awaiting_translation(
        self, language: str | None, *, available_in: str, now: datetime.datetime | None = None
    ) -> models.QuerySet:
        """Public in ``available_in`` but not yet in ``language``, although consent covers both.

        Only a missing translation may be pointed out to readers. Anything kept from their
        language for any other reason (consent that does not cover it, above all) stays exactly
        like a page that never existed.
        """
        from stories.models import Storyteller

        code = reading_language(language)
        if not code or code == available_in:
            return self.none()
        now = now or timezone.now()
        consenting = Storyteller.objects.consenting(language=code, today=timezone.localdate(now))
        return (
            self.public(available_in, now=now)
            .exclude(pk__in=self.model.objects.public(code, now=now).values("pk"))
            .filter(**{f"{self.storyteller_path}__in": consenting})
        )

    def live_awaiting_translation(
        self, language: str | None, *, available_in: str, now: datetime.datetime | None = None
    ) -> models.QuerySet:
        """The fast form of ``awaiting_translation()``, read from the publication table.

        A live row in ``available_in`` carries the consent in force; its language scopes say whether
        that consent covers ``language`` too.
        """
        code = reading_language(language)
        if not code or code == available_in:
            return self.none()
        elsewhere = self.filter(live_window("publications", available_in, now, **{LANGUAGE_SCOPES[code]: True}))
        here = self.model.objects.filter(live_window("publications", code, now), pk=OuterRef("pk"))
        return elsewhere.exclude(Exists(here))


class PartQuerySet(AwaitingTranslationMixin, models.QuerySet):
    storyteller_path = "story__storyteller"

    def public(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "PartQuerySet":
        """Parts a reader may see in the language: published, due, and consented to.

        This is the definition. Reader pages read its materialised form, ``live()``, which tests and
        ``manage.py publication_check`` prove equal to it.
        """

        code = reading_language(language)
        if not code:
            return self.none()
        now = now or timezone.now()
        return self.publishable(code).filter(
            # The two conditions that time alone changes: the part is due, and consent is not past review.
            consent_covers("story__storyteller_id", language=code, today=timezone.localdate(now)),
            published_at__lte=now,
        )

    def publishable(self, language: str | None = None) -> "PartQuerySet":
        """Parts that are public in the language at some time: every condition of the rule but the clock's."""
        from stories.models import Story

        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(
            consent_covers("story__storyteller_id", language=code, review=False),
            status=self.model.Status.PUBLISHED,
            published_at__isnull=False,
            story__status=Story.Status.PUBLISHED,
            # No silent fallback: a part is public in a language only once it is written in it...
            **{f"title_{code}__gt": "", f"body_{code}__gt": "", f"story__title_{code}__gt": ""},
        ).filter(
            # ...and that text is the original or an approved translation, for the part, its story
            # and its storyteller alike.
            in_language(code, original_field="story__original_language", model_label="stories.part", pk_field="pk"),
            in_language(
                code, original_field="story__original_language", model_label="stories.story", pk_field="story_id"
            ),
            in_language(
                code,
                original_field="story__storyteller__original_language",
                model_label="stories.storyteller",
                pk_field="story__storyteller_id",
            ),
        )

    def live(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "PartQuerySet":
        """The fast form of ``public()``: an indexed lookup in the publication table."""
        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(live_window("publications", code, now))


class StoryQuerySet(AwaitingTranslationMixin, models.QuerySet):
    storyteller_path = "storyteller"

    def public(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "StoryQuerySet":
        """Stories a reader may see in the language: at least one of their parts is public."""
        from stories.models import Part

        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(Exists(Part.objects.public(code, now=now).filter(story=OuterRef("pk"))))

    def live(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "StoryQuerySet":
        """The fast form of ``public()``: an indexed lookup in the publication table."""
        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(live_window("publications", code, now))

    def live_for_advocacy(self, language: str | None = None, *, now: datetime.datetime | None = None, today=None):
        """The fast form of ``public_for_advocacy()``. ``today`` as in ``live_window``, for a prepared query."""
        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(live_window("publications", code, now, today=today, covers_advocacy=True))

    def public_for_advocacy(self, language: str | None = None, *, now: datetime.datetime | None = None):
        """Public stories whose storyteller also consented to their use in advocacy campaigns."""
        from stories.models import Storyteller

        code = reading_language(language)
        now = now or timezone.now()
        consenting = Storyteller.objects.consenting(
            language=code, today=timezone.localdate(now), scopes=("covers_advocacy",)
        )
        return self.public(code, now=now).filter(storyteller__in=consenting)


class StoryImageQuerySet(models.QuerySet):
    def public(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "StoryImageQuerySet":
        """Photos a reader may see in the language: cleaned, described in it, on a public part, consented to.

        A photo marked as showing an identifiable person also needs the storyteller's consent to photos.
        (That consent is the one in force for the part, so the part's review date covers it too.)
        """
        from stories.models import Part

        code = reading_language(language)
        if not code:
            return self.none()
        return self.publishable(code).filter(part__in=Part.objects.public(code, now=now))

    def publishable(self, language: str | None = None) -> "StoryImageQuerySet":
        """Photos that are public in the language at some time: every condition but the clock's."""
        from stories.models import Part

        code = reading_language(language)
        if not code:
            return self.none()
        return self.shown_on_publishable_parts(code).filter(part__in=Part.objects.publishable(code))

    def shown_on_publishable_parts(self, code: str) -> "StoryImageQuerySet":
        """The photo's own conditions: what makes it public in the language on a part that is."""

        photos_consented = consent_covers(
            "part__story__storyteller_id", language=code, scopes=("covers_photos",), review=False
        )
        return self.filter(
            Q(shows_identifiable_person=False) | photos_consented,
            # Processed: a rendition key exists only while renditions of this very upload and these areas do
            # (the task sets it as it marks the photo ready; a new upload, new areas or a failure clear it).
            # The original is never shown.
            rendition_key__gt="",
            # No silent fallback: an image without alt text in the language stays hidden in it...
            **{f"alt_text_{code}__gt": ""},
        ).filter(
            # ...and its alt text, caption and credit are the original or an approved translation.
            in_language(
                code, original_field="part__story__original_language", model_label="stories.storyimage", pk_field="pk"
            )
        )

    def live(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "StoryImageQuerySet":
        """The fast form of ``public()``: an indexed lookup in the publication table."""
        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(live_window("publications", code, now))


def themes_with_live_stories(language: str | None = None) -> models.QuerySet:
    """Themes with at least one story live in the language, by slug (the story index's list of themes).

    For each theme, its stories until the first live one: a scalar subquery with LIMIT 1, which every
    database runs as a short nested loop of probes of the publication table.
    """
    from stories.models import Story, StoryPublication, Theme

    code = reading_language(language)
    if not code:
        return Theme.objects.none()
    live = StoryPublication.objects.live(code).filter(story_id=OuterRef("story_id"))
    first_live = Story.themes.through.objects.filter(Exists(live), theme_id=OuterRef("pk")).values("story_id")[:1]
    return Theme.objects.alias(first_live=Subquery(first_live)).filter(first_live__isnull=False).order_by("slug")
