"""Campaigns, their calls to action, the recipient directory, subscribers and anonymous action counts."""

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from advocacy.querysets import VERIFICATION_DAYS, CampaignQuerySet, PressMentionQuerySet, RecipientQuerySet
from advocacy.sharing import X_MAX_WEIGHTED_LENGTH, single_line, x_post_length
from archive.i18n import absolute_url, reverse_page
from archive.richtext import render_markdown, render_translated_markdown
from archive.validators import BODY_VALIDATORS, TEXT_VALIDATORS
from stories import privacy
from stories.images import Renditions
from stories.models import Language
from translations.registry import require_original_label


def require_some_language(obj: models.Model, name: str) -> None:
    """Refuse an object whose translated field is empty in every language."""
    if not any((getattr(obj, f"{name}_{code}") or "").strip() for code, _name in settings.LANGUAGES):
        raise ValidationError({f"{name}_{settings.LANGUAGES[0][0]}": _("Fill this in for at least one language.")})


class Country(models.Model):
    """A country where letters can be sent, as readers pick it."""

    code = models.CharField(
        _("country code"),
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Two capital letters, as in ISO 3166-1: US, GB, KR."))],
        help_text=_("Two capital letters, as in ISO 3166-1: US, GB, KR."),
    )
    # Required in English (clean); readers of another language see it once its translation is approved.
    name = models.CharField(_("name"), max_length=100, blank=True, validators=TEXT_VALIDATORS)

    class Meta:
        ordering = ["code"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")

    def __str__(self) -> str:
        return self.name or self.code

    def clean(self) -> None:
        require_original_label(self, "name")
        # Readers pick it on every letter: site-wide protected terms must not appear in it.
        privacy.check(self)


class RecipientGroup(models.Model):
    """Offices every reader is asked to write to, whatever their country: missions to international bodies.

    A model of its own rather than a flag on the office: a group has a heading readers see, in their
    language, and an office is filed under a country or under a group, never both (a constraint on
    ``Recipient``), so a mission never has to pretend to be in a country to be shown.
    """

    # Required in English (clean), like a country's name: it heads the offices on the page.
    name = models.CharField(
        _("name"),
        max_length=100,
        blank=True,
        help_text=_("The heading readers see above these offices. For example: International organisations."),
        validators=TEXT_VALIDATORS,
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Lower comes first."))

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("recipient group for every reader")
        verbose_name_plural = _("recipient groups for every reader")

    def __str__(self) -> str:
        return self.name or str(_("Group {number}").format(number=self.pk or "—"))

    def clean(self) -> None:
        require_original_label(self, "name")
        # Shown above offices on every letter that writes to them: site-wide protected terms must not appear in it.
        privacy.check(self)


class Recipient(models.Model):
    """An office that receives letters, kept once and reused by every campaign that writes to it.

    It belongs to a country (readers who live there write to it) or to a group every reader writes to.
    """

    class Kind(models.TextChoices):
        EMBASSY = "embassy", _("Embassy")
        CONSULATE = "consulate", _("Consulate")
        UN_MISSION = "un_mission", _("Mission to the United Nations")
        INTERNATIONAL = "intl_office", _("Office of an international organisation")

    label = models.CharField(
        _("label"),
        max_length=200,
        blank=True,
        help_text=_("For example: Embassy in Washington, DC."),
        validators=TEXT_VALIDATORS,
    )
    email = models.EmailField(_("email address"), unique=True)
    country = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recipients",
        verbose_name=_("country"),
        help_text=_("Readers who live in this country are asked to write to it. Leave empty for a group."),
    )
    group = models.ForeignKey(
        RecipientGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recipients",
        verbose_name=_("group for every reader"),
        help_text=_("Every reader is asked to write to it, whatever their country. Leave empty for a country."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    last_verified_on = models.DateField(
        _("last verified"),
        default=timezone.localdate,
        help_text=_("The day someone last checked that this address is right. Check again within a year."),
    )
    note = models.TextField(
        _("note"), blank=True, help_text=_("Where the address comes from. Staff only."), validators=TEXT_VALIDATORS
    )

    objects = RecipientQuerySet.as_manager()

    class Meta:
        ordering = ["country__code", "group__position", "kind", "label"]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            models.CheckConstraint(
                condition=Q(country__isnull=False, group__isnull=True) | Q(country__isnull=True, group__isnull=False),
                name="recipient_in_country_or_group",
            )
        ]

    def __str__(self) -> str:
        return self.label or self.email

    def clean(self) -> None:
        require_original_label(self, "label")
        if (self.country_id is None) == (self.group_id is None):
            message = _("Choose a country or a group for every reader, not both.")
            raise ValidationError({"country": message, "group": message})
        # Shown beside every letter written to it: site-wide protected terms must not appear in it.
        privacy.check(self)

    def needs_verification(self, *, today: datetime.date | None = None) -> bool:
        """Say whether nobody has checked the address for over a year."""
        today = today or timezone.localdate()
        return self.last_verified_on < today - datetime.timedelta(days=VERIFICATION_DAYS)


class Campaign(models.Model):
    """An urgent call for action, shown on its own page and beside the stories that show why it matters."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    kicker = models.CharField(
        _("kicker"),
        max_length=40,
        blank=True,
        help_text=_("A word above the title: Urgent."),
        validators=TEXT_VALIDATORS,
    )
    title = models.CharField(_("title"), max_length=200, blank=True, validators=TEXT_VALIDATORS)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    byline = models.CharField(
        _("byline"),
        max_length=200,
        blank=True,
        help_text=_("For example: A call for action from our director."),
        validators=TEXT_VALIDATORS,
    )
    date = models.DateField(_("date"), default=timezone.localdate, help_text=_("The date readers see."))
    summary = models.TextField(
        _("summary"), blank=True, help_text=_("One or two sentences, shown beside stories."), validators=TEXT_VALIDATORS
    )
    body = models.TextField(
        _("body"), blank=True, help_text=_("Markdown. Rendered and cleaned when saved."), validators=BODY_VALIDATORS
    )
    body_html = models.TextField(_("rendered body"), blank=True, editable=False)
    not_listed = models.TextField(
        _("if the reader's country is not listed"),
        blank=True,
        help_text=_(
            "Shown beside the country menu of the letter, for readers whose country has no address. Markdown. "
            "Leave empty for a standard sentence."
        ),
        validators=BODY_VALIDATORS,
    )
    not_listed_html = models.TextField(_("rendered text for an unlisted country"), blank=True, editable=False)
    # The photo at the top of the page, also its share image: only renditions rebuilt from its pixels are
    # kept (stories.images), in private storage under random names, served by ``advocacy:campaign-photo``.
    photo_key = models.CharField(_("photo key"), max_length=32, blank=True, editable=False, db_index=True)
    photo_renditions = models.JSONField(_("photo renditions"), default=list, blank=True, editable=False)
    photo_alt = models.CharField(
        _("photo alt text"),
        max_length=300,
        blank=True,
        help_text=_("What the photo shows, for readers who cannot see it."),
        validators=TEXT_VALIDATORS,
    )
    photo_caption = models.CharField(_("photo caption"), max_length=500, blank=True, validators=TEXT_VALIDATORS)
    photo_credit = models.CharField(
        _("photo credit"),
        max_length=200,
        blank=True,
        help_text=_("Who took the photo. Shown after “Photo:”."),
        validators=TEXT_VALIDATORS,
    )
    starts_on = models.DateField(_("first day"), default=timezone.localdate)
    ends_on = models.DateField(
        _("last day"),
        null=True,
        blank=True,
        help_text=_("The campaign leaves every page by itself after this day. Leave empty to keep it running."),
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=0, help_text=_("Higher comes first."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    is_featured = models.BooleanField(
        _("featured site-wide"),
        default=False,
        help_text=_("Shown beside every story that has no live campaign of its own."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "-starts_on", "pk"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [models.Index(fields=["status", "starts_on", "ends_on"], name="campaign_live_idx")]

    def __str__(self) -> str:
        return self.title or self.slug

    def save(self, *args, **kwargs) -> None:
        # Render once here, per language, so that no request ever renders Markdown.
        render_translated_markdown(self, kwargs)
        languages = [code for code, _name in settings.LANGUAGES]
        for code in languages:
            setattr(self, f"not_listed_html_{code}", render_markdown(getattr(self, f"not_listed_{code}") or ""))
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and any(name.startswith("not_listed") for name in update_fields):
            kwargs["update_fields"] = {*update_fields, *(f"not_listed_html_{code}" for code in languages)}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse_page("advocacy:campaign", slug=self.slug)

    def clean(self) -> None:
        require_some_language(self, "title")
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The last day cannot come before the first day.")})
        if self.status == self.Status.PUBLISHED:
            # Site-wide protected terms (safe houses, routes) must not appear in a campaign either.
            privacy.check(self)

    def is_live(self, language: str | None = None) -> bool:
        """Say whether readers may see this campaign, by the same rule as ``Campaign.objects.live()``."""
        return type(self).objects.live(language).filter(pk=self.pk).exists()

    @property
    def photo(self) -> Renditions:
        return Renditions(self.photo_key, self.photo_renditions, "advocacy:campaign-photo")

    def share_image_url(self) -> str:
        """The absolute URL of the photo's JPEG for link previews (og:image), or "" without a photo."""
        url = self.photo.share_url
        return absolute_url(url) if url else ""


class CampaignStory(models.Model):
    """A story that shows why a campaign matters, linked by an editor."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="story_links", verbose_name=_("campaign")
    )
    story = models.ForeignKey(
        "stories.Story", on_delete=models.CASCADE, related_name="campaign_links", verbose_name=_("story")
    )
    position = models.PositiveSmallIntegerField(
        _("order"),
        default=0,
        help_text=_("Lower comes first, among the campaigns beside this story and the stories on the campaign page."),
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("story behind the campaign")
        verbose_name_plural = _("stories behind the campaign")
        constraints = [models.UniqueConstraint(fields=["campaign", "story"], name="campaign_story_unique")]

    def __str__(self) -> str:
        return str(_("{story} in {campaign}").format(story=self.story, campaign=self.campaign))


def https_only(value: str) -> None:
    if value and urlsplit(value).scheme.lower() != "https":
        raise ValidationError(_("Use an https:// address."))


class Action(models.Model):
    """One thing a reader can do for a campaign, shown in the editors' order."""

    class Kind(models.TextChoices):
        LETTER = "letter", _("Letter")
        SOCIAL = "social", _("Social media post")
        DONATE = "donate", _("Donate")
        MONTHLY = "monthly", _("Monthly giving")
        NEWSLETTER = "newsletter", _("Newsletter sign-up")

    # Which translated fields each kind needs before it can be shown in a language.
    REQUIRED_TEXT = {
        Kind.LETTER: ("subject_template", "body_template"),
        Kind.SOCIAL: ("post_template",),
        Kind.DONATE: ("button_label",),
        Kind.MONTHLY: ("button_label",),
        Kind.NEWSLETTER: (),
    }
    # The fields only some kinds use; the back office shows each action the fields of its kind.
    KIND_FIELDS = {
        "subject_template": (Kind.LETTER,),
        "body_template": (Kind.LETTER,),
        "recipients": (Kind.LETTER,),
        "import_recipients": (Kind.LETTER,),
        "overdue_recipients": (Kind.LETTER,),
        "post_template": (Kind.SOCIAL,),
        "button_label": (Kind.DONATE, Kind.MONTHLY, Kind.NEWSLETTER),
        "url": (Kind.DONATE, Kind.MONTHLY),
    }
    DEFAULT_HEADINGS = {
        Kind.LETTER: _("Write to the embassies"),
        Kind.SOCIAL: _("Share on social media"),
        Kind.DONATE: _("Donate"),
        Kind.MONTHLY: _("Give every month"),
        Kind.NEWSLETTER: _("Get updates by email"),
    }

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="actions", verbose_name=_("campaign"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Lower comes first."))
    heading = models.CharField(_("heading"), max_length=200, blank=True, validators=TEXT_VALIDATORS)
    blurb = models.TextField(
        _("short text"), blank=True, help_text=_("Plain text shown under the heading."), validators=TEXT_VALIDATORS
    )
    subject_template = models.CharField(
        _("letter subject"),
        max_length=150,
        blank=True,
        help_text=_("Letters only. One line."),
        validators=TEXT_VALIDATORS,
    )
    body_template = models.TextField(
        _("letter text"),
        blank=True,
        help_text=_(
            "Letters only. Plain text; readers may send it as it is. A long letter is offered to copy "
            "rather than opened in the reader's email app."
        ),
        validators=TEXT_VALIDATORS,
    )
    post_template = models.TextField(
        _("post text"),
        blank=True,
        help_text=_("Social posts only. The campaign link is added after it; together they must fit X's limit."),
        validators=TEXT_VALIDATORS,
    )
    button_label = models.CharField(
        _("button label"),
        max_length=80,
        blank=True,
        help_text=_("Donate and monthly giving: Give now."),
        validators=TEXT_VALIDATORS,
    )
    url = models.URLField(
        _("link"), blank=True, validators=[https_only], help_text=_("Donate and monthly giving: the giving page.")
    )
    recipients = models.ManyToManyField(
        Recipient,
        blank=True,
        related_name="actions",
        verbose_name=_("recipients"),
        help_text=_(
            "Letters only: the offices readers write to, shown by country, and after them those of the groups "
            "every reader is asked to write to."
        ),
    )

    class Meta:
        ordering = ["campaign", "position", "pk"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")

    def __str__(self) -> str:
        return str(self.display_heading)

    @property
    def display_heading(self) -> str:
        return self.heading or self.DEFAULT_HEADINGS.get(self.kind, "")

    def clean(self) -> None:
        errors: dict[str, list] = {}
        languages = [code for code, _name in settings.LANGUAGES]
        required = self.REQUIRED_TEXT.get(self.kind, ())
        if required and not any(self.is_available(code) for code in languages):
            for name in required:
                errors.setdefault(f"{name}_{languages[0]}", []).append(
                    _("This kind of action needs this text in at least one language.")
                )
        for code in languages:
            filled = [name for name in required if (getattr(self, f"{name}_{code}") or "").strip()]
            if filled:
                for name in required:
                    if name not in filled:
                        errors.setdefault(f"{name}_{code}", []).append(
                            _("Fill this in too, or leave this language empty.")
                        )
            subject = getattr(self, f"subject_template_{code}") or ""
            if subject != single_line(subject):
                errors.setdefault(f"subject_template_{code}", []).append(_("The subject must be one line of text."))
            post = getattr(self, f"post_template_{code}") or ""
            if self.kind == self.Kind.SOCIAL and post.strip():
                length = x_post_length(post)
                if length > X_MAX_WEIGHTED_LENGTH:
                    errors.setdefault(f"post_template_{code}", []).append(
                        _(
                            "With the campaign link this post is {length} characters as X counts them "
                            "(Korean letters count twice); the limit is {limit}."
                        ).format(length=length, limit=X_MAX_WEIGHTED_LENGTH)
                    )
        if self.kind in {self.Kind.DONATE, self.Kind.MONTHLY} and not self.url:
            errors.setdefault("url", []).append(_("Donate and monthly giving need a link."))
        if errors:
            raise ValidationError(errors)

    def is_available(self, language: str) -> bool:
        """Say whether the action has everything it needs to be shown in the language (no fallback)."""
        if self.kind in {self.Kind.DONATE, self.Kind.MONTHLY} and not self.url:
            return False
        return all((getattr(self, f"{name}_{language}", "") or "").strip() for name in self.REQUIRED_TEXT[self.kind])

    def count_kind(self) -> str | None:
        """The counter a click on this action's link adds to, for kinds that link elsewhere."""
        return {
            self.Kind.SOCIAL: ActionCount.Kind.POST_SHARED,
            self.Kind.DONATE: ActionCount.Kind.DONATE_CLICKED,
            self.Kind.MONTHLY: ActionCount.Kind.MONTHLY_CLICKED,
        }.get(self.kind)


class ActionCount(models.Model):
    """How many times readers did one thing for a campaign on one day. Nothing about who they were."""

    class Kind(models.TextChoices):
        LETTER_OPENED = "letter_opened", _("Letter opened in an email app")
        LETTER_COPIED = "letter_copied", _("Letter copied")
        POST_SHARED = "post_shared", _("Post shared on X")
        POST_COPIED = "post_copied", _("Post copied")
        DONATE_CLICKED = "donate_clicked", _("Donate clicked")
        MONTHLY_CLICKED = "monthly_clicked", _("Monthly giving clicked")
        SIGNED_UP = "signed_up", _("Signed up for the newsletter")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="counts", verbose_name=_("campaign"))
    day = models.DateField(_("day"))
    kind = models.CharField(_("what readers did"), max_length=20, choices=Kind.choices)
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        ordering = ["-day", "campaign", "kind"]
        verbose_name = _("action count")
        verbose_name_plural = _("action counts")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day", "kind"], name="action_count_unique_per_day"),
        ]

    def __str__(self) -> str:
        return str(
            _("{campaign}, {day}: {kind} × {count}").format(
                campaign=self.campaign, day=self.day.isoformat(), kind=self.get_kind_display(), count=self.count
            )
        )


class Subscriber(models.Model):
    """A newsletter subscription, confirmed by the address's owner before anything else is sent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.ENGLISH)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("last asked to confirm"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("newsletter subscriber")
        verbose_name_plural = _("newsletter subscribers")
        permissions = [("export_subscriber", _("Can export confirmed subscribers"))]

    def __str__(self) -> str:
        # Never the address: whatever prints a subscriber (logs, the admin's history) must not leak it.
        return str(_("Subscriber {number}").format(number=self.pk or "—"))


class NewsletterMessages(models.Model):
    """What a reader reads after a newsletter sign-up, or when the address cannot be used: one set for the site.

    The double opt-in is not the editors' to change: the page after a sign-up always says, in words of
    its own, how to confirm, whatever the message above it says.
    """

    SITE = 1

    success_message = models.TextField(
        _("after signing up"),
        blank=True,
        help_text=_(
            "Shown to a reader who has just signed up, above how to confirm. Plain text. "
            "Leave empty for: Thank you for signing up."
        ),
        validators=TEXT_VALIDATORS,
    )
    failure_message = models.TextField(
        _("when the address cannot be used"),
        blank=True,
        help_text=_(
            "Shown when the email address a reader gave cannot be used. Plain text. Leave empty for: Please "
            "check your email address. What readers read about too many sign-ups or an outage stays as it is."
        ),
        validators=TEXT_VALIDATORS,
    )

    class Meta:
        verbose_name = _("newsletter messages")
        verbose_name_plural = _("newsletter messages")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="newsletter_messages_one_for_the_site")]

    def __str__(self) -> str:
        return str(_("Newsletter messages"))

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SITE
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # Read by every reader who signs up: site-wide protected terms must not appear in it.
        privacy.check(self)

    @classmethod
    def text(cls, name: str, *, language: str, default: str) -> str:
        """The site's message in the language itself (never another language's), or the default."""
        messages = cls.objects.filter(pk=cls.SITE).first()
        text = (getattr(messages, f"{name}_{language}", "") or "").strip() if messages and language else ""
        return text or str(default)


class PressMention(models.Model):
    """An outlet that reported on the archive, shown site-wide as a logo linking to its report."""

    name = models.CharField(
        _("outlet"),
        max_length=200,
        help_text=_("The outlet's name, for the back office and as the link's title."),
        validators=TEXT_VALIDATORS,
    )
    link = models.URLField(
        _("link"), max_length=500, validators=[https_only], help_text=_("The report, or the outlet's page.")
    )
    alt_text = models.CharField(
        _("alt text"),
        max_length=200,
        blank=True,
        help_text=_("What the logo says, for readers who cannot see it: usually the outlet's name."),
        validators=TEXT_VALIDATORS,
    )
    # The logo as readers get it: renditions rebuilt from its pixels (stories.images), never the upload.
    logo_key = models.CharField(_("logo key"), max_length=32, blank=True, editable=False, db_index=True)
    logo_renditions = models.JSONField(_("logo renditions"), default=list, blank=True, editable=False)
    position = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Lower comes first."))
    is_active = models.BooleanField(_("shown"), default=True, help_text=_("Untick to take it off every page."))

    objects = PressMentionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("press mention")
        verbose_name_plural = _("press mentions")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        require_some_language(self, "alt_text")
        # Shown on every story page: site-wide protected terms must not appear in it.
        privacy.check(self)

    @property
    def logo(self) -> Renditions:
        return Renditions(self.logo_key, self.logo_renditions, "advocacy:press-logo")
