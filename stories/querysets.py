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
        self, *, language: str | None = None, today: datetime.date | None = None, scopes: tuple[str, ...] = ()
    ) -> "ConsentQuerySet":
        """Effective records that are given, not past review and cover the web in the language.

        ``scopes`` names further consent fields that must also be granted, such as ``covers_advocacy``.
        """
        code = reading_language(language)
        if not code:
            return self.none()
        today = today or timezone.localdate()
        return self.effective().filter(
            decision=self.model.Decision.GIVEN,
            review_by__gte=today,
            covers_web=True,
            **{LANGUAGE_SCOPES[code]: True},
            **dict.fromkeys(scopes, True),
        )


class StorytellerQuerySet(models.QuerySet):
    def withdrawn(self) -> "StorytellerQuerySet":
        """Storytellers whose consent in force is a withdrawal: nobody works on their text any more."""
        from stories.models import Consent

        ended = Consent.objects.effective().filter(decision=Consent.Decision.WITHDRAWN)
        return self.filter(pk__in=ended.values("storyteller_id"))

    def consenting(
        self, *, language: str | None = None, today: datetime.date | None = None, scopes: tuple[str, ...] = ()
    ) -> "StorytellerQuerySet":
        """Storytellers whose consent in force lets the web show their story in the language."""
        from stories.models import Consent

        active = Consent.objects.active(language=language, today=today, scopes=scopes)
        return self.filter(pk__in=active.values("storyteller_id"))


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


class PartQuerySet(AwaitingTranslationMixin, models.QuerySet):
    storyteller_path = "story__storyteller"

    def public(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "PartQuerySet":
        """Parts a reader may see in the language: published, due, and consented to."""
        from stories.models import Story, Storyteller

        code = reading_language(language)
        if not code:
            return self.none()
        now = now or timezone.now()
        return self.filter(
            status=self.model.Status.PUBLISHED,
            published_at__lte=now,
            story__status=Story.Status.PUBLISHED,
            story__storyteller__in=Storyteller.objects.consenting(language=code, today=timezone.localdate(now)),
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


class StoryQuerySet(AwaitingTranslationMixin, models.QuerySet):
    storyteller_path = "storyteller"

    def public(self, language: str | None = None, *, now: datetime.datetime | None = None) -> "StoryQuerySet":
        """Stories a reader may see in the language: at least one of their parts is public."""
        from stories.models import Part

        code = reading_language(language)
        if not code:
            return self.none()
        return self.filter(Exists(Part.objects.public(code, now=now).filter(story=OuterRef("pk"))))

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
        """
        from stories.models import Part, Storyteller

        code = reading_language(language)
        if not code:
            return self.none()
        now = now or timezone.now()
        photos_consented = Storyteller.objects.consenting(
            language=code, today=timezone.localdate(now), scopes=("covers_photos",)
        )
        return self.filter(
            Q(shows_identifiable_person=False) | Q(part__story__storyteller__in=photos_consented),
            part__in=Part.objects.public(code, now=now),
            # Renditions exist only once the upload has been cleaned; the original is never shown.
            rendition_key__gt="",
            # No silent fallback: an image without alt text in the language stays hidden in it...
            **{f"alt_text_{code}__gt": ""},
        ).filter(
            # ...and its alt text, caption and credit are the original or an approved translation.
            in_language(
                code, original_field="part__story__original_language", model_label="stories.storyimage", pk_field="pk"
            )
        )
