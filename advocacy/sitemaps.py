"""Campaign pages in the sitemap, each in the languages it is live in."""

import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from advocacy.models import Campaign
from stories.sitemaps import entry, languages, reverse_in


def campaign_entries(page: int, now: datetime.datetime) -> list[dict] | None:
    """Every live campaign, on one page: there are a few dozen at most."""
    if page != 1:
        return None
    today = timezone.localdate(now)
    live = {code: Campaign.objects.live(code, today=today) for code in languages()}
    campaigns = Campaign.objects.filter(pk__in=live[languages()[0]].values("pk"))
    for code in languages()[1:]:
        campaigns = campaigns | Campaign.objects.filter(pk__in=live[code].values("pk"))
    annotated = campaigns.annotate(
        **{f"live_{code}": Exists(live[code].filter(pk=OuterRef("pk"))) for code in languages()}
    )
    result = []
    for campaign in annotated.order_by("pk").only("slug"):
        urls = {
            code: reverse_in(code, "advocacy:campaign", slug=campaign.slug)
            for code in languages()
            if getattr(campaign, f"live_{code}")
        }
        result += [entry(code, urls, changefreq="daily") for code in urls]
    return result
