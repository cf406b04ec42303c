"""The back office for editors, translators and consent officers."""

import calendar
import dataclasses
import datetime
import functools
import html

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.forms import FileInput
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from modeltranslation.admin import TabbedTranslationAdmin, TranslationStackedInline, TranslationTabularInline

from archive.i18n import around_key, in_some_language
from archive.paginators import BoundedCountAdminMixin
from archive.prepared import loaded
from background import exports
from stories import audit, privacy, services
from stories.fields import identity_key_configured
from stories.forms import (
    ConsentEvidenceForm,
    EraseStorytellersForm,
    PartForm,
    StoryForm,
    VersionedInlineForm,
    WithdrawConsentForm,
)
from stories.models import (
    Consent,
    ConsentEvidence,
    ContentWarning,
    ExposureScan,
    Part,
    ProtectedTerm,
    Story,
    StoryImage,
    Storyteller,
    StorytellerIdentity,
    Theme,
)
from stories.querysets import LANGUAGE_SCOPES
from translations.models import Translation
from translations.registry import translatable_for

# Consent officers see reviews coming up this many days ahead.
REVIEW_NOTICE_DAYS = 30
# The audit page shows this many of the latest saves; the CSV export holds the whole trail.
AUDIT_PAGE_RECORDS = 50
# Rows on a page of the part and storyteller lists. The admin spends about a third of a millisecond
# drawing each row; at its default of a hundred, the rows cost twice the rest of the page together.
LIST_PAGE_ROWS = 25


class OriginalLanguageFieldsMixin:
    """Let the model require text in the object's original language, instead of always in English.

    modeltranslation's admin makes the default language's field required whenever the original
    field is; a Korean original has no English title. Story.clean() and Part.clean() require the
    title in the original language, and the error lands on that language's field.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and getattr(db_field, "translated_field", None) is not None:
            formfield.required = False
        return formfield


class TranslatedFieldsReadOnlyMixin:
    """Keep text in languages other than the original out of the admin form.

    A translation reaches readers only once an editor approves it in the translation workspace;
    editing it here would publish it unreviewed. The form shows each translation's status and a
    link to the workspace instead.
    """

    def original_language(self, obj) -> str | None:
        return None

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        original = self.original_language(obj)
        if original is None:
            return readonly
        locked = [
            f"{name}_{code}"
            for name in translatable_for(self.model).fields
            for code, _name in settings.LANGUAGES
            if code != original
        ]
        return readonly + [name for name in locked if name not in readonly] + ["translations"]

    @admin.display(description=_("translations"))
    def translations(self, obj) -> str:
        if obj is None or not obj.pk:
            return "—"
        original = self.original_language(obj)
        content_type = ContentType.objects.get_for_model(obj)
        records = {
            record.language: record
            for record in Translation.objects.filter(content_type=content_type, object_id=obj.pk)
        }
        rows = []
        for code, name in settings.LANGUAGES:
            if code == original:
                continue
            record = records.get(code)
            status = Translation.Status(record.status).label if record else Translation.Status.MISSING.label
            if record and record.needs_update:
                status = _("{status}, needs update").format(status=status)
            url = reverse("translations:edit", kwargs={"language": code, "model": obj._meta.model_name, "pk": obj.pk})
            rows.append(
                format_html('{}: {} — <a href="{}">{}</a>', name, status, url, _("open in the translation workspace"))
            )
        return format_html_join("", "<div>{}</div>", ((row,) for row in rows))


@admin.register(Theme)
class ThemeAdmin(TabbedTranslationAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name_en", "name_ko", "slug"]
    prepopulated_fields = {"slug": ("name_en",)}


@admin.register(ContentWarning)
class ContentWarningAdmin(TabbedTranslationAdmin):
    list_display = ["label", "slug"]
    search_fields = ["label_en", "label_ko", "slug"]
    prepopulated_fields = {"slug": ("label_en",)}


class StorytellerIdentityInline(admin.StackedInline):
    """Shown only to staff who hold the identity permissions."""

    model = StorytellerIdentity
    can_delete = False
    extra = 0
    max_num = 1


class ConsentInline(admin.TabularInline):
    """The consent ledger: records are added, never edited or removed."""

    model = Consent
    extra = 0
    fields = [
        "decision",
        "recorded_at",
        "review_by",
        "covers_web",
        "covers_english",
        "covers_korean",
        "covers_photos",
        "covers_advocacy",
        "note",
        "recorded_by",
    ]
    readonly_fields = ["recorded_by"]
    ordering = ["-recorded_at", "-pk"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# What the consent columns read of the record in force: exactly what Consent.is_active() looks at.
CONSENT_SHOWN = ("decision", "review_by", "covers_web", *LANGUAGE_SCOPES.values())


def _in_force(field: str) -> Subquery:
    """One field of the storyteller's consent record in force, for the storyteller of the outer row.

    The record in force is the latest, in the order of ``Consent.objects.effective()`` and
    ``Storyteller.effective_consent()``; the consent_in_force_idx index hands it over in one probe.
    """
    latest = Consent.objects.filter(storyteller=OuterRef("pk")).order_by("-recorded_at", "-pk")
    return Subquery(latest.values(field)[:1])


@functools.cache
def _consent_columns() -> dict[str, Subquery]:
    """The consent columns of the storyteller list, built once per process: a queryset takes an expression
    as a copy, never changing it, and building five subqueries cost each page half a millisecond."""
    return {f"consent_{field}": _in_force(field) for field in CONSENT_SHOWN}


@functools.lru_cache(maxsize=64)
def _consent_status_text(language: str | None, decision: str, public: tuple[str, ...]) -> str:
    """What the consent column says of a record in force that makes the storyteller public in these languages.

    Worked out once per process for each interface language, decision and set of languages, not once a row:
    translating the same few sentences again on every row was most of the column's time.
    """
    if not public:
        shown = dict(Consent.Decision.choices).get(decision, decision)
        return _("Not public ({decision})").format(decision=shown)
    names = dict(settings.LANGUAGES)
    return _("Public in: {languages}").format(languages=", ".join(str(names[code]) for code in public))


class ConsentReviewFilter(admin.SimpleListFilter):
    """Storytellers whose consent in force is given and is past its review date or soon will be."""

    title = _("consent review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            (
                "due",
                ngettext(
                    "Due within %(days)d day or past due",
                    "Due within %(days)d days or past due",
                    REVIEW_NOTICE_DAYS,
                )
                % {"days": REVIEW_NOTICE_DAYS},
            ),
            ("overdue", _("Past due: not public")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "due":
            review = {"review_date__lte": today + datetime.timedelta(days=REVIEW_NOTICE_DAYS)}
        elif self.value() == "overdue":
            review = {"review_date__lt": today}
        else:
            return queryset
        # Each storyteller's own record in force, one index probe each, rather than working out which
        # of every record in the ledger is in force (a withdrawal supersedes a given consent).
        return queryset.alias(review_decision=_in_force("decision"), review_date=_in_force("review_by")).filter(
            review_decision=Consent.Decision.GIVEN, **review
        )


def _public_part_count(storyteller: Storyteller) -> int:
    """Count the storyteller's parts that readers can see now, in any language."""
    public = set()
    for code, _name in settings.LANGUAGES:
        public.update(Part.objects.public(code).filter(story__storyteller=storyteller).values_list("pk", flat=True))
    return len(public)


