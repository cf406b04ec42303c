"""The back office for campaign managers: campaigns, actions, recipients, subscribers and what readers did."""

import datetime
import logging

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TabbedTranslationAdmin, TranslationStackedInline

from advocacy import services
from advocacy.forms import ActionAdminForm, CampaignAdminForm, PressMentionAdminForm, RecipientImportForm
from advocacy.models import (
    Action,
    ActionCount,
    Campaign,
    CampaignStory,
    Country,
    NewsletterMessages,
    PressMention,
    Recipient,
    RecipientGroup,
    Subscriber,
)
from advocacy.querysets import VERIFICATION_DAYS
from background import exports
from stories.models import Story

logger = logging.getLogger(__name__)

CHART_DAYS = 30
CHART_HEIGHT = 120
CHART_BAR_WIDTH = 14
CHART_BAR_GAP = 4
# One colour per kind of click, distinguishable for the common kinds of colour blindness (Okabe–Ito).
CHART_COLOURS = {
    ActionCount.Kind.LETTER_OPENED: "#0072B2",
    ActionCount.Kind.LETTER_COPIED: "#56B4E9",
    ActionCount.Kind.POST_SHARED: "#009E73",
    ActionCount.Kind.POST_COPIED: "#8FD1B8",
    ActionCount.Kind.DONATE_CLICKED: "#D55E00",
    ActionCount.Kind.MONTHLY_CLICKED: "#E69F00",
    ActionCount.Kind.SIGNED_UP: "#CC79A7",
}


def activity(campaign: Campaign, *, today: datetime.date | None = None, days: int = CHART_DAYS) -> dict:
    """Per-day counts of each kind of click over the last ``days`` days, laid out as stacked bars."""
    today = today or timezone.localdate()
    start = today - datetime.timedelta(days=days - 1)
    counts: dict[tuple[datetime.date, str], int] = {}
    for day, kind, count in campaign.counts.filter(day__gte=start, day__lte=today).values_list("day", "kind", "count"):
        counts[(day, kind)] = count
    dates = [start + datetime.timedelta(days=offset) for offset in range(days)]
    totals = [sum(counts.get((day, kind), 0) for kind in ActionCount.Kind.values) for day in dates]
    peak = max(totals, default=0) or 1
    bars = []
    for index, day in enumerate(dates):
        bottom = CHART_HEIGHT
        segments = []
        for kind in ActionCount.Kind:
            count = counts.get((day, kind.value), 0)
            if not count:
                continue
            height = max(1, round(count / peak * CHART_HEIGHT))
            bottom -= height
            segments.append(
                {"y": bottom, "height": height, "colour": CHART_COLOURS[kind], "label": kind.label, "count": count}
            )
        bars.append(
            {"day": day, "x": index * (CHART_BAR_WIDTH + CHART_BAR_GAP), "segments": segments, "total": totals[index]}
        )
    kinds = [
        {
            "label": kind.label,
            "colour": CHART_COLOURS[kind],
            "total": sum(counts.get((day, kind.value), 0) for day in dates),
            "per_day": [counts.get((day, kind.value), 0) for day in dates],
        }
        for kind in ActionCount.Kind
    ]
    return {
        "bars": bars,
        "kinds": kinds,
        "dates": dates,
        "peak": max(totals, default=0),
        "total": sum(totals),
        "width": days * (CHART_BAR_WIDTH + CHART_BAR_GAP),
        "height": CHART_HEIGHT,
        "bar_width": CHART_BAR_WIDTH,
        "days": days,
    }


class VerificationFilter(admin.SimpleListFilter):
    title = _("address check")
    parameter_name = "verification"

    def lookups(self, request, model_admin):
        return [("overdue", _("Not verified for over a year")), ("current", _("Verified within a year"))]

    def queryset(self, request, queryset):
        overdue = Recipient.objects.needing_verification()
        if self.value() == "overdue":
            return queryset.filter(pk__in=overdue)
        if self.value() == "current":
            return queryset.exclude(pk__in=overdue)
        return queryset


@admin.register(Country)
class CountryAdmin(TabbedTranslationAdmin):
    list_display = ["name", "code"]
    search_fields = ["code", "name_en", "name_ko"]


@admin.register(RecipientGroup)
class RecipientGroupAdmin(TabbedTranslationAdmin):
    list_display = ["name", "position"]
    search_fields = ["name_en", "name_ko"]


