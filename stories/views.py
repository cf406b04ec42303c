"""The reading site: every query for readers goes through the public() querysets."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.sitemaps import views as sitemap_views
from django.db.models import Model, Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from django.views.generic import DetailView, ListView, TemplateView

from archive.i18n import language_links
from stories import images
from stories.models import ConsentEvidence, Part, Story, StoryImage, Theme, private_storage

HOME_PART_COUNT = 6
HOME_STORY_COUNT = 6
ELSEWHERE_STORY_COUNT = 12


def only_in_other_languages(
    model: type[Model], refine: Callable[[QuerySet], QuerySet] = lambda queryset: queryset, *, limit: int | None = None
) -> list[Model]:
    """Return objects whose translation into the reader's language is missing, each tagged with a language
    it can be read in. Lists mark these instead of showing another language's text under the reader's label.
    """
    current = translation.get_language()
    found: dict[int, Model] = {}
    for code, name in settings.LANGUAGES:
        queryset = refine(model.objects.awaiting_translation(current, available_in=code))
        if limit is not None:
            queryset = queryset[:limit]
        for obj in queryset:
            if obj.pk not in found:
                obj.available_language = code
                obj.available_language_name = name
                found[obj.pk] = obj
    return list(found.values())


def not_in_this_language(request: HttpRequest, model: type[Model], message: str, **lookup) -> HttpResponse:
    """Tell a reader a page is not translated into their language yet, with links to the versions that exist.

    Anything hidden from their language for another reason answers the plain 404.
    """
    current = translation.get_language()
    versions = []
    for obj in only_in_other_languages(model, lambda queryset: queryset.filter(**lookup)):
        with translation.override(obj.available_language):
            versions.append(
                {
                    "code": obj.available_language,
                    "name": obj.available_language_name,
                    "url": obj.get_absolute_url(),
                    "title": str(obj),
                }
            )
    if not versions:
        raise Http404
    context = {
        "versions": versions,
        "message": message.format(language=dict(settings.LANGUAGES)[current]),
        "current_language_name": dict(settings.LANGUAGES)[current],
        "language_links": language_links(request, {version["code"]: version["url"] for version in versions}),
    }
    return render(request, "stories/not_in_language.html", context, status=404)


def public_urls(obj: Model) -> dict[str, str]:
    """Map each language in which the object is public to its URL in that language."""
    urls = {}
    current = translation.get_language()
    for code, _name in settings.LANGUAGES:
        if code == current or type(obj).objects.public(code).filter(pk=obj.pk).exists():
            with translation.override(code):
                urls[code] = obj.get_absolute_url()
    return urls


def alternates(request: HttpRequest, urls: dict[str, str], canonical: str) -> dict:
    """Context for a page's canonical URL, hreflang alternates and language switcher."""
    return {
        "canonical_url": request.build_absolute_uri(canonical),
        "hreflang_links": [{"code": code, "url": request.build_absolute_uri(url)} for code, url in urls.items()],
        "language_links": language_links(request, urls),
    }


class AlternatesMixin:
    """Give a detail page its canonical URL, hreflang alternates and a safe language switcher."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(alternates(self.request, public_urls(self.object), self.object.get_absolute_url()))
        return context


class EveryLanguageMixin:
    """A page that exists in every language (home, the story index): alternates to each of them."""

    url_name = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        urls = {}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                urls[code] = reverse(self.url_name)
        context.update(alternates(self.request, urls, reverse(self.url_name)))
        return context


class HomeView(EveryLanguageMixin, TemplateView):
    template_name = "stories/home.html"
    url_name = "stories:home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        stories = Story.objects.public().select_related("storyteller")
        context["newest_parts"] = (
            Part.objects.public().select_related("story").order_by("-published_at")[:HOME_PART_COUNT]
        )
        context["featured_story"] = stories.filter(is_featured=True).first()
        in_progress = stories.filter(is_complete=False)
        if context["featured_story"]:
            in_progress = in_progress.exclude(pk=context["featured_story"].pk)
        context["stories_in_progress"] = in_progress[:HOME_STORY_COUNT]
        context["elsewhere_parts"] = only_in_other_languages(
            Part, lambda parts: parts.select_related("story").order_by("-published_at"), limit=HOME_PART_COUNT
        )
        return context


class StoryListView(EveryLanguageMixin, ListView):
    template_name = "stories/story_list.html"
    url_name = "stories:index"
    context_object_name = "stories"
    paginate_by = settings.STORIES_PAGE_SIZE

    def get_queryset(self):
        stories = Story.objects.public().select_related("storyteller").prefetch_related("themes")
        self.theme = None
        theme_slug = self.request.GET.get("theme")
        if theme_slug:
            self.theme = get_object_or_404(self.public_themes(), slug=theme_slug)
            stories = stories.filter(themes=self.theme)
        return stories.order_by("-created_at", "-pk")

    def public_themes(self):
        return Theme.objects.filter(stories__in=Story.objects.public()).distinct()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["themes"] = self.public_themes()
        context["current_theme"] = self.theme
        if self.theme is None:
            context["elsewhere_stories"] = only_in_other_languages(
                Story,
                lambda stories: stories.select_related("storyteller").order_by("-created_at"),
                limit=ELSEWHERE_STORY_COUNT,
            )
        return context


class StoryDetailView(AlternatesMixin, DetailView):
    template_name = "stories/story_detail.html"
    context_object_name = "story"

    def get_object(self, queryset=None):
        return get_object_or_404(Story.objects.public().select_related("storyteller"), slug=self.kwargs["slug"])

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            return not_in_this_language(
                request, Story, _("This story is not yet available in {language}."), slug=self.kwargs["slug"]
            )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["parts"] = Part.objects.public().filter(story=self.object).select_related("story").order_by("number")
        context["elsewhere_parts"] = only_in_other_languages(
            Part, lambda parts: parts.filter(story=self.object).select_related("story").order_by("number")
        )
        context["content_warnings"] = list(self.object.content_warnings.all())
        return context


def part_context(part: Part, parts: list[Part]) -> dict:
    """Build the navigation around one part from the serial's ordered table of contents."""
    earlier = [p for p in parts if p.number < part.number]
    later = [p for p in parts if p.number > part.number]
    return {
        "part": part,
        "story": part.story,
        "table_of_contents": parts,
        "previous_part": earlier[-1] if earlier else None,
        "next_part": later[0] if later else None,
        # Readers arriving mid-serial are offered the beginning: parts 1 and 2.
        "opening_parts": [p for p in earlier if p.number <= 2],
        "content_warnings": list(part.story.content_warnings.all()),
    }


