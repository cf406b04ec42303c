"""The translator's workspace: what to translate, side-by-side editing, review, and PO files."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from advocacy.models import Country, Recipient, RecipientGroup
from archive.i18n import around_key
from archive.prepared import Param, PreparedQuery
from background import queue
from stories.models import Part, Story, StoryImage, Storyteller
from translations import po, services
from translations.diff import word_diff
from translations.forms import PoImportForm, TranslationForm
from translations.models import PoImport, Translation
from translations.registry import LABEL_LANGUAGE, LABEL_MODELS, REGISTRY
from translations.tasks import apply_po_import
from translations.workspace import (
    NEWEST_STORIES,
    Item,
    StoryProgress,
    held_back_parts,
    label_items,
    newest_stories,
    overview,
    stories_progress,
    workable_stories,
)

MODELS = {label.split(".")[1]: entry for label, entry in REGISTRY.items()}
# Stories per page of a language's queue: the dashboard links to its newest ones on the first page.
QUEUE_PAGE_SIZE = max(5, NEWEST_STORIES)
REVIEW_PAGE_SIZE = 25
# The queue's filter: stories a translator has something to do in (the default), or every story.
QUEUE_SHOWS = ("todo", "all")


def _language(code: str) -> str:
    if code not in dict(settings.LANGUAGES):
        raise Http404
    return code


def workspace_view(view):
    """Staff with the translate permission only; never cached."""
    return never_cache(login_required(permission_required("translations.translate", raise_exception=True)(view)))


@workspace_view
def dashboard(request: HttpRequest) -> HttpResponse:
    """Progress per language, with the newest stories that still need work."""
    summary = overview()
    newest = newest_stories(summary)
    languages = [
        {
            "code": code,
            "name": name,
            "progress": summary.languages[code],
            "todo_count": len(summary.languages[code].todo),
            "stories": [
                {"story": story, "done": count.done, "total": count.total, "percent": count.percent}
                for story, count in newest[code]
            ],
        }
        for code, name in settings.LANGUAGES
    ]
    context = {"languages": languages, "review_count": len(summary.review)}
    return render(request, "translations/dashboard.html", context)


class LanguageQueueView(ListView):
    """What needs translating or updating in one language, a page of stories at a time, newest first.

    Paginated as the story index is: ``?page=`` takes a number or ``last``, and any other page is a 404.
    """

    template_name = "translations/queue.html"
    paginate_by = QUEUE_PAGE_SIZE

    def get_queryset(self):
        self.language = _language(self.kwargs["language"])
        self.show = self.request.GET.get("show") or QUEUE_SHOWS[0]
        if self.show not in QUEUE_SHOWS:
            raise Http404
        progress = overview().languages[self.language]
        # The keys of the stories, from the overview; the page's stories are loaded below.
        return progress.todo if self.show == "todo" else progress.stories

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            language=self.language,
            language_name=dict(settings.LANGUAGES)[self.language],
            show=self.show,
            stories=with_edit_urls(stories_progress(context["object_list"], self.language), self.language),
            import_form=PoImportForm(),
            has_labels=self.language != LABEL_LANGUAGE,
        )
        report_imports(self.request, self.language)
        return context


language_queue = workspace_view(LanguageQueueView.as_view())


def with_edit_urls(rows: list[StoryProgress], language: str) -> list[StoryProgress]:
    """Set each item's edit address from one remembered ``reverse()`` per model, not one per row of the page."""
    for row in rows:
        for item in row.items:
            before, after = around_key("translations:edit", language=language, model=item.model_name)
            item.edit_url = f"{before}{item.obj.pk}{after}"
    return rows


def queue_url(language: str, story: Story) -> str:
    """The address of the queue page that lists the story, at the story's anchor.

    The page where it is listed under the default filter, or under "all" once nothing is left to do in it.
    """
    progress = overview().languages[language]
    address = reverse("translations:queue", kwargs={"language": language})
    for show, stories in zip(QUEUE_SHOWS, (progress.todo, progress.stories), strict=True):
        if story.pk in stories:
            query = {"show": show} if show != QUEUE_SHOWS[0] else {}
            page = stories.index(story.pk) // LanguageQueueView.paginate_by + 1
            if page > 1:
                query["page"] = page
            return f"{address}?{urlencode(query)}#story-{story.pk}" if query else f"{address}#story-{story.pk}"
    return f"{address}#story-{story.pk}"


@workspace_view
def labels(request: HttpRequest, language: str) -> HttpResponse:
    """The labels of campaign letters to translate into the language: countries, groups, offices."""
    language = _language(language)
    items = label_items(language)
    context = {
        "language": language,
        "language_name": dict(settings.LANGUAGES)[language],
        "items": items,
        "done": sum(item.is_done for item in items),
    }
    return render(request, "translations/labels.html", context)