@admin.register(Recipient)
class RecipientAdmin(TabbedTranslationAdmin):
    list_display = ["label", "country", "group", "kind", "email", "last_verified_on", "verified_recently"]
    list_filter = [VerificationFilter, "kind", "country", "group"]
    list_select_related = ["country", "group"]
    search_fields = [
        "label_en",
        "label_ko",
        "email",
        "country__code",
        "country__name_en",
        "country__name_ko",
        "group__name_en",
        "group__name_ko",
    ]
    autocomplete_fields = ["country", "group"]
    actions = ["mark_verified"]
    change_list_template = "advocacy/admin/recipient_change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="advocacy_recipient_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Paste or upload a list of recipients, see what saving it would do, then save it all at once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        may_change_letters = request.user.has_perm("advocacy.change_action")
        form = RecipientImportForm(request.POST or None, request.FILES or None, may_change_letters=may_change_letters)
        if request.method == "GET" and "action" in request.GET:
            form = RecipientImportForm(
                initial={"action": request.GET.get("action")}, may_change_letters=may_change_letters
            )
        plan = None
        if request.method == "POST" and form.is_valid():
            text, action = form.cleaned_data["text"], form.cleaned_data["action"]
            if "confirm" in request.POST:
                try:
                    plan = services.recipient_import_save(text=text, action=action, digest=form.cleaned_data["digest"])
                except services.ImportStale as stale:
                    plan = stale.plan
                    self.message_user(request, stale_message(plan), messages.WARNING)
                else:
                    self.message_user(request, saved_message(plan), messages.SUCCESS)
                    if action is not None:
                        return HttpResponseRedirect(
                            reverse("admin:advocacy_campaign_change", args=[action.campaign_id])
                        )
                    return HttpResponseRedirect(reverse("admin:advocacy_recipient_changelist"))
            else:
                plan = services.recipient_import_plan(text=text, action=action)
            # What the confirmation carries: the list as read, and the fingerprint of this preview.
            form = RecipientImportForm(
                initial={"text": text, "action": action, "digest": plan.digest},
                may_change_letters=may_change_letters,
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Add recipients from a list"),
            "form": form,
            "plan": plan,
            "languages": [code for code, _name in settings.LANGUAGES][1:],
        }
        return TemplateResponse(request, "advocacy/admin/recipient_import.html", context)

    @admin.display(description=_("verified within a year"), boolean=True)
    def verified_recently(self, obj: Recipient) -> bool:
        return not obj.needs_verification()

    @admin.action(description=_("Mark selected addresses as verified today"), permissions=["change"])
    def mark_verified(self, request, queryset):
        for recipient in queryset:
            services.recipient_mark_verified(recipient=recipient)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d address marked as verified.", "%(count)d addresses marked as verified.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class ActionInline(TranslationStackedInline):
    model = Action
    form = ActionAdminForm
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    ordering = ["position", "pk"]
    autocomplete_fields = ["recipients"]
    fields = [
        "kind",
        "position",
        "heading",
        "blurb",
        "subject_template",
        "body_template",
        "post_template",
        "button_label",
        "url",
        "recipients",
        "import_recipients",
        "overdue_recipients",
    ]
    readonly_fields = ["import_recipients", "overdue_recipients"]

    @admin.display(description=_("many recipients at once"))
    def import_recipients(self, obj: Action) -> str:
        url = reverse("admin:advocacy_recipient_import")
        if obj.pk:
            url += "?action=" + str(obj.pk)
        return format_html(
            '<a href="{}">{}</a>', url, _("Paste or upload a list of recipients, and check it before it is saved")
        )

    @admin.display(description=_("addresses to check"))
    def overdue_recipients(self, obj: Action) -> str:
        if not obj.pk:
            return "—"
        overdue = obj.recipients.needing_verification()
        if not overdue:
            return _("None: every address was verified within a year.")
        return _("Not verified for over a year: {labels}").format(labels="; ".join(str(r) for r in overdue))


class CampaignStoryInline(admin.TabularInline):
    model = CampaignStory
    extra = 0
    autocomplete_fields = ["story"]
    fields = ["story", "position", "shown_publicly"]
    readonly_fields = ["shown_publicly"]
    ordering = ["position", "pk"]

    @admin.display(description=_("shown with the campaign in"))
    def shown_publicly(self, obj: CampaignStory) -> str:
        if not obj.pk:
            return "—"
        languages = [
            str(name)
            for code, name in settings.LANGUAGES
            if Story.objects.public_for_advocacy(code).filter(pk=obj.story_id).exists()
        ]
        if not languages:
            return _("Nowhere: the story is not public, or its teller has not agreed to its use in campaigns.")
        return ", ".join(languages)