def table_of_contents(parts: QuerySet, story: Story) -> QuerySet:
    """A story's parts in order, without the bodies a table of contents never shows."""
    return (
        parts.filter(story=story)
        .select_related("story")
        .defer(*(f"body_{code}" for code, _name in settings.LANGUAGES))
        .defer(*(f"body_html_{code}" for code, _name in settings.LANGUAGES))
        .order_by("number")
    )


class PartDetailView(AlternatesMixin, DetailView):
    template_name = "stories/part_detail.html"
    context_object_name = "part"

    def get_object(self, queryset=None):
        return get_object_or_404(
            Part.objects.public()
            .select_related("story", "story__storyteller")
            # One query for every photo of the part, however many there are.
            .prefetch_related(Prefetch("images", queryset=StoryImage.objects.public(), to_attr="shown_images")),
            story__slug=self.kwargs["slug"],
            number=self.kwargs["number"],
        )

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            return not_in_this_language(
                request,
                Part,
                _("This part is not yet available in {language}."),
                story__slug=self.kwargs["slug"],
                number=self.kwargs["number"],
            )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        parts = list(table_of_contents(Part.objects.public(), self.object.story))
        context.update(part_context(self.object, parts))
        context["elsewhere_parts"] = only_in_other_languages(
            Part, lambda others: table_of_contents(others, self.object.story)
        )
        return context


@never_cache
@login_required
def part_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Show staff a part through the reader's template, whatever its status, marked as a preview."""
    if not (
        request.user.is_staff
        and (request.user.has_perm("stories.view_part") or request.user.has_perm("translations.translate"))
    ):
        raise Http404
    part = get_object_or_404(Part.objects.select_related("story", "story__storyteller"), pk=pk)
    # Staff preview every cleaned photo of the part, whether or not readers may see it yet.
    part.shown_images = [image for image in part.images.all() if image.rendition_key]
    parts = list(part.story.parts.order_by("number"))
    context = part_context(part, parts)
    context["is_preview"] = True
    response = render(request, "stories/part_detail.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_GET
def consent_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a consent form or recording to consent officers; everyone else gets the plain 404."""
    if not (
        request.user.is_authenticated
        and request.user.is_staff
        and request.user.has_perm("stories.view_consentevidence")
    ):
        raise Http404
    evidence = get_object_or_404(ConsentEvidence, pk=pk)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, as_attachment=True, filename=evidence.file.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _may_preview_photos(user) -> bool:
    return bool(user.is_authenticated and user.is_staff and user.has_perm("stories.view_storyimage"))


@require_safe
def story_image(request: HttpRequest, key: str, width: int, extension: str) -> HttpResponse:
    """Serve one cleaned rendition of a photo readers may see in this language; anything else is the plain 404.

    Staff who may view photos also get the photos of parts that are not public, for previews, never cached.
    """
    image = StoryImage.objects.public().filter(rendition_key=key).first()
    for_staff = False
    if image is None and _may_preview_photos(request.user):
        image = StoryImage.objects.filter(rendition_key=key).first()
        for_staff = True
    rendition = image.rendition(width=width, extension=extension) if image else None
    if rendition is None:
        raise Http404
    try:
        handle = private_storage().open(rendition["name"], "rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, content_type=images.RENDITION_FORMATS[extension][1])
    if for_staff:
        response["Cache-Control"] = "private, no-store"
    else:
        # Browsers and proxies may keep a copy but must ask again before each use, so a withdrawal
        # reaches them at the next request; the unchanged photo then costs a 304, not a download.
        response["Cache-Control"] = "no-cache"
        response["ETag"] = quote_etag(f"{key}-{width}-{extension}")
    # Search engines keep image thumbnails long after a page is gone; photos stay out of their indexes.
    response["X-Robots-Tag"] = "noindex, noimageindex"
    return response


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """Serve the sitemap of every public page in both languages."""
    from archive.sitemaps import SITEMAPS

    return sitemap_views.sitemap(request, sitemaps=SITEMAPS)


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    """Let crawlers read the public site but not the back office or previews."""
    lines = ["User-agent: *", "Disallow: /admin/"]
    for code, _name in settings.LANGUAGES:
        lines.append(f"Disallow: /{code}/preview/")
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
