"""Which campaigns readers see, decided here and nowhere else."""

import datetime

from django.db import models
from django.db.models import OuterRef, Prefetch, Q, Subquery, Value
from django.utils import timezone

from archive.prepared import Param, PreparedQuery, loaded
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
                    Prefetch("recipients", queryset=Recipient.objects.select_related("country", "group"))
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
        already knows that consent and passes it as ``may_advocate``.

        Two prepared queries (``archive.prepared``): the campaigns, with what the box beside a story
        shows in the language, and their actions in order, as ``shown_actions``.
        """
        from advocacy.models import Action, Campaign
        from stories.models import Story

        code = reading_language(language)
        if not code:
            return []
        if may_advocate is None:
            may_advocate = Story.objects.live_for_advocacy(code).filter(pk=story.pk).exists()
        today = today or timezone.localdate()
        shape = {"language": code, "may_advocate": may_advocate}
        rows = BESIDE_STORY(shape=shape, today=today, story=story.pk)
        if not rows:
            return []
        linked = [row for row in rows if row["link_position"] is not None]
        if linked:
            rows = sorted(linked, key=lambda row: (row["link_position"], -row["priority"], row["id"]))
        else:
            rows = [row for row in rows if row["is_featured"]][:1]
        campaigns = {row["id"]: loaded(Campaign, _own_fields(row)) for row in rows}
        for campaign in campaigns.values():
            campaign.shown_actions = []
        for row in BESIDE_STORY_ACTIONS(shape=shape, today=today, story=story.pk):
            if row["campaign_id"] in campaigns:
                campaigns[row["campaign_id"]].shown_actions.append(loaded(Action, row))
        return list(campaigns.values())


def _own_fields(row: dict) -> dict:
    return {name: value for name, value in row.items() if name != "link_position"}


def _beside_story(language: str, may_advocate: bool) -> models.QuerySet:
    """Live campaigns that may stand beside the story given as a parameter: linked to it, or featured."""
    from advocacy.models import Campaign, CampaignStory

    campaigns = Campaign.objects.live(language, today=Param("today", models.DateField()))
    if may_advocate:
        links = CampaignStory.objects.filter(campaign=OuterRef("pk"), story=Param("story", models.IntegerField()))
        return campaigns.annotate(link_position=Subquery(links.values("position")[:1])).filter(
            Q(link_position__isnull=False) | Q(is_featured=True)
        )
    # The story's teller has not agreed to advocacy: the featured campaign alone, which does not name it.
    return campaigns.filter(is_featured=True).annotate(link_position=Value(None, output_field=models.IntegerField()))


BESIDE_STORY = PreparedQuery(
    lambda language, may_advocate: (
        _beside_story(language, may_advocate)
        .order_by("-priority", "-starts_on", "pk")
        .values(
            "id",
            "slug",
            "priority",
            "is_featured",
            "link_position",
            *(f"{field}_{language}" for field in ("kicker", "title", "summary")),
        )
    )
)


def _beside_story_actions(language: str, may_advocate: bool) -> models.QuerySet:
    """The actions of those campaigns, in order, with the text that says whether each is shown in the language."""
    from advocacy.models import Action

    texts = {name for names in Action.REQUIRED_TEXT.values() for name in names} | {"heading"}
    return (
        Action.objects.filter(campaign__in=_beside_story(language, may_advocate).values("pk"))
        .order_by("position", "pk")
        .values("id", "campaign_id", "kind", "url", *(f"{name}_{language}" for name in sorted(texts)))
    )


BESIDE_STORY_ACTIONS = PreparedQuery(_beside_story_actions)


class RecipientQuerySet(models.QuerySet):
    def needing_verification(self, *, today: datetime.date | None = None) -> "RecipientQuerySet":
        """Recipients whose address nobody has checked for over a year."""
        today = today or timezone.localdate()
        return self.filter(last_verified_on__lt=today - datetime.timedelta(days=VERIFICATION_DAYS))


class PressMentionQuerySet(models.QuerySet):
    def shown(self) -> "PressMentionQuerySet":
        """The press mentions readers see: shown, with a cleaned logo."""
        return self.filter(is_active=True).exclude(logo_key="").order_by("position", "pk")
