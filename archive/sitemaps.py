"""Every section of /sitemap.xml; each reads its objects through its app's visibility rule."""

from advocacy.sitemaps import CampaignSitemap
from stories.sitemaps import PartSitemap, StaticPageSitemap, StorySitemap

SITEMAPS = {"pages": StaticPageSitemap, "stories": StorySitemap, "parts": PartSitemap, "campaigns": CampaignSitemap}
