"""The back office for editors, translators and consent officers."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import FileInput
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TabbedTranslationAdmin, TranslationStackedInline, TranslationTabularInline
from modeltranslation.translator import translator

from stories import services
from stories.models import Consent, ContentWarning, Part, Story, StoryImage, Storyteller, StorytellerIdentity, Theme


class TranslatorAccessMixin:
    """Let holders of a ``translate_<model>`` permission edit translated display text and nothing else.

    A translator may change only the registered display fields in languages other than the
    story's original; everything else, status and publication included, stays read-only.
    """

    def _translate_permission(self) -> str:
        return f"{self.opts.app_label}.translate_{self.opts.model_name}"

    def _is_translator_only(self, request: HttpRequest) -> bool:
        return not super().has_change_permission(request) and request.user.has_perm(self._translate_permission())

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or request.user.has_perm(self._translate_permission())

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(self._translate_permission())

    def original_language(self, obj) -> str | None:
        return None

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not self._is_translator_only(request):
            return readonly
        original = self.original_language(obj)
        translated = translator.get_options_for_model(self.model).all_fields
        translatable = {
            f"{name}_{code}" for name in translated for code, _name in settings.LANGUAGES if code != original
        }
        editable_fields = [
            field.name
            for field in self.model._meta.get_fields()
            if getattr(field, "editable", False)
            and field.concrete
            and not field.auto_created
            # modeltranslation expands an original field name into all its languages, so
            # listing it here would lock (and drop from the form) every translation too.
            and field.name not in translated
        ]
        return readonly + [name for name in editable_fields if name not in translatable and name not in readonly]

    def get_actions(self, request):
        if self._is_translator_only(request):
            return {}
        return super().get_actions(request)


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


@admin.register(Storyteller)
class StorytellerAdmin(TranslatorAccessMixin, TabbedTranslationAdmin):
    list_display = ["pseudonym", "consent_status"]
    # Search only ever looks at public display text, never the identity record.
    search_fields = ["pseudonym_en", "pseudonym_ko"]
    inlines = [StorytellerIdentityInline, ConsentInline]

    @admin.display(description=_("consent in force"))
    def consent_status(self, obj: Storyteller) -> str:
        consent = obj.effective_consent()
        if consent is None:
            return _("No consent recorded")
        languages = [str(name) for code, name in settings.LANGUAGES if consent.is_active(language=code)]
        if not languages:
            return _("Not public ({decision})").format(decision=consent.get_decision_display())
        return _("Public in: {languages}").format(languages=", ".join(languages))

    def get_list_display(self, request):
        # Whether and where a storyteller is public comes from their consent record,
        # which only those who may view consent records should learn.
        if request.user.has_perm("stories.view_consent"):
            return super().get_list_display(request)
        return [name for name in super().get_list_display(request) if name != "consent_status"]

    def get_inlines(self, request, obj):
        # Translators and editors never see the identity or consent inlines: the inline
        # permission checks hide them, and for translators we drop them outright.
        if self._is_translator_only(request):
            return []
        return super().get_inlines(request, obj)

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


class PartInline(TranslationTabularInline):
    model = Part
    fields = ["number", "title", "status", "published_at"]
    extra = 0
    show_change_link = True
    ordering = ["number"]


@admin.register(Story)
class StoryAdmin(TranslatorAccessMixin, TabbedTranslationAdmin):
    list_display = ["title", "storyteller", "status", "original_language", "is_complete", "is_featured"]
    list_filter = ["status", "original_language", "is_complete", "is_featured", "themes"]
    search_fields = ["title_en", "title_ko", "slug", "storyteller__pseudonym_en", "storyteller__pseudonym_ko"]
    prepopulated_fields = {"slug": ("title_en",)}
    autocomplete_fields = ["storyteller"]
    filter_horizontal = ["themes", "content_warnings"]
    inlines = [PartInline]

    def original_language(self, obj):
        return obj.original_language if obj else None

    def get_prepopulated_fields(self, request, obj=None):
        if self._is_translator_only(request):
            return {}
        return super().get_prepopulated_fields(request, obj)


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


class StoryImageInline(TranslationStackedInline):
    """A part's photos. Each upload is checked and rebuilt from its pixels when saved; readers never get it."""

    model = StoryImage
    extra = 0
    fields = [
        "original",
        "clean_copy",
        "alt_text",
        "caption",
        "credit",
        "shows_identifiable_person",
        "obscured_areas",
        "position",
    ]
    readonly_fields = ["clean_copy"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "original":
            # A plain file input: the original has no URL to link to, by design.
            kwargs["widget"] = FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("what readers see"))
    def clean_copy(self, obj: StoryImage) -> str:
        if not obj.rendition_key:
            return "—"
        return format_html('<img src="{}" alt="" width="240">', obj.smallest_url)


@admin.register(Part)
class PartAdmin(TranslatorAccessMixin, TabbedTranslationAdmin):
    list_display = ["__str__", "title", "status", "published_at", "preview_link"]
    list_filter = ["status", ScheduledFilter, "story__status", "story"]
    list_select_related = ["story"]
    search_fields = ["title_en", "title_ko", "story__title_en", "story__title_ko", "story__slug"]
    autocomplete_fields = ["story"]
    readonly_fields = ["preview_link"]
    actions = ["publish_now", "send_to_review", "archive"]
    date_hierarchy = "published_at"
    inlines = [StoryImageInline]

    def original_language(self, obj):
        return obj.story.original_language if obj else None

    @admin.display(description=_("preview"))
    def preview_link(self, obj: Part) -> str:
        if not obj.pk:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("stories:part-preview", kwargs={"pk": obj.pk}),
            _("Preview"),
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