class ReviewQueueView(ListView):
    """Translations waiting for an editor, longest waiting first, a page at a time (paginated as the queue is)."""

    template_name = "translations/review.html"
    paginate_by = REVIEW_PAGE_SIZE

    def get_queryset(self):
        if not self.request.user.has_perm(services.APPROVE):
            raise Http404
        # Their keys, from the overview; the page's translations are loaded below.
        return overview().review

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pks = context["object_list"]
        # Rows, not instances: the page reads four columns of each translation and its sender's name.
        waiting = {
            row["id"]: row
            for row in Translation.objects.filter(pk__in=list(pks), status=Translation.Status.IN_REVIEW)
            .order_by()
            .values(*REVIEW_FIELDS)
        }
        entries = _review_entries([waiting[pk] for pk in pks if pk in waiting])
        # Each edit address from one remembered reverse() per language and model, not one per entry.
        for entry in entries:
            before, after = around_key("translations:edit", language=entry["language"], model=entry["model"])
            entry["edit_url"] = f"{before}{entry['obj'].pk}{after}"
        context["entries"] = entries
        return context


review_queue = workspace_view(ReviewQueueView.as_view())


# What the review queue shows of a translation: not the texts, which are long.
REVIEW_FIELDS = ("id", "content_type_id", "object_id", "language", "submitted_by__username")
# What each model's name (its __str__) reads: the review queue loads that, and not the texts either.
NAME_FIELDS = {
    Storyteller: ("pseudonym",),
    Story: ("title", "slug"),
    Part: ("number", "story__title", "story__slug", "story__kind"),
    StoryImage: ("part",),
    Country: ("name", "code"),
    RecipientGroup: ("name",),
    Recipient: ("label", "email"),
}


def _review_entries(translations: list[dict]) -> list[dict]:
    """Each translation (a row of ``REVIEW_FIELDS``) with the object it translates, loaded in one query per model."""
    wanted: dict[int, list[int]] = {}
    for translation in translations:
        wanted.setdefault(translation["content_type_id"], []).append(translation["object_id"])
    objects = {}
    for content_type_id, pks in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model not in NAME_FIELDS:
            continue
        queryset = model._default_manager.only(*NAME_FIELDS[model])
        if model is Part:
            queryset = queryset.select_related("story")
        objects[content_type_id] = queryset.in_bulk(pks)
    language_names = dict(settings.LANGUAGES)
    entries = []
    for translation in translations:
        obj = objects.get(translation["content_type_id"], {}).get(translation["object_id"])
        if obj is not None:
            entries.append(
                {
                    "obj": obj,
                    "model": obj._meta.model_name,
                    "language": translation["language"],
                    "language_name": language_names[translation["language"]],
                    "sent_by": translation["submitted_by__username"],
                }
            )
    return entries


def _load(model: str, pk: int, language: str):
    entry = MODELS.get(model)
    if entry is None:
        raise Http404
    queryset = entry.model.objects.all()
    if entry.model is Part:
        queryset = queryset.select_related("story__storyteller")
    elif entry.model is Story:
        queryset = queryset.select_related("storyteller")
    elif entry.model is StoryImage:
        queryset = queryset.select_related("part__story__storyteller")
    obj = get_object_or_404(queryset, pk=pk)
    if entry.label in LABEL_MODELS:
        # A label of a campaign letter: no storyteller's text, translated like any other.
        if entry.original_language(obj) == language:
            raise Http404
        return entry, obj
    # Only while its story is workable in the language (a storyteller's: any of theirs), checked for those
    # stories alone.
    if isinstance(obj, Storyteller):
        stories = list(obj.stories.values_list("pk", flat=True))
    else:
        stories = [_story_of(obj).pk]
    if not workable_stories(stories, language).exists():
        raise Http404
    if entry.original_language(obj) == language:
        # Translators never edit originals; the original language has no translation page.
        raise Http404
    part = obj if isinstance(obj, Part) else obj.part if isinstance(obj, StoryImage) else None
    if part is not None and held_back_parts([part]):
        # Its text holds an identifying term: not shown, nor which term, until an editor removes it.
        raise Http404
    return entry, obj


def _workable_story(slug: str, language: str) -> Story:
    story = get_object_or_404(Story, slug=slug)
    if not workable_stories([story.pk], language).exists():
        raise Http404
    return story


def _translation(obj, language: str) -> Translation | None:
    content_type = ContentType.objects.get_for_model(obj)
    return Translation.objects.filter(content_type=content_type, object_id=obj.pk, language=language).first()


