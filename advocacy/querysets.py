"""Which campaigns readers see, decided here and nowhere else."""

import datetime
import functools

from django.conf import settings
from django.db import models
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.utils import timezone
from modeltranslation.translator import NotRegistered, translator

from archive.prepared import Param, PreparedQuery, Run, loaded, now_param, today_param
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


def beside_story_run(
    story,
    language: str | None = None,
    *,
    today: datetime.date | None = None,
    may_advocate: bool | None = None,
) -> Run | None:
    """The query ``beside_story`` reads, for a page that sends it with others (``run_together``); ``None``
    when the language is not one the site is read in."""
    from stories.models import Story

    code = reading_language(language)
    if not code:
        return None
    if may_advocate is None:
        may_advocate = Story.objects.live_for_advocacy(code).filter(pk=story.pk).exists()
    shape = {"language": code, "may_advocate": may_advocate}
    return BESIDE_STORY.run(shape=shape, today=today or timezone.localdate(), story=story.pk)


def beside_story(
    story,
    language: str | None = None,
    *,
    today: datetime.date | None = None,
    may_advocate: bool | None = None,
    rows: list[dict] | None = None,
) -> list:
    """The live campaigns to show next to a story, in the editors' order, or else the featured one.

    A story stands beside its linked campaigns only while its teller's consent covers use in
    advocacy (``Story.objects.live_for_advocacy``, the fast form of ``public_for_advocacy``);
    otherwise, or when it has no live linked campaign, readers see the site-wide featured
    campaign, which does not name the story. A page that has read the story's publication rows
    already knows that consent and passes it as ``may_advocate``.

    One prepared query (``archive.prepared``): the campaigns, with what the box beside a story shows
    in the language, each joined to its actions in order (a row per action), as ``shown_actions``.
    A function rather than a QuerySet method: it builds no QuerySet, and a manager's costs a part page
    more than the rows it reads. ``rows`` are those of ``beside_story_run`` with the same arguments, when
    the page has read them already.
    """
    from advocacy.models import Action, Campaign

    code = reading_language(language)
    if not code:
        return []
    if rows is None:
        rows = beside_story_run(story, code, today=today, may_advocate=may_advocate).rows()
    campaigns: dict[int, Campaign] = {}
    positions: dict[int, tuple] = {}
    for row in rows:
        campaign = campaigns.get(row["id"])
        if campaign is None:
            own = {name: value for name, value in row.items() if name in CAMPAIGN_FIELDS[code]}
            campaign = campaigns[row["id"]] = loaded(Campaign, own)
            campaign.shown_actions = []
            positions[row["id"]] = (row["link_position"], row["is_featured"])
        if row["action_id"] is not None:
            action = {name.removeprefix("action_"): value for name, value in row.items() if name.startswith("action_")}
            campaign.shown_actions.append(loaded(Action, {"campaign_id": row["id"], **action}))
    if not campaigns:
        return []
    linked = [pk for pk, (position, _featured) in positions.items() if position is not None]
    if linked:
        # The editors' order of the story's links; then the higher priority, then the older campaign.
        chosen = sorted(linked, key=lambda pk: (positions[pk][0], -campaigns[pk].priority, pk))
    else:
        chosen = [pk for pk, (_position, featured) in positions.items() if featured][:1]
    return [campaigns[pk] for pk in chosen]


def _beside_story(language: str, may_advocate: bool) -> models.QuerySet:
    """Live campaigns that may stand beside the story given as a parameter: linked to it, or featured."""
    from advocacy.models import Campaign, CampaignStory

    campaigns = Campaign.objects.live(language, today=today_param(unseen=False))
    if may_advocate:
        links = CampaignStory.objects.filter(campaign=OuterRef("pk"), story=Param("story", models.IntegerField()))
        return campaigns.annotate(link_position=Subquery(links.values("position")[:1])).filter(
            Q(link_position__isnull=False) | Q(is_featured=True)
        )
    # The story's teller has not agreed to advocacy: the featured campaign alone, which does not name it.
    return campaigns.filter(is_featured=True).annotate(link_position=Value(None, output_field=models.IntegerField()))


def _action_texts() -> list[str]:
    from advocacy.models import Action

    return sorted({name for names in Action.REQUIRED_TEXT.values() for name in names} | {"heading"})


