"""Sitemaps of the public pages, each in every language it is public in, with hreflang alternates."""

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from stories.models import Part, Story


class StaticPageSitemap(Sitemap):
    i18n = True
    alternates = True
    changefreq = "daily"

    def items(self):
        return ["stories:home", "stories:index"]

    def location(self, item):
        return reverse(item)


class PublicObjectSitemap(Sitemap):
    """List objects that are public in some language, each only under the languages it is public in."""

    i18n = True
    alternates = True
    model = None

    def public_queryset(self, language: str):
        return self.model.objects.public(language)

    def items(self):
        self.available = {
            code: set(self.public_queryset(code).values_list("pk", flat=True)) for code, _name in settings.LANGUAGES
        }
        combined = None
        for code, _name in settings.LANGUAGES:
            queryset = self.public_queryset(code)
            combined = queryset if combined is None else combined | queryset
        return list(self.order(combined.distinct()))

    def order(self, queryset):
        return queryset.order_by("pk")

    def get_languages_for_item(self, item):
        return [code for code, _name in settings.LANGUAGES if item.pk in self.available[code]]


class StorySitemap(PublicObjectSitemap):
    model = Story
    changefreq = "weekly"


class PartSitemap(PublicObjectSitemap):
    model = Part
    changefreq = "monthly"

    def order(self, queryset):
        return queryset.select_related("story").order_by("story_id", "number")

    def lastmod(self, item):
        return item.published_at