def _story_of(obj):
    if obj._meta.label_lower in LABEL_MODELS:
        return None
    if isinstance(obj, StoryImage):
        return obj.part.story
    if isinstance(obj, Part):
        return obj.story
    if isinstance(obj, Story):
        return obj
    return obj.stories.order_by("-created_at").first()


@workspace_view
def edit(request: HttpRequest, language: str, model: str, pk: int) -> HttpResponse:
    """Original and translation side by side; save a draft, send for review, or (editors) approve."""
    language = _language(language)
    entry, obj = _load(model, pk, language)
    translation = _translation(obj, language)
    opened_at = translation.updated_at.isoformat() if translation else ""
    can_approve = request.user.has_perm(services.APPROVE)
    # A part's page also holds the story's and storyteller's text the part needs in the language, sent together.
    together = _companions(obj, language, request.POST if request.method == "POST" else None)

    if request.method == "POST":
        form = TranslationForm(request.POST, entry=entry, language=language)
        action = request.POST.get("action", "save")
        if action == "submit_together" and not all(companion["form"].is_valid() for companion in together):
            form.is_valid()
            form.add_error(None, _("Correct the texts below before sending them for review."))
        if form.is_valid():
            # Saving, submitting, approving and returning all act on what this page showed.
            if form.cleaned_data["opened_at"] != opened_at and action in {
                "save",
                "submit",
                "submit_together",
                "approve",
                "return",
            }:
                form.add_error(
                    None,
                    _(
                        "Someone else changed this translation since you opened it. Your text is below; "
                        "compare it with theirs before saving again."
                    ),
                )
                # Show what the other person's saved version says, field by field, where it differs.
                theirs = po.working_text(Item(obj, entry, language, translation))
                for field, text in form.text().items():
                    if theirs.get(field, "") != text:
                        form.add_error(
                            None,
                            _("{field} now reads: {text}").format(
                                field=entry.field_label(field), text=theirs.get(field) or _("(empty)")
                            ),
                        )
            else:
                try:
                    _act(request, action, obj, language, form, together)
                except ValidationError as error:
                    for message in error.messages:
                        form.add_error(None, message)
                else:
                    return redirect(request.path)
    else:
        initial = po.working_text(Item(obj, entry, language, translation))
        form = TranslationForm(initial={**initial, "opened_at": opened_at}, entry=entry, language=language)

    original_language = entry.original_language(obj)
    original = entry.original_text(obj)
    changes = []
    if translation and translation.needs_update:
        for field in entry.fields:
            before = translation.approved_source.get(field, "")
            if before != original[field]:
                changes.append({"field": form.fields[field].label, "runs": word_diff(before, original[field])})
    context = {
        "obj": obj,
        "story": _story_of(obj),
        "entry": entry,
        "language": language,
        "language_name": dict(settings.LANGUAGES)[language],
        "original_language": original_language,
        "original_language_name": dict(settings.LANGUAGES)[original_language],
        "originals": [
            {"label": form.fields[field].label, "text": original[field], "field": field} for field in entry.fields
        ],
        "form": form,
        "translation": translation,
        "status_label": Translation.Status(translation.status).label
        if translation
        else Translation.Status.MISSING.label,
        "changes": changes,
        "can_approve": can_approve,
        "together": together,
        "sent_with": _sent_with(translation),
        "sent_together": bool(
            translation and translation.submitted_together.filter(status=Translation.Status.IN_REVIEW).exists()
        ),
    }
    return render(request, "translations/edit.html", context, status=400 if form.errors else 200)


def _sent_with(translation: Translation | None):
    """The part this translation waits for review with: the decision on both is taken on the part's page."""
    lead = translation.submitted_with if translation and translation.submitted_with_id else None
    if (
        lead is None
        or lead.status != Translation.Status.IN_REVIEW
        or translation.status != Translation.Status.IN_REVIEW
    ):
        return None
    return lead.content_object


def _companions(obj, language: str, data) -> list[dict]:
    """The story's and storyteller's text a part needs in the language, each with its original and a form."""
    if not isinstance(obj, Part):
        return []
    companions = []
    for other in services.companions(obj, language):
        entry = MODELS[other._meta.model_name]
        record = _translation(other, language)
        prefix = other._meta.model_name
        if data is None:
            initial = po.working_text(Item(other, entry, language, record))
            form = TranslationForm(initial=initial, entry=entry, language=language, prefix=prefix)
        else:
            form = TranslationForm(data, entry=entry, language=language, prefix=prefix)
        original_language = entry.original_language(other)
        original = entry.original_text(other)
        companions.append(
            {
                "obj": other,
                "label": Item(other, entry, language, record).label,
                "status_label": Translation.Status(Item(other, entry, language, record).status).label,
                "original_language": original_language,
                "original_language_name": dict(settings.LANGUAGES)[original_language],
                "originals": [
                    {"label": entry.field_label(field), "text": original[field], "field": field}
                    for field in entry.fields
                ],
                "form": form,
            }
        )
    return companions