# What the box shows of a campaign, in a language; the rest of a row is its action's.
CAMPAIGN_FIELDS = {
    code: ("id", "slug", "priority", "is_featured", *(f"{field}_{code}" for field in ("kicker", "title", "summary")))
    for code in ("en", "ko")
}


def _beside_story_rows(language: str, may_advocate: bool) -> models.QuerySet:
    """The campaigns, each with its actions joined in order (a row per action, or one row of NULLs)."""
    actions = {
        "action_id": F("actions__id"),
        "action_kind": F("actions__kind"),
        "action_url": F("actions__url"),
        **{f"action_{name}_{language}": F(f"actions__{name}_{language}") for name in _action_texts()},
    }
    return (
        _beside_story(language, may_advocate)
        .order_by("-priority", "-starts_on", "pk", "actions__position", "actions__pk")
        .values(*CAMPAIGN_FIELDS[language], "link_position", **actions)
    )


BESIDE_STORY = PreparedQuery(_beside_story_rows)


class RecipientQuerySet(models.QuerySet):
    def with_readability(self, language: str | None = None) -> "RecipientQuerySet":
        """Annotate ``in_language``: whether the office's labels may be shown in the language.

        True when the office's label and its country's or group's name have their original in the language
        (``LABEL_LANGUAGE``) or an approved, live translation into it: computed in the recipients' own query,
        never by fallback. (Whether the text itself is there, the page checks on the row.)
        """
        from translations.models import Translation
        from translations.registry import LABEL_LANGUAGE

        code = reading_language(language)
        if code == LABEL_LANGUAGE:
            return self.annotate(in_language=Value(True, output_field=models.BooleanField()))
        live = Translation.objects.live(code)
        readable = ExpressionWrapper(
            Exists(live.for_model("advocacy.recipient").filter(object_id=OuterRef("pk")))
            & (
                Exists(live.for_model("advocacy.country").filter(object_id=OuterRef("country_id")))
                | Exists(live.for_model("advocacy.recipientgroup").filter(object_id=OuterRef("group_id")))
            ),
            output_field=models.BooleanField(),
        )
        return self.annotate(in_language=readable)

    def needing_verification(self, *, today: datetime.date | None = None) -> "RecipientQuerySet":
        """Recipients whose address nobody has checked for over a year."""
        today = today or timezone.localdate()
        return self.filter(last_verified_on__lt=today - datetime.timedelta(days=VERIFICATION_DAYS))


class PressMentionQuerySet(models.QuerySet):
    def shown(self) -> "PressMentionQuerySet":
        """The press mentions readers see: shown, with a cleaned logo."""
        return self.filter(is_active=True).exclude(logo_key="").order_by("position", "pk")


def _press_strip_rows(language: str):
    """What the press strip shows of each shown mention, with the logo's words in the language only."""
    from advocacy.models import PressMention

    return PressMention.objects.shown().values(
        "id", "name", "link", f"alt_text_{language}", "logo_key", "logo_renditions"
    )


# The press strip is on every story page: one prepared query (archive.prepared), not the ORM's compile.
PRESS_STRIP = PreparedQuery(_press_strip_rows)


@functools.cache
def columns(model: type, language: str | None = None, *, also: tuple = (), skip: tuple = ()) -> tuple[str, ...]:
    """The columns ``Model.from_db`` gives an instance, less the untranslated originals of translated fields.

    modeltranslation reads and writes a translated field through its per-language columns (``title_en``),
    never the original column (``title``), which an instance loaded from the database does not keep. With a
    language, only that language's columns of the translated fields, and those named in ``also``; never the
    fields named in ``skip``. A column left out is deferred: reading it costs a query, which the pages'
    query-count tests catch.
    """
    try:
        options = translator.get_options_for_model(model).all_fields
    except NotRegistered:
        options = {}
    translated = {column.name: name for name, fields in options.items() for column in fields}
    kept = []
    for field in model._meta.concrete_fields:
        base = translated.get(field.name, field.name)
        if field.name in options or base in skip:
            continue
        if language and field.name in translated and field.name != f"{base}_{language}" and field.name not in also:
            continue
        kept.append(field.attname)
    return tuple(kept)