def _audit_url(request: HttpRequest) -> str | None:
    """Link to the audit trail for those allowed to read it."""
    if request.user.has_perm("stories.view_audit_trail"):
        return reverse("admin:stories_consent_audit")
    return None


class LongListMixin(BoundedCountAdminMixin):
    """A change list of thousands of rows: counted only as far as anyone looks, each row drawn cheaply."""

    list_per_page = LIST_PAGE_ROWS
    # The page counts the rows it lists, up to a bound; counting every row again says nothing more.
    show_full_result_count = False

    def action_checkbox(self, obj):
        # The admin's own renders a form widget through the template engine for every row, which
        # costs more than the rest of the row; this is the same markup, as format_html would write it.
        label = _action_label(get_language()).format(html.escape(str(obj)))
        return SafeString(
            f'<input type="checkbox" name="{ACTION_CHECKBOX_NAME}" value="{html.escape(str(obj.pk))}"'
            f' class="action-select" aria-label="{label}">'
        )


@functools.lru_cache(maxsize=16)
def _action_label(language: str | None) -> str:
    """The checkbox's label in the interface language, translated once per process, not once a row."""
    return str(_("Select this object for an action - {}"))


@functools.lru_cache(maxsize=4096)
def _shown_date(language: str | None, value: datetime.date) -> str:
    """``formats.localize(value)`` in the interface language, worked out once per process for each date:
    a review column of 25 dates spent more on formatting them than on the rest of its rows."""
    return formats.localize(value)