def _act(
    request: HttpRequest, action: str, obj, language: str, form: TranslationForm, together: list[dict] = ()
) -> None:
    user = request.user
    if action == "submit_together":
        texts = {"part": form.text(), **{c["obj"]._meta.model_name: c["form"].text() for c in together}}
        services.translation_submit_together(part=obj, language=language, texts=texts, by=user)
        messages.success(
            request,
            _("Sent for review together. An editor will approve them all at once or return them all to you."),
        )
    elif action == "save":
        services.translation_save_draft(obj=obj, language=language, text=form.text(), by=user)
        for companion in together:
            # What the translator typed for the story or storyteller on this page is kept as their draft too.
            if companion["form"].is_valid() and companion["form"].has_changed():
                services.translation_save_draft(
                    obj=companion["obj"], language=language, text=companion["form"].text(), by=user
                )
        messages.success(request, _("Draft saved. Readers still see the last approved version, if there is one."))
    elif action == "submit":
        services.translation_save_draft(obj=obj, language=language, text=form.text(), by=user)
        services.translation_submit(obj=obj, language=language, by=user)
        messages.success(request, _("Sent for review. An editor will approve it or return it to you."))
    elif action == "approve":
        services.translation_approve(obj=obj, language=language, by=user)
        messages.success(request, _("Approved. Readers can now read this version."))
    elif action == "return":
        services.translation_return(obj=obj, language=language, by=user)
        messages.success(request, _("Returned to the translator as a draft."))
    elif action in {"keep_public", "hide_until_updated"}:
        services.translation_set_keep_public(obj=obj, language=language, keep_public=action == "keep_public", by=user)
        messages.success(request, _("Saved your decision about the outdated translation."))
    else:
        raise ValidationError(_("Unknown action."))


@workspace_view
def export_po(request: HttpRequest, language: str, slug: str) -> HttpResponse:
    """Download a story's display text for one language as a PO file."""
    language = _language(language)
    story = _workable_story(slug, language)
    response = HttpResponse(
        po.story_export(story=story, language=language), content_type="text/x-gettext-translation; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{story.slug}.{language}.po"'
    return response


@require_POST
@workspace_view
def import_po(request: HttpRequest, language: str, slug: str) -> HttpResponse:
    """Queue a translated PO file to be applied as drafts by a task; its outcome is shown on the language's page."""
    language = _language(language)
    story = _workable_story(slug, language)
    form = PoImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a PO file to import."))
        return redirect(queue_url(language, story))
    # Refused here, at once, when it cannot be a PO file at all; whether it fits the story is the task's work.
    content = form.cleaned_data["file"].read(po.MAX_PO_BYTES + 1)
    try:
        po.check_file(content)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(queue_url(language, story))
    with transaction.atomic():
        job = PoImport.objects.create(
            story=story,
            language=language,
            by=request.user,
            interface_language=get_language(),
            content=content.decode("utf-8"),
        )
        queue.enqueue_in_transaction(apply_po_import, job.pk)
    report_imports(request, language)
    return redirect(queue_url(language, story))


# Whether the translator has a PO file in the language whose outcome they were not shown: compiled once per
# process (archive.prepared), as every visit to a language's queue asks.
UNREPORTED_IMPORT = PreparedQuery(
    lambda: PoImport.objects.filter(
        by_id=Param("user", models.IntegerField()),
        language=Param("language", models.CharField()),
        reported_at__isnull=True,
    ).values("id")[:1]
)


def report_imports(request: HttpRequest, language: str) -> None:
    """Show the translator what became of their PO files in this language, each outcome once."""
    if not UNREPORTED_IMPORT(user=request.user.pk, language=language):
        return
    jobs = PoImport.objects.filter(by=request.user, language=language, reported_at__isnull=True).select_related("story")
    finished = []
    for job in jobs.order_by("created_at"):
        if job.status == PoImport.Status.WAITING:
            messages.info(
                request,
                _("The file for “{story}” is being imported as drafts. Reload this page to see the result.").format(
                    story=job.story
                ),
            )
            continue
        level = getattr(messages, (job.outcome or {}).get("level", "info").upper(), messages.INFO)
        for message in (job.outcome or {}).get("messages", []):
            messages.add_message(request, level, message)
        finished.append(job.pk)
    if finished:
        PoImport.objects.filter(pk__in=finished).update(reported_at=timezone.now())
