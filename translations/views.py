"""The translator's workspace: what to translate, side-by-side editing, review, and PO files."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from stories.models import Part, Story, StoryImage
from translations import po, services
from translations.diff import word_diff
from translations.forms import PoImportForm, TranslationForm
from translations.models import Translation
from translations.registry import REGISTRY
from translations.workspace import Item, progress, workable_stories

MODELS = {label.split(".")[1]: entry for label, entry in REGISTRY.items()}


def _language(code: str) -> str:
    if code not in dict(settings.LANGUAGES):
        raise Http404
    return code


def workspace_view(view):
    """Staff with the translate permission only; never cached."""
    return never_cache(login_required(permission_required("translations.translate", raise_exception=True)(view)))


@workspace_view
def dashboard(request: HttpRequest) -> HttpResponse:
    """Progress per story and per language."""
    languages = [{"code": code, "name": name, "stories": progress(code)} for code, name in settings.LANGUAGES]
    for language in languages:
        language["done"] = sum(story.done for story in language["stories"])
        language["total"] = sum(story.total for story in language["stories"])
    review = Translation.objects.filter(status=Translation.Status.IN_REVIEW).count()
    return render(request, "translations/dashboard.html", {"languages": languages, "review_count": review})


@workspace_view
def language_queue(request: HttpRequest, language: str) -> HttpResponse:
    """What needs translating or updating in one language."""
    language = _language(language)
    return render(
        request,
        "translations/queue.html",
        {
            "language": language,
            "language_name": dict(settings.LANGUAGES)[language],
            "stories": progress(language),
            "import_form": PoImportForm(),
        },
    )


@workspace_view
def review_queue(request: HttpRequest) -> HttpResponse:
    """Translations waiting for an editor."""
    if not request.user.has_perm(services.APPROVE):
        raise Http404
    waiting = Translation.objects.filter(status=Translation.Status.IN_REVIEW).select_related(
        "content_type", "submitted_by"
    )
    entries = []
    for translation in waiting.order_by("submitted_at"):
        obj = translation.content_object
        if obj is not None:
            entries.append({"translation": translation, "obj": obj, "model": translation.content_type.model})
    return render(request, "translations/review.html", {"entries": entries})


def _load(model: str, pk: int, language: str):
    entry = MODELS.get(model)
    if entry is None:
        raise Http404
    queryset = entry.model.objects.all()
    stories = workable_stories()
    if entry.model is Part:
        queryset = queryset.select_related("story__storyteller").filter(story__in=stories)
    elif entry.model is Story:
        queryset = queryset.select_related("storyteller").filter(pk__in=stories.values("pk"))
    elif entry.model is StoryImage:
        queryset = queryset.select_related("part__story__storyteller").filter(part__story__in=stories)
    else:
        queryset = queryset.filter(stories__in=stories).distinct()
    obj = get_object_or_404(queryset, pk=pk)
    if entry.original_language(obj) == language:
        # Translators never edit originals; the original language has no translation page.
        raise Http404
    return entry, obj


def _translation(obj, language: str) -> Translation | None:
    content_type = ContentType.objects.get_for_model(obj)
    return Translation.objects.filter(content_type=content_type, object_id=obj.pk, language=language).first()


def _story_of(obj):
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

    if request.method == "POST":
        form = TranslationForm(request.POST, entry=entry, language=language)
        action = request.POST.get("action", "save")
        if form.is_valid():
            # Saving, submitting, approving and returning all act on what this page showed.
            if form.cleaned_data["opened_at"] != opened_at and action in {"save", "submit", "approve", "return"}:
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
                    _act(request, action, obj, language, form)
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
    }
    return render(request, "translations/edit.html", context, status=400 if form.errors else 200)


def _act(request: HttpRequest, action: str, obj, language: str, form: TranslationForm) -> None:
    user = request.user
    if action == "save":
        services.translation_save_draft(obj=obj, language=language, text=form.text(), by=user)
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
    story = get_object_or_404(workable_stories(), slug=slug)
    response = HttpResponse(
        po.story_export(story=story, language=language), content_type="text/x-gettext-translation; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{story.slug}.{language}.po"'
    return response


@require_POST
@workspace_view
def import_po(request: HttpRequest, language: str, slug: str) -> HttpResponse:
    """Apply a translated PO file as drafts, or refuse it with a list of what changed."""
    language = _language(language)
    story = get_object_or_404(workable_stories(), slug=slug)
    form = PoImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a PO file to import."))
    else:
        try:
            result = po.story_import(
                story=story, language=language, content=form.cleaned_data["file"].read(), by=request.user
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            if result.updated:
                messages.success(
                    request,
                    _("Imported as drafts: {items}.").format(items=", ".join(str(label) for label in result.updated)),
                )
            else:
                messages.info(request, _("The file changed nothing."))
    return redirect(reverse("translations:queue", kwargs={"language": language}) + f"#story-{story.pk}")