# What the campaign page reads of a campaign and its actions: their text in the reader's language, the
# campaign's title in every language (the page offers the labels' original language by name), and never
# the Markdown the HTML was rendered from.
def campaign_page_columns(language: str) -> tuple[str, ...]:
    from advocacy.models import Campaign

    titles = tuple(f"title_{code}" for code, _name in settings.LANGUAGES)
    return columns(Campaign, language, also=titles, skip=("body", "not_listed"))


def action_page_columns(language: str) -> tuple[str, ...]:
    from advocacy.models import Action

    return columns(Action, language)


def _campaign_page_rows(language: str) -> models.QuerySet:
    """The live campaign of a slug, a row per action in the editors' order (or one row of NULLs).

    ``live_<code>`` says, for each other language, whether the campaign is live in it too (by
    ``CampaignQuerySet.live``), for the page's alternates and its offer of the labels' original language.
    """
    from advocacy.models import Campaign

    today = today_param(unseen=False)
    others = {
        f"live_{code}": Exists(Campaign.objects.live(code, today=today).filter(pk=OuterRef("pk")))
        for code, _name in settings.LANGUAGES
        if code != language
    }
    actions = {f"action_{name}": F(f"actions__{name}") for name in action_page_columns(language)}
    return (
        Campaign.objects.live(language, today=today)
        .filter(slug=Param("slug", models.CharField()))
        .annotate(**others)
        .order_by("actions__position", "actions__pk")
        .values(*campaign_page_columns(language), *others, **actions)
    )


# The campaign page's campaign and its actions: one prepared query (archive.prepared).
CAMPAIGN_PAGE = PreparedQuery(_campaign_page_rows)


def _letter_recipient_rows(language: str) -> models.QuerySet:
    """The offices every letter of a campaign goes to, a row per (letter, office), with their country or group."""
    from advocacy.models import Action, Country, Recipient, RecipientGroup

    return (
        Recipient.objects.with_readability(language)
        .filter(actions__campaign=Param("campaign", models.BigIntegerField()), actions__kind=Action.Kind.LETTER)
        .order_by("actions__id", "country__code", "group__position", "kind", f"label_{language}", "pk")
        .values(
            *columns(Recipient, language, skip=("note",)),
            "in_language",
            of_action=F("actions__id"),
            **{f"in_country_{name}": F(f"country__{name}") for name in columns(Country, language)},
            **{f"in_group_{name}": F(f"group__{name}") for name in columns(RecipientGroup, language)},
        )
    )


# The campaign page's offices, for all its letters at once.
LETTER_RECIPIENTS = PreparedQuery(_letter_recipient_rows)


def _campaign_story_rows(language: str) -> models.QuerySet:
    """The stories a campaign links to that are live for advocacy, in the editors' order, with what a card shows.

    Only stories whose tellers agreed to their use in campaigns, by the visibility rule's fast form
    (``Story.objects.live_for_advocacy``); each with its cover photo while that is public (``stories.covers``).
    """
    from advocacy.models import CampaignStory
    from stories.covers import cover_fields, cover_is_live
    from stories.models import Story

    now, today = now_param(unseen=False), today_param(unseen=False)
    for_advocacy = Story.objects.live_for_advocacy(language, now=now, today=today).filter(pk=OuterRef("story_id"))
    return (
        CampaignStory.objects.filter(Exists(for_advocacy), campaign=Param("campaign", models.BigIntegerField()))
        .annotate(cover_is_live=cover_is_live("story__", language, now, today=today))
        .order_by("position", "story_id")
        .values(
            "story_id",
            *(f"story__{name}" for name in STORY_CARD_FIELDS[language]),
            "story__storyteller_id",
            f"story__storyteller__pseudonym_{language}",
            "story__cover_id",
            "cover_is_live",
            *(f"story__cover__{name}" for name in cover_fields(language)),
        )
    )


# What a story card (templates/includes/story_card.html) and a campaign's share card read of a story (its cover:
# stories.covers.cover_fields).
STORY_CARD_FIELDS = {code: ("slug", "kind", "is_complete", f"title_{code}", f"summary_{code}") for code in ("en", "ko")}

# The campaign page's stories: one prepared query.
CAMPAIGN_STORIES = PreparedQuery(_campaign_story_rows)
