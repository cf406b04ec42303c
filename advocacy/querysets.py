"""Which campaigns readers see, decided here and nowhere else."""

import datetime

from django.db import models
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from stories.querysets import reading_language

# A recipient's address is trusted for this long after someone last checked it.
VERIFICATION_DAYS = 365


class CampaignQuerySet(models.QuerySet):
    def live(self, language: str | None = None, *, today: datetime.date | None = None) -> "CampaignQuerySet":
        """Campaigns readers may see in the language: published, between their dates, and written in it.

        The end date is the last day a campaign is shown; the next day it leaves every page by itself.
        """
        code = reading_language(language)
        if not code:
            return self.none()
        today = today or timezone.localdate()
        return self.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today),
            status=self.model.Status.PUBLISHED,
            starts_on__lte=today,
            **{f"title_{code}__gt": ""},
        )

    def with_actions(self) -> "CampaignQuerySet":
        from advocacy.models import Action, Recipient

        return self.prefetch_related(
            Prefetch(
                "actions",
                queryset=Action.objects.order_by("position", "pk").prefetch_related(
                    Prefetch("recipients", queryset=Recipient.objects.select_related("country"))
                ),
            )
        )

    def beside_story(
        self,
        story,
        language: str | None = None,
        *,
        today: datetime.date | None = None,
        may_advocate: bool | None = None,
    ) -> list:
        """The live campaigns to show next to a story, in the editors' order, or else the featured one.

        A story stands beside its linked campaigns only while its teller's consent covers use in
        advocacy (``Story.objects.live_for_advocacy``, the fast form of ``public_for_advocacy``);
        otherwise, or when it has no live linked campaign, readers see the site-wide featured
        campaign, which does not name the story. A page that has read the story's publication rows
        already knows that consent and passes it as ``may_advocate``. One query, plus one for the actions.
        """
        from advocacy.models import Action, CampaignStory
        from stories.models import Story

        code = reading_language(language)
        if not code:
            return []
        if may_advocate is None:
            may_advocate = Story.objects.live_for_advocacy(code).filter(pk=story.pk).exists()
        campaigns = self.live(code, today=today)
        if may_advocate:
            links = CampaignStory.objects.filter(campaign=OuterRef("pk"), story=story)
            campaigns = campaigns.annotate(link_position=Subquery(links.values("position")[:1])).filter(
                Q(link_position__isnull=False) | Q(is_featured=True)
            )
        else:
            campaigns = campaigns.filter(is_featured=True)
        campaigns = list(
            campaigns.order_by("-priority", "-starts_on", "pk").prefetch_related(
                Prefetch("actions", queryset=Action.objects.order_by("position", "pk"))
            )
        )
        linked = [c for c in campaigns if getattr(c, "link_position", None) is not None]
        if linked:
            return sorted(linked, key=lambda c: (c.link_position, -c.priority, c.pk))
        return [c for c in campaigns if c.is_featured][:1]


class RecipientQuerySet(models.QuerySet):
    def needing_verification(self, *, today: datetime.date | None = None) -> "RecipientQuerySet":
        """Recipients whose address nobody has checked for over a year."""
        today = today or timezone.localdate()
        return self.filter(last_verified_on__lt=today - datetime.timedelta(days=VERIFICATION_DAYS))
