"""Campaign pages in the sitemap, each in the languages it is live in."""

from advocacy.models import Campaign
from stories.sitemaps import PublicObjectSitemap


class CampaignSitemap(PublicObjectSitemap):
    model = Campaign
    changefreq = "daily"

    def public_queryset(self, language: str):
        return Campaign.objects.live(language)