@admin.register(Campaign)
class CampaignAdmin(TabbedTranslationAdmin):
    form = CampaignAdminForm
    list_display = ["title", "status", "starts_on", "ends_on", "priority", "is_featured", "live_now"]
    list_filter = ["status", "is_featured"]
    search_fields = ["title_en", "title_ko", "slug"]
    prepopulated_fields = {"slug": ("title_en",)}
    inlines = [ActionInline, CampaignStoryInline]
    readonly_fields = ["activity_chart", "photo_preview"]
    fieldsets = [
        (None, {"fields": ["kicker", "title", "slug", "byline", "date", "summary", "body", "not_listed"]}),
        (
            _("Photo"),
            {
                "fields": [
                    "photo_preview",
                    "photo_upload",
                    "photo_remove",
                    "photo_alt",
                    "photo_caption",
                    "photo_credit",
                ]
            },
        ),
        (_("When and where it is shown"), {"fields": ["status", "starts_on", "ends_on", "priority", "is_featured"]}),
        (_("What readers did"), {"fields": ["activity_chart"]}),
    ]

    class Media:
        css = {"all": ["css/advocacy-admin.css"]}
        js = ["js/advocacy-admin.js"]

    @admin.display(description=_("current photo"))
    def photo_preview(self, obj: Campaign) -> str:
        if not obj.photo:
            return _("No photo yet.")
        return render_to_string("advocacy/admin/image_preview.html", {"renditions": obj.photo, "alt": obj.photo_alt})

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if form.prepared_photo is not None:
            services.campaign_photo_set(campaign=obj, prepared=form.prepared_photo)
        elif form.cleaned_data.get("photo_remove"):
            services.campaign_photo_set(campaign=obj, prepared=None)

    @admin.display(description=_("live now"), boolean=True)
    def live_now(self, obj: Campaign) -> bool:
        return any(obj.is_live(code) for code, _name in settings.LANGUAGES)

    @admin.display(description=_("clicks in the last 30 days"))
    def activity_chart(self, obj: Campaign) -> str:
        if not obj.pk:
            return "—"
        # Template output is escaped by the template engine; nothing here is marked safe by hand.
        return render_to_string("advocacy/admin/activity_chart.html", activity(obj))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Here rather than in change_view: Django has by now turned the URL's id into a campaign the
        # user may see, or answered for a junk or unknown id itself.
        if change and obj is not None and request.method == "GET":
            overdue = Recipient.objects.needing_verification().filter(actions__campaign=obj).distinct()
            count = overdue.count()
            if count:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d address this campaign writes to has not been verified for over %(days)d days.",
                        "%(count)d addresses this campaign writes to have not been verified for over %(days)d days.",
                        count,
                    )
                    % {"count": count, "days": VERIFICATION_DAYS},
                    messages.WARNING,
                )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


@admin.register(PressMention)
class PressMentionAdmin(TabbedTranslationAdmin):
    """The site-wide "as seen in" strip: each logo cleaned from its pixels, served from this site."""

    form = PressMentionAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "logo_preview", "position", "is_active"]
    search_fields = ["name", "alt_text_en", "alt_text_ko"]
    fields = ["name", "link", "logo_preview", "logo_upload", "alt_text", "position", "is_active"]
    readonly_fields = ["logo_preview"]

    @admin.display(description=_("logo"))
    def logo_preview(self, obj: PressMention) -> str:
        if not obj.logo:
            return "—"
        return render_to_string("advocacy/admin/image_preview.html", {"renditions": obj.logo, "alt": obj.alt_text})

    def save_model(self, request, obj, form, change) -> None:
        services.press_mention_save(mention=obj, prepared=form.prepared_logo)


def saved_message(plan: services.ImportPlan) -> str:
    new = ngettext("%(count)d new recipient saved.", "%(count)d new recipients saved.", plan.new_count) % {
        "count": plan.new_count
    }
    if plan.action is None:
        return new
    added = ngettext(
        "%(count)d recipient added to the letter.", "%(count)d recipients added to the letter.", plan.added_count
    ) % {"count": plan.added_count}
    return f"{new} {added}"


def stale_message(plan: services.ImportPlan) -> str:
    if plan.is_valid and not plan.has_changes:
        return str(_("Nothing was saved: every row is already saved. Was the list confirmed twice?"))
    return str(_("Nothing was saved: the directory or the letter changed since the preview. Check the list again."))


@admin.register(ActionCount)
class ActionCountAdmin(admin.ModelAdmin):
    """Read-only: counts are only ever added to by readers' clicks."""

    list_display = ["day", "campaign", "kind", "count"]
    list_filter = ["kind", "campaign"]
    list_select_related = ["campaign"]
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NewsletterMessages)
class NewsletterMessagesAdmin(TabbedTranslationAdmin):
    """One set of messages for the site: added once, then changed, never deleted (empty means the standard text)."""

    fields = ["success_message", "failure_message"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not NewsletterMessages.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    """Subscribers join only by confirming their address; staff may look, export and remove."""

    list_display = ["email", "language", "status", "requested_at", "confirmed_at"]
    list_filter = ["status", "language"]
    search_fields = ["email"]
    readonly_fields = ["email", "language", "status", "requested_at", "confirmed_at", "unsubscribed_at"]
    change_list_template = "advocacy/admin/subscriber_change_list.html"

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        export = path(
            "export/",
            staff_member_required(self.admin_site.admin_view(self.export_view)),
            name="advocacy_subscriber_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": request.user.has_perm("advocacy.export_subscriber")}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """Download the confirmed subscribers as CSV for the mailing tool."""
        if not request.user.has_perm("advocacy.export_subscriber"):
            raise PermissionDenied
        # Built by a task (advocacy/exports.py), then offered to this user alone.
        return exports.answer(request, exports.request_export("subscribers", request.user))