@admin.register(Storyteller)
class StorytellerAdmin(
    LongListMixin, OriginalLanguageFieldsMixin, TranslatedFieldsReadOnlyMixin, TabbedTranslationAdmin
):
    # Both consent lists link to the audit trail for those allowed to read it (this one extends that
    # template, drawing its rows as the part list does).
    change_list_template = "admin/stories/storyteller/change_list.html"
    list_display = ["pseudonym_shown", "consent_status", "consent_review"]
    # Search only ever looks at public display text, never the identity record.
    search_fields = ["pseudonym_en", "pseudonym_ko"]
    inlines = [StorytellerIdentityInline, ConsentInline]
    actions = ["erase_selected"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.has_perm("stories.view_consent"):
            return queryset
        # The consent columns read the record in force from the page's own query: an index probe for
        # each storyteller shown, never the ledger. The list walks the pseudonym index and stops at the
        # page, so no other storyteller's consent is looked up.
        return queryset.annotate(**_consent_columns())

    @staticmethod
    def _consent_in_force(obj: Storyteller) -> Consent | None:
        # Both consent columns ask; the row keeps the answer.
        if not hasattr(obj, "_consent_shown"):
            if not hasattr(obj, "consent_decision"):
                obj._consent_shown = obj.effective_consent()
            elif obj.consent_decision is None:
                obj._consent_shown = None
            else:
                # Never saved, only asked whether it is active: the record's own rule, on the row's values
                # (held as a loaded row is, without Model.__init__'s walk over every field of the ledger).
                shown = {field: getattr(obj, f"consent_{field}") for field in CONSENT_SHOWN}
                obj._consent_shown = loaded(Consent, shown)
        return obj._consent_shown

    @admin.display(description=_("pseudonym"), ordering="pseudonym")
    def pseudonym_shown(self, obj: Storyteller) -> str:
        """The pseudonym in the interface language; without one, the pseudonym the storyteller has in another
        language, named with it, so that no row of the list is a bare "-" that names nobody."""
        return in_some_language(obj, "pseudonym", get_language())

    @admin.display(description=_("consent in force"))
    def consent_status(self, obj: Storyteller) -> str:
        consent = self._consent_in_force(obj)
        if consent is None:
            return _("No consent recorded")
        today = timezone.localdate()  # once for the row, not once a language
        public = tuple(code for code, _name in settings.LANGUAGES if consent.is_active(language=code, today=today))
        return _consent_status_text(get_language(), consent.decision, public)

    @admin.display(description=_("review by"), ordering="consent_review_by")
    def consent_review(self, obj: Storyteller) -> str:
        consent = self._consent_in_force(obj)
        if consent is None or consent.decision != Consent.Decision.GIVEN or consent.review_by is None:
            return "—"
        review_by, today = consent.review_by, timezone.localdate()
        shown = _shown_date(get_language(), review_by)
        if review_by < today:
            return format_html(
                '<strong class="consent-review-overdue">{}</strong>',
                _("{date}: past due, nothing is public").format(date=shown),
            )
        if review_by <= today + datetime.timedelta(days=REVIEW_NOTICE_DAYS):
            days = (review_by - today).days
            due = ngettext("due in %(days)d day", "due in %(days)d days", days) % {"days": days}
            return _("{date}: {due}").format(date=shown, due=due)
        return shown

    def get_list_display(self, request):
        # Whether and where a storyteller is public comes from their consent record,
        # which only those who may view consent records should learn.
        if request.user.has_perm("stories.view_consent"):
            return super().get_list_display(request)
        consent_columns = {"consent_status", "consent_review"}
        return [name for name in super().get_list_display(request) if name not in consent_columns]

    def get_list_filter(self, request):
        if request.user.has_perm("stories.view_consent"):
            return [*super().get_list_filter(request), ConsentReviewFilter]
        return super().get_list_filter(request)

    def original_language(self, obj):
        return obj.original_language if obj else None

    def get_inlines(self, request, obj):
        # Translators and editors never see the identity or consent inlines: the inlines'
        # own permission checks hide them.
        inlines = super().get_inlines(request, obj)
        if not identity_key_configured():
            # Without the key the record is ciphertext: never shown, never saved over.
            inlines = [inline for inline in inlines if inline is not StorytellerIdentityInline]
        return inlines

    def _may_withdraw(self, request: HttpRequest, obj: Storyteller) -> bool:
        return request.user.has_perm("stories.add_consent") and self.has_view_permission(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["identity_key_missing"] = not identity_key_configured() and request.user.has_perm(
            "stories.view_storytelleridentity"
        )
        if obj is not None and obj.pk and self._may_withdraw(request, obj):
            consent = obj.effective_consent()
            if consent is None or consent.decision != Consent.Decision.WITHDRAWN:
                context["withdraw_url"] = reverse("admin:stories_storyteller_withdraw_consent", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"audit_url": _audit_url(request), **(extra_context or {})})

    def get_urls(self):
        withdraw = path(
            "<path:object_id>/withdraw-consent/",
            self.admin_site.admin_view(self.withdraw_consent_view),
            name="stories_storyteller_withdraw_consent",
        )
        exposed = path(
            "<path:object_id>/published-identifying-terms/",
            self.admin_site.admin_view(self.exposed_view),
            name="stories_storyteller_exposed",
        )
        return [withdraw, exposed, *super().get_urls()]

    def _may_see_terms(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stories.change_storytelleridentity") and identity_key_configured()

    def exposed_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Where this storyteller's published text holds one of their identifying terms, and unpublishing it."""
        storyteller = self.get_object(request, unquote(object_id))
        if storyteller is None:
            raise Http404
        if not self._may_see_terms(request):
            raise PermissionDenied
        back_url = reverse("admin:stories_storyteller_change", args=[storyteller.pk])
        return exposed_text_view(self, request, storyteller=storyteller, back_url=back_url)

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_exposed(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        return self._show_exposed(request, obj) or super().response_change(request, obj)

    def _show_exposed(self, request: HttpRequest, obj: Storyteller) -> HttpResponse | None:
        # A term added to the identity record is searched for in their published text at once.
        if not self._may_see_terms(request) or not services.exposed_text_find(storyteller=obj):
            return None
        self.message_user(
            request,
            _("Saved, and published text already holds one of the identifying terms: see where, and unpublish it."),
            messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:stories_storyteller_exposed", args=[obj.pk]))

    def withdraw_consent_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm and record a withdrawal of consent, with its reason, through the one service."""
        storyteller = self.get_object(request, unquote(object_id))
        if storyteller is None:
            raise Http404
        if not self._may_withdraw(request, storyteller):
            raise PermissionDenied
        change_url = reverse("admin:stories_storyteller_change", args=[storyteller.pk])
        form = WithdrawConsentForm(request.POST) if request.method == "POST" else WithdrawConsentForm()
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                # Locked so that a double submit records one withdrawal, not two.
                Storyteller.objects.select_for_update().filter(pk=storyteller.pk).first()
                current = storyteller.effective_consent()
                already = current is not None and current.decision == Consent.Decision.WITHDRAWN
                if not already:
                    services.consent_withdraw(
                        storyteller=storyteller, reason=form.cleaned_data["reason"], recorded_by=request.user
                    )
            if already:
                self.message_user(
                    request,
                    _("Consent of {pseudonym} was already withdrawn; nothing more was recorded.").format(
                        pseudonym=storyteller
                    ),
                    messages.INFO,
                )
            else:
                self.message_user(
                    request,
                    _(
                        "Consent of {pseudonym} is withdrawn. Nothing of theirs is public any more, "
                        "and scheduled parts went back to draft."
                    ).format(pseudonym=storyteller),
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        current = storyteller.effective_consent()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Withdraw consent"),
            "subtitle": str(storyteller),
            "opts": self.opts,
            "storyteller": storyteller,
            "current_consent": current,
            "already_withdrawn": current is not None and current.decision == Consent.Decision.WITHDRAWN,
            "public_part_count": _public_part_count(storyteller),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/stories/storyteller/withdraw_consent.html", context)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stories.erase_storyteller")

    @admin.action(description=_("Erase selected storytellers for good…"), permissions=["erase"])
    def erase_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Confirm, then forget each selected storyteller through the one service, all or none."""
        storytellers = list(queryset.order_by("pk"))
        form = EraseStorytellersForm(request.POST if "erase" in request.POST else None)
        if form.is_valid():
            with transaction.atomic():
                for storyteller in storytellers:
                    services.storyteller_erase(storyteller=storyteller, erased_by=request.user)
            # No pseudonym in the message: it is kept in the session until shown.
            self.message_user(
                request,
                ngettext(
                    "%(count)d storyteller was erased for good; the audit trail keeps only who erased it and when.",
                    "%(count)d storytellers were erased for good; the audit trail keeps only who erased them and when.",
                    len(storytellers),
                )
                % {"count": len(storytellers)},
                messages.SUCCESS,
            )
            return None
        rows = [
            {
                "storyteller": storyteller,
                "stories": storyteller.stories.count(),
                "parts": Part.objects.filter(story__storyteller=storyteller).count(),
                "photos": StoryImage.objects.filter(part__story__storyteller=storyteller).count(),
                "public_parts": _public_part_count(storyteller),
            }
            for storyteller in storytellers
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase storytellers for good"),
            "opts": self.opts,
            "rows": rows,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected": [storyteller.pk for storyteller in storytellers],
        }
        return TemplateResponse(request, "admin/stories/storyteller/erase_confirmation.html", context)

    def construct_change_message(self, request, form, formsets, add=False):
        # The history page is open to everyone who may view storytellers, and a ledger entry's
        # name gives away the decision. The ledger records who added each entry and when.
        formsets = [formset for formset in formsets or [] if formset.model is not Consent]
        return super().construct_change_message(request, form, formsets, add)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Consent:
            return super().save_formset(request, form, formset, change)
        # New ledger entries go through the service, which records who made them.
        for consent in formset.save(commit=False):
            services.consent_record(
                storyteller=form.instance,
                decision=consent.decision,
                recorded_by=request.user,
                review_by=consent.review_by,
                covers_web=consent.covers_web,
                covers_english=consent.covers_english,
                covers_korean=consent.covers_korean,
                covers_photos=consent.covers_photos,
                covers_advocacy=consent.covers_advocacy,
                note=consent.note,
                recorded_at=consent.recorded_at,
            )


def _placed_after(fieldsets: list, anchors: list[str], moved: list[str]) -> list:
    """The admin's fieldsets with the form's extra fields ``moved`` right after the last of ``anchors``.

    Every field in ``moved`` is taken out wherever the admin put it (at the end: modeltranslation lays
    out the form's own order); one left out of ``moved`` is not shown at all.
    """
    extra = {"split_paragraphs", "keep_line_breaks", "confirm_slug_change"}
    result = []
    for name, options in fieldsets:
        fields = [field for field in options.get("fields", ()) if field not in extra]
        positions = [index for index, field in enumerate(fields) if field in anchors]
        if positions and moved:
            at = positions[-1] + 1
            fields = [*fields[:at], *moved, *fields[at:]]
        result.append((name, {**options, "fields": fields}))
    return result


class PartInline(OriginalLanguageFieldsMixin, TranslationTabularInline):
    model = Part
    form = VersionedInlineForm
    fields = ["number", "title", "status", "published_at", "opened_version"]
    extra = 0
    # A part is deleted from its own page, where only a draft that was never published may be.
    can_delete = False
    show_change_link = True
    ordering = ["number"]

    def get_readonly_fields(self, request, obj=None):
        # obj is the story: its parts' titles in other languages are translations, edited and
        # approved in the translation workspace, never published from here.
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        return readonly + [f"title_{code}" for code, _name in settings.LANGUAGES if code != obj.original_language]


class CoverChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: StoryImage) -> str:
        label = _("Part {number}: {photo}").format(number=obj.part.number, photo=obj)
        return f"{label} — {obj.alt_text}" if obj.alt_text else label


class StoryCoverForm(StoryForm):
    """A story, with its cover: one of its own photos, or a new upload added to Part 1's photos."""

    cover_upload = forms.FileField(
        label=_("new cover photo"),
        required=False,
        widget=FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_(
            "JPEG, PNG or WebP. It is added to the photos of Part 1 and becomes the cover. Like every photo, it is "
            "rebuilt from its pixels without any hidden details, and readers see it only by the rules for photos."
        ),
    )
    cover_alt_text = forms.CharField(
        label=_("alt text of the new cover photo"),
        required=False,
        max_length=300,
        help_text=_("What the photo shows, for readers who cannot see it, in the story's original language."),
    )
    cover_shows_identifiable_person = forms.BooleanField(
        label=_("the new cover photo shows an identifiable person"),
        required=False,
        initial=True,
        help_text=_("Then readers see it only while the storyteller's consent covers photos."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.new_cover: StoryImage | None = None
        if "cover" in self.fields:
            photos = StoryImage.objects.filter(part__story=self.instance.pk) if self.instance.pk else None
            current = self.fields["cover"]
            self.fields["cover"] = CoverChoiceField(
                queryset=(photos if photos is not None else StoryImage.objects.none())
                .select_related("part")
                .order_by("part__number", "position", "pk"),
                required=False,
                label=current.label,
                help_text=current.help_text,
            )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("cover_upload")
        if not upload:
            return cleaned
        first = self.instance.parts.filter(number=1).first() if self.instance.pk else None
        if first is None:
            self.add_error("cover_upload", _("Save the story with its Part 1 first, then add a cover photo."))
            return cleaned
        original = self.instance.original_language
        image = StoryImage(
            part=first,
            original=upload,
            shows_identifiable_person=cleaned.get("cover_shows_identifiable_person", False),
            position=(first.images.order_by("-position").values_list("position", flat=True).first() or 0) + 1,
            **{f"alt_text_{original}": cleaned.get("cover_alt_text", "")},
        )
        try:
            # The photo pipeline's own checks: type and size from the header, alt text, the identity guard.
            image.full_clean()
        except ValidationError as error:
            names = {"original": "cover_upload", f"alt_text_{original}": "cover_alt_text"}
            for field, found in error.message_dict.items():
                self.add_error(names.get(field), found)
            return cleaned
        self.new_cover = image
        return cleaned


@admin.register(Story)
class StoryAdmin(OriginalLanguageFieldsMixin, TranslatedFieldsReadOnlyMixin, TabbedTranslationAdmin):
    form = StoryCoverForm
    list_display = [
        "title_shown", "kind", "storyteller_shown", "status", "original_language", "is_complete", "is_featured"
    ]  # fmt: skip
    list_select_related = ["storyteller"]
    list_filter = ["status", "kind", "original_language", "is_complete", "is_featured", "themes"]
    search_fields = ["title_en", "title_ko", "slug", "storyteller__pseudonym_en", "storyteller__pseudonym_ko"]
    prepopulated_fields = {"slug": ("title_en",)}
    autocomplete_fields = ["storyteller"]
    filter_horizontal = ["themes", "content_warnings"]
    inlines = [PartInline]

    def original_language(self, obj):
        return obj.original_language if obj else None

    @admin.display(description=_("title"), ordering="title")
    def title_shown(self, obj: Story) -> str:
        """The title in the interface language, else the one the story has, with its language named."""
        return in_some_language(obj, "title", get_language())

    @admin.display(description=_("storyteller"), ordering="storyteller__pseudonym")
    def storyteller_shown(self, obj: Story) -> str:
        return in_some_language(obj.storyteller, "pseudonym", get_language())

    def get_fieldsets(self, request, obj=None):
        # Asked right under the address it is about, and only for a story readers were given links to.
        shown = obj is not None and services.story_was_published(obj)
        return _placed_after(super().get_fieldsets(request, obj), ["slug"], ["confirm_slug_change"] if shown else [])

    def get_prepopulated_fields(self, request, obj=None):
        # Only while adding: a published slug is part of readers' links, and on an existing
        # story the English title may be a read-only translation.
        return super().get_prepopulated_fields(request, obj) if obj is None else {}

    def save_model(self, request, obj, form, change):
        # The form already compared versions under a row lock; the service checks again as it saves.
        # A new cover photo is stored in the admin's transaction with the story, or neither is.
        if getattr(form, "new_cover", None) is not None:
            obj.cover = services.story_image_save(image=form.new_cover)
        services.story_save(story=obj, expected_version=form.cleaned_data.get("opened_version") if change else None)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Part:
            return super().save_formset(request, form, formset, change)
        opened = {id(row.instance): row.cleaned_data.get("opened_version") for row in formset.forms}
        for part in formset.save(commit=False):
            services.part_save(part=part, expected_version=opened.get(id(part)) if part.pk else None)
        for part in formset.deleted_objects:
            part.delete()
        formset.save_m2m()


class ScheduledFilter(admin.SimpleListFilter):
    title = _("schedule")
    parameter_name = "schedule"

    def lookups(self, request, model_admin):
        return [("scheduled", _("Scheduled")), ("live", _("Live"))]

    def queryset(self, request, queryset):
        from django.utils import timezone

        published = queryset.filter(status=Part.Status.PUBLISHED)
        if self.value() == "scheduled":
            return published.filter(published_at__gt=timezone.now())
        if self.value() == "live":
            return published.filter(published_at__lte=timezone.now())
        return queryset


class StoryImageForm(forms.ModelForm):
    process_again = forms.BooleanField(
        label=_("process again"),
        required=False,
        help_text=_("Render the photo again from its upload: after a failure, or if its copies look wrong."),
    )

    def save(self, commit=True):
        if self.cleaned_data.get("process_again") and self.instance.pk:
            self.instance.process_again()
        return super().save(commit)


class StoryImageInline(TranslationStackedInline):
    """A part's photos. An upload is checked from its header when saved and rebuilt from its pixels by a task
    (stories/tasks.py); the editor sees it waiting, processing, ready or failed and why. Readers never get it."""

    model = StoryImage
    form = StoryImageForm
    extra = 0

    class Media:
        js = ["js/photo-processing.js"]

    fields = [
        "original",
        "clean_copy",
        "process_again",
        "alt_text",
        "caption",
        "credit",
        "shows_identifiable_person",
        "obscured_areas",
        "position",
    ]
    readonly_fields = ["clean_copy"]

    def get_readonly_fields(self, request, obj=None):
        # obj is the part: a photo's text in other languages is a translation, reviewed in the workspace.
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None or not obj.story_id:
            return readonly
        return readonly + [
            f"{field}_{code}"
            for field in translatable_for(StoryImage).fields
            for code, _name in settings.LANGUAGES
            if code != obj.story.original_language
        ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "original":
            # A plain file input: the original has no URL to link to, by design.
            kwargs["widget"] = FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("what readers see"))
    def clean_copy(self, obj: StoryImage) -> str:
        if obj.pk is None:
            return "—"
        # data-photo and data-state let static/js/photo-processing.js follow a photo the worker is processing.
        if obj.rendition_key:  # set only while the photo is ready (StoryImage.render_now)
            return format_html(
                '<img src="{}" alt="" width="240" data-photo="{}" data-state="ready">', obj.smallest_url, obj.pk
            )
        if obj.processing == StoryImage.Processing.FAILED:
            return format_html(
                '<p class="errornote photo-processing" data-photo="{}" data-state="failed">{}: {}</p>',
                obj.pk,
                _("Processing failed"),
                obj.processing_message,
            )
        return format_html(
            '<p class="photo-processing" data-photo="{}" data-state="{}">'
            '<progress max="100" value="{}">{}%</progress> {}</p>',
            obj.pk,
            obj.processing,
            obj.processing_progress,
            obj.processing_progress,
            obj.processing_message,
        )


def _midnight(day: datetime.date) -> datetime.datetime:
    """The start of the day in the current time zone, as the change list's date filters take it."""
    moment = datetime.datetime.combine(day, datetime.time())
    return timezone.make_aware(moment) if settings.USE_TZ else moment


def _next_year(start: datetime.date) -> datetime.date:
    return start.replace(year=start.year + 1)


def _next_month(start: datetime.date) -> datetime.date:
    return (start + datetime.timedelta(days=32)).replace(day=1)


def _next_day(start: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=1)


class PartChangeList(ChangeList):
    """The part list, whose date drill-down reads the publication-time index instead of every part."""

    @functools.cached_property
    def date_drilldown(self) -> dict:
        """What the admin's ``date_hierarchy`` tag shows, in the same form, for admin/date_hierarchy.html.

        The tag takes the first and last dates in one aggregate, which SQLite answers by reading every
        row, and finds the years, months or days on offer by truncating the date of every part listed.
        Here the first and last dates are an index probe each, and whether the list has a part in each
        year, month or day on offer is an EXISTS probe each, all in one query.
        """
        field = self.date_hierarchy
        names = {unit: f"{field}__{unit}" for unit in ("year", "month", "day")}
        year, month, day = (self.params.get(name) for name in names.values())

        def link(filters: dict) -> str:
            return self.get_query_string(filters, [f"{field}__"])

        bare = not (year or month or day)
        span = self._first_and_last() if bare else None
        if span and span[0].year == span[1].year:
            # Everything in one year (or one month): start there, as the admin does. Only the months (or
            # days) from the first date to the last can have parts.
            first, last = span
            year, month = first.year, (first.month if first.month == last.month else None)
        if year and month and day:
            shown = datetime.date(int(year), int(month), int(day))
            back = {
                "link": link({names["year"]: year, names["month"]: month}),
                "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
            }
            return {
                "show": True,
                "back": back,
                "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            low, high = (span[0].day, span[1].day) if span else (1, calendar.monthrange(int(year), int(month))[1])
            days = [datetime.date(int(year), int(month), number) for number in range(low, high + 1)]
            choices = [
                {
                    "link": link({names["year"]: year, names["month"]: month, names["day"]: start.day}),
                    "title": capfirst(formats.date_format(start, "MONTH_DAY_FORMAT")),
                }
                for start in self._periods_with_parts(days, _next_day)
            ]
            return {"show": True, "back": {"link": link({names["year"]: year}), "title": str(year)}, "choices": choices}
        if year:
            low, high = (span[0].month, span[1].month) if span else (1, 12)
            months = [datetime.date(int(year), number, 1) for number in range(low, high + 1)]
            choices = [
                {
                    "link": link({names["year"]: year, names["month"]: start.month}),
                    "title": capfirst(formats.date_format(start, "YEAR_MONTH_FORMAT")),
                }
                for start in self._periods_with_parts(months, _next_month)
            ]
            return {"show": True, "back": {"link": link({}), "title": _("All dates")}, "choices": choices}
        if not bare:
            # A month or day without a year lists the years, as the admin does.
            span = self._first_and_last()
        years = [datetime.date(number, 1, 1) for number in range(span[0].year, span[1].year + 1)] if span else []
        choices = [
            {"link": link({names["year"]: str(start.year)}), "title": str(start.year)}
            for start in self._periods_with_parts(years, _next_year)
        ]
        return {"show": True, "back": None, "choices": choices}

    @functools.cached_property
    def _listed(self) -> tuple:
        """The list's own rows (its filters and search) as SQL selecting the date, compiled once a page.

        Both the first and last dates and the periods' probes read it as a subquery, which the database
        answers from the index on the date; building the ORM query for each probe cost the page more than
        running them.
        """
        field = self.model._meta.get_field(self.date_hierarchy)
        database = connections[self.queryset.db]
        sql, params = self.queryset.order_by().values(field.name).query.sql_with_params()
        return field, database, sql, list(params), database.ops.quote_name(field.column)

    def _first_and_last(self) -> tuple[datetime.datetime, datetime.datetime] | None:
        """The earliest and latest date in the list, in the current time zone: an index probe each, one query."""
        field, database, listed, params, column = self._listed
        # Only SQL the ORM compiled and a quoted column name; every value is a parameter.
        end = (
            f"(SELECT listed.{column} FROM ({listed}) listed WHERE listed.{column} IS NOT NULL ORDER BY 1 {{}} LIMIT 1)"  # noqa: S608
        )
        with database.cursor() as cursor:
            cursor.execute(f"SELECT {end.format('ASC')}, {end.format('DESC')}", params + params)
            row = cursor.fetchone()
        # As the ORM reads the column: a string on SQLite, made a datetime (aware, with USE_TZ) here.
        converters = database.ops.get_db_converters(field.cached_col) + field.get_db_converters(database)
        first, last = row
        for converter in converters:
            first, last = (converter(value, field.cached_col, database) for value in (first, last))
        if first is None:
            return None
        return timezone.localtime(first), timezone.localtime(last)

    def _periods_with_parts(self, starts: list[datetime.date], end_of) -> list[datetime.date]:
        """Keep the periods, from each start to ``end_of(start)``, in which the list has a part.

        One query: an EXISTS for each period over the list's rows, probed with each period's bounds as the
        ORM's lookups would give them (an ORM EXISTS for each of nine years cost the page 6 ms to build).
        """
        if not starts:
            return []
        field, database, listed, listed_params, column = self._listed
        # Only SQL the ORM compiled and a quoted column name; every value is a parameter.
        probe = f"EXISTS(SELECT 1 FROM ({listed}) listed WHERE listed.{column} >= %s AND listed.{column} < %s)"  # noqa: S608
        params = []
        for start in starts:
            bounds = (_midnight(start), _midnight(end_of(start)))
            params += [*listed_params, *(field.get_db_prep_value(bound, database) for bound in bounds)]
        with database.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join([probe] * len(starts)), params)
            found = cursor.fetchone()
        return [start for start, has_parts in zip(starts, found, strict=True) if has_parts]


# What a row of the part list reads: its columns, and the part's name (Part.__str__, Story.__str__).
LIST_PART_FIELDS = ("story", "number", "title", "status", "published_at", "story__title", "story__slug", "story__kind")


@admin.register(Part)
class PartAdmin(LongListMixin, OriginalLanguageFieldsMixin, TranslatedFieldsReadOnlyMixin, TabbedTranslationAdmin):
    form = PartForm
    # Shows how a body pasted with single line breaks reads, beside the fix (PartForm).
    change_form_template = "admin/stories/part/change_form.html"
    list_display = ["__str__", "title_shown", "status", "published_at", "preview_link"]
    # No filter by story: it would list every story of the archive on every page; search by its slug.
    list_filter = ["status", ScheduledFilter, "story__status"]
    list_select_related = ["story"]
    search_fields = ["title_en", "title_ko", "story__title_en", "story__title_ko", "story__slug"]
    autocomplete_fields = ["story"]
    readonly_fields = ["preview_link"]
    actions = ["publish_now", "send_to_review", "archive"]
    # Drawn by PartChangeList.date_drilldown (see admin/stories/part/change_list.html).
    date_hierarchy = "published_at"
    inlines = [StoryImageInline]

    def original_language(self, obj):
        return obj.story.original_language if obj else None

    def get_changelist(self, request, **kwargs):
        return PartChangeList

    def get_fieldsets(self, request, obj=None):
        # The one-click fix for pasted paragraphs sits right under the bodies it is about.
        bodies = [f"body_{code}" for code, _name in settings.LANGUAGES]
        return _placed_after(super().get_fieldsets(request, obj), bodies, ["split_paragraphs", "keep_line_breaks"])

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "stories_part_changelist":
            # The list shows titles only: a hundred bodies and recaps in every language stay in the database.
            body_fields = [
                field
                for field in ("body", "body_html", "recap", "recap_html")
                for field in (field, *self._translated(field))
            ]
            queryset = queryset.defer(*body_fields)
            if request.method == "GET":
                # Shown, the list reads no more than its columns and each part's name (Part.__str__): not
                # the summaries, reading times, dates and versions, of either the part or its story. An
                # action (a POST) gets whole parts.
                queryset = queryset.only(*LIST_PART_FIELDS)
        return queryset

    @staticmethod
    def _translated(field: str) -> list[str]:
        return [f"{field}_{code}" for code, _name in settings.LANGUAGES]

    def save_model(self, request, obj, form, change):
        # The form already compared versions under a row lock; the service checks again as it saves.
        services.part_save(part=obj, expected_version=form.cleaned_data.get("opened_version") if change else None)

    def get_actions(self, request):
        # Deleting is one part at a time, from its page, and only for a draft that was never published.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or services.part_may_be_deleted(obj)

    def delete_model(self, request, obj):
        services.part_delete_draft(part=obj, deleted_by=request.user)

    @admin.display(description=_("title"), ordering="title")
    def title_shown(self, obj: Part) -> str:
        """The title in the interface language, else the one the part has, with its language named."""
        return in_some_language(obj, "title", get_language())

    @admin.display(description=_("preview"))
    def preview_link(self, obj: Part) -> str:
        if not obj.pk:
            return "—"
        # One remembered reverse() for every row of the list.
        before, after = around_key("stories:part-preview")
        # As format_html would write it, without its lazy-argument wrappers (a list draws one a row).
        return SafeString(
            f'<a href="{html.escape(before)}{html.escape(str(obj.pk))}{html.escape(after)}" target="_blank"'
            f' rel="noopener">{html.escape(_("Preview"))}</a>'
        )

    def _run(self, request, queryset: QuerySet, change, done_message) -> None:
        done = 0
        for part in queryset.select_related("story"):
            try:
                change(part)
                done += 1
            except ValidationError as error:
                self.message_user(
                    request,
                    _("{part} was not changed: {errors}").format(part=part, errors="; ".join(error.messages)),
                    messages.ERROR,
                )
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Publish selected parts now"), permissions=["change"])
    def publish_now(self, request, queryset):
        from django.utils import timezone

        self._run(
            request,
            queryset,
            lambda part: services.part_publish(part=part, at=timezone.now()),
            lambda n: ngettext("%(count)d part published.", "%(count)d parts published.", n) % {"count": n},
        )

    @admin.action(description=_("Send selected parts to review"), permissions=["change"])
    def send_to_review(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda part: services.part_set_status(part=part, status=Part.Status.IN_REVIEW),
            lambda n: ngettext("%(count)d part sent to review.", "%(count)d parts sent to review.", n) % {"count": n},
        )

    @admin.action(description=_("Archive selected parts"), permissions=["change"])
    def archive(self, request, queryset):
        self._run(
            request,
            queryset,
            lambda part: services.part_set_status(part=part, status=Part.Status.ARCHIVED),
            lambda n: ngettext("%(count)d part archived.", "%(count)d parts archived.", n) % {"count": n},
        )


# --- Consent officers' tools: the ledger, the audit trail, protected terms and evidence ----------


# The export keeps the trail's own words; the page shows them in the reader's language.
_AUDIT_ACTIONS = {"created": _("Created"), "changed": _("Changed"), "deleted": _("Deleted"), "erased": _("Erased")}
# A refusal names who, which object and which field, never the term (stories.privacy.refusals_record).
_AUDIT_ACTIONS[audit.REFUSED] = _("Refused by the identifying-detail guard")


def _readable_entries(request: HttpRequest, entries: list[audit.AuditEntry]) -> list[audit.AuditEntry]:
    """Hide the values of models the user may not view, and identity values this server cannot decrypt."""
    hidden_models = {
        str(model._meta.verbose_name)
        for model in audit.audited_models()
        if not request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
    }
    sealed_models = set() if identity_key_configured() else {str(StorytellerIdentity._meta.verbose_name)}
    readable = []
    for entry in entries:
        if entry.model in hidden_models:
            entry = dataclasses.replace(entry, before=str(_("(hidden)")), after=str(_("(hidden)")))
        elif entry.model in sealed_models:
            sealed = str(_("(encrypted: the identity key is missing)"))
            entry = dataclasses.replace(entry, before=entry.before and sealed, after=entry.after and sealed)
        readable.append(entry)
    return readable


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Every storyteller's consent ledger, read-only: records are added on the storyteller's page."""

    change_list_template = "admin/stories/change_list_with_audit.html"

    list_display = ["storyteller", "decision", "recorded_at", "review_by", "recorded_by"]
    list_filter = ["decision"]
    list_select_related = ["storyteller", "recorded_by"]
    search_fields = ["storyteller__pseudonym_en", "storyteller__pseudonym_ko"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"audit_url": _audit_url(request), **(extra_context or {})})

    def get_urls(self):
        return [
            path("audit/", self.admin_site.admin_view(require_safe(self.audit_view)), name="stories_consent_audit"),
            path(
                "audit/export/",
                self.admin_site.admin_view(require_safe(self.audit_export_view)),
                name="stories_consent_audit_export",
            ),
            *super().get_urls(),
        ]

    def _require_audit_permission(self, request: HttpRequest) -> None:
        if not request.user.has_perm("stories.view_audit_trail"):
            raise PermissionDenied

    def audit_view(self, request: HttpRequest) -> HttpResponse:
        """Show the latest changes to consent, identity, storytellers, stories and parts."""
        self._require_audit_permission(request)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Audit trail"),
            "opts": self.opts,
            "entries": [
                dataclasses.replace(entry, action=_AUDIT_ACTIONS.get(entry.action, entry.action))
                for entry in _readable_entries(request, audit.audit_entries(limit=AUDIT_PAGE_RECORDS))
            ],
            "record_limit": AUDIT_PAGE_RECORDS,
            "export_url": reverse("admin:stories_consent_audit_export"),
        }
        return TemplateResponse(request, "admin/stories/audit_trail.html", context)

    def audit_export_view(self, request: HttpRequest) -> HttpResponse:
        """Download the whole audit trail as CSV: built by a task (stories/exports.py), then offered."""
        self._require_audit_permission(request)
        return exports.answer(request, exports.request_export("audit-trail", request.user))


# How many places the page for a site-wide term lists; unpublishing reaches every one the search found.
EXPOSED_PLACES_SHOWN = 200
# How often the page for a search that is still running reloads itself, in seconds.
EXPOSED_SCAN_REFRESH = 3


def _exposed_place(holder, field: str, line: int, column: int) -> dict:
    """One object and field that holds a protected term, with a link to where it is edited; never the term."""
    # Photos are edited on their part's page, calls to action on their campaign's.
    edited_on = holder.part if isinstance(holder, StoryImage) else getattr(holder, "campaign", holder)
    opts = edited_on._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[edited_on.pk])
    except NoReverseMatch:
        url = ""
    return {
        "kind": capfirst(holder._meta.verbose_name),
        "object": str(edited_on),
        "field": field,
        "line": line,
        "column": column,
        "url": url,
    }


def _exposed_places(findings: list[privacy.Finding]) -> list[dict]:
    return [_exposed_place(finding.obj, finding.where, finding.line, finding.column) for finding in findings]


def _scan_places(scan: ExposureScan) -> tuple[list[dict], int]:
    """The first places a search found, read in one query per kind of object; and how many it found in all."""
    findings = list(scan.findings.all()[: EXPOSED_PLACES_SHOWN + 1])
    count = len(findings) if len(findings) <= EXPOSED_PLACES_SHOWN else scan.findings.count()
    findings = findings[:EXPOSED_PLACES_SHOWN]
    kinds: dict[int, set[int]] = {}
    for finding in findings:
        kinds.setdefault(finding.content_type_id, set()).add(finding.object_id)
    objects = {}
    for content_type_id, ids in kinds.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        objects[content_type_id] = services.exposed_text_objects(model, ids) if model else {}
    places = []
    for finding in findings:
        holder = objects[finding.content_type_id].get(finding.object_id)
        if holder is not None:  # deleted since: nothing of it is published
            field = privacy.text_fields(holder).get(finding.field, finding.field)
            places.append(_exposed_place(holder, field, finding.line, finding.column))
    return places, count


def _unpublished_message(model_admin: admin.ModelAdmin, request: HttpRequest, changed: list) -> None:
    if not changed:
        model_admin.message_user(
            request, _("Nothing was left to unpublish: it is back to draft already, or no longer holds the term.")
        )
        return
    model_admin.message_user(
        request,
        ngettext(
            "%(count)d part, story or campaign went back to draft; edit it before it is published again.",
            "%(count)d parts, stories and campaigns went back to draft; edit them before they are published again.",
            len(changed),
        )
        % {"count": len(changed)},
        messages.SUCCESS,
    )


def exposed_text_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, *, back_url: str, storyteller=None
) -> HttpResponse:
    """Show where a storyteller's published text holds a protected term, and unpublish it all in one step."""
    if request.method == "POST":
        if "unpublish" in request.POST:
            _unpublished_message(model_admin, request, services.exposed_text_unpublish(storyteller=storyteller))
        return HttpResponseRedirect(back_url)
    places = _exposed_places(services.exposed_text_find(storyteller=storyteller))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Published text that holds a protected term"),
        "opts": model_admin.opts,
        "places": places,
        "count": len(places),
        "back_url": back_url,
    }
    return TemplateResponse(request, "admin/stories/exposed_text.html", context)


def exposed_scan_view(model_admin: admin.ModelAdmin, request: HttpRequest, *, term: ProtectedTerm) -> HttpResponse:
    """The search of everything published for a site-wide term: how far it got, where the term is, unpublishing.

    The search is a task (``services.exposed_text_scan_queue``): the page says it is running and reloads
    itself until it is done, listing the places found so far, which can be unpublished at any time.
    """
    page_url = reverse("admin:stories_protectedterm_exposed", args=[term.pk])
    if request.method == "POST":
        scan = term.scans.first()
        if "scan" in request.POST:
            services.exposed_text_scan_queue(term=term, requested_by=request.user)
        elif "unpublish" in request.POST:
            if scan is None or request.POST.get("scan_id") != str(scan.pk):
                # Another tab, or an officer who changed the term since: the list on that page is not this one.
                model_admin.message_user(
                    request,
                    _("That list was replaced by a newer search, and nothing was unpublished. Check the list again."),
                    messages.WARNING,
                )
            else:
                _unpublished_message(model_admin, request, services.exposed_text_unpublish(scan=scan))
        return HttpResponseRedirect(page_url)
    scan = term.scans.first()
    places, count = _scan_places(scan) if scan is not None else ([], 0)
    running = scan is not None and scan.state in {ExposureScan.State.QUEUED, ExposureScan.State.RUNNING}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Published text that holds a protected term"),
        "opts": model_admin.opts,
        "scan": scan,
        "running": running,
        "failed": scan is not None and scan.state == ExposureScan.State.FAILED,
        "refresh": EXPOSED_SCAN_REFRESH if running else None,
        "places": places,
        "count": count,
        "not_shown": count - len(places),
        "page_url": page_url,
        "back_url": reverse("admin:stories_protectedterm_changelist"),
    }
    return TemplateResponse(request, "admin/stories/exposed_text.html", context)


@admin.register(ProtectedTerm)
class ProtectedTermAdmin(admin.ModelAdmin):
    """Site-wide terms, such as the name of a safe house, that public text must never contain."""

    list_display = ["term", "note"]
    search_fields = ["term", "note"]

    def get_urls(self):
        exposed = path(
            "<path:object_id>/published/",
            self.admin_site.admin_view(self.exposed_view),
            name="stories_protectedterm_exposed",
        )
        return [exposed, *super().get_urls()]

    def exposed_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        term = self.get_object(request, unquote(object_id))
        if term is None:
            raise Http404
        if not self.has_change_permission(request, term):
            raise PermissionDenied
        return exposed_scan_view(self, request, term=term)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A new term, or one spelled anew, is searched for in everything published: by a task, queued
        # in this transaction, so the save never waits for the archive to be read.
        if not change or "term" in form.changed_data:
            services.exposed_text_scan_queue(term=obj, requested_by=request.user)
            obj._searched = True

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_exposed(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        return self._show_exposed(request, obj) or super().response_change(request, obj)

    def _show_exposed(self, request: HttpRequest, obj: ProtectedTerm) -> HttpResponse | None:
        if not getattr(obj, "_searched", False):
            return None
        self.message_user(
            request,
            _("The term is saved. Everything published is being searched for it: see where it is, and unpublish it."),
            messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:stories_protectedterm_exposed", args=[obj.pk]))


@admin.register(ConsentEvidence)
class ConsentEvidenceAdmin(admin.ModelAdmin):
    """Signed forms and recordings: stored privately, opened only through the permission-checked download."""

    form = ConsentEvidenceForm
    list_display = ["__str__", "storyteller", "consent_record", "uploaded_at", "download_link"]
    list_select_related = ["consent__storyteller"]
    search_fields = ["description", "consent__storyteller__pseudonym_en", "consent__storyteller__pseudonym_ko"]
    add_fields = ["consent", "file", "description"]
    # Never the file field itself: its widget would link to a storage URL instead of the checked view.
    shown_fields = ["storyteller", "consent_record", "description", "uploaded_at", "download_link"]

    def get_fields(self, request, obj=None):
        return list(self.add_fields if obj is None else self.shown_fields)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else list(self.shown_fields)

    def has_change_permission(self, request, obj=None):
        # Evidence stays as it was uploaded; a correction is a new upload.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("storyteller"))
    def storyteller(self, obj: ConsentEvidence) -> str:
        return str(obj.consent.storyteller)

    @admin.display(description=_("consent record"), ordering="consent__recorded_at")
    def consent_record(self, obj: ConsentEvidence) -> str:
        return str(obj.consent)

    @admin.display(description=_("file"))
    def download_link(self, obj: ConsentEvidence) -> str:
        return format_html('<a href="{}">{}</a>', reverse("evidence", kwargs={"pk": obj.pk}), _("Download"))
