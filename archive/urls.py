from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from api.views import api
from archive import views as archive_views
from stories import views as story_views
from stories.caching import CAMPAIGN_LIST, PUBLICATIONS, cache_public_page

admin.site.site_header = _("Testimony archive")
admin.site.site_title = _("Testimony archive back office")
admin.site.index_title = _("Back office")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sitemap.xml", cache_public_page(archive_views.sitemap, tags=[PUBLICATIONS]), name="sitemap"),
    path(
        "sitemap-<slug:section>-<int:page>.xml",
        cache_public_page(archive_views.sitemap_section, tags=[PUBLICATIONS, CAMPAIGN_LIST]),
        name="sitemap-section",
    ),
    path("robots.txt", story_views.robots_txt, name="robots"),
    # The public read API, outside the language prefixes (each path names its language) and the page cache.
    path("api/v1/", api.urls),
    # Outside the language prefixes and outside MEDIA_URL: evidence is never a public file.
    path("evidence/<int:pk>/", story_views.consent_evidence, name="evidence"),
]

urlpatterns += i18n_patterns(
    path("", include("stories.urls")),
    path("translate/", include("translations.urls")),
    path("", include("search.urls")),
    # Photos are served only through this view, which applies the visibility rule for the language.
    path("photos/<slug:key>/<int:width>.<str:extension>", story_views.story_image, name="story-image"),
    path("", include("advocacy.urls")),
    prefix_default_language=True,
)

handler400 = "archive.views.bad_request"
handler403 = "archive.views.permission_denied"
handler404 = "archive.views.page_not_found"
# Answers 503 instead when the database cannot be reached.
handler500 = "archive.views.server_error"
