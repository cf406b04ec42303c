from django.urls import path

from stories import views
from stories.caching import CAMPAIGN_LIST, PUBLICATIONS, cache_public_page
from stories.feeds import LatestPartsFeed, SerialFeed, ThemeFeed

app_name = "stories"

# Each cached page declares the query parameters it reads (no others reach it) and the sets it shows:
# lists show the public stories and parts; a reading page shows the campaigns live beside its story.
# The objects a page shows tag it by themselves while it renders.
urlpatterns = [
    path("", cache_public_page(views.HomeView.as_view(), tags=[PUBLICATIONS]), name="home"),
    path(
        "stories/",
        cache_public_page(views.StoryListView.as_view(), params=["page", "theme"], tags=[PUBLICATIONS]),
        name="index",
    ),
    path(
        "stories/<slug:slug>/",
        cache_public_page(views.StoryDetailView.as_view(), tags=[CAMPAIGN_LIST]),
        name="story",
    ),
    path(
        "stories/<slug:slug>/part-<int:number>/",
        cache_public_page(views.PartDetailView.as_view(), tags=[CAMPAIGN_LIST]),
        name="part",
    ),
    path("feed/", cache_public_page(LatestPartsFeed(), tags=[PUBLICATIONS]), name="feed"),
    # A story's feed shows its own parts, which tag it as the story page's do; a theme's feed is a list.
    path("stories/<slug:slug>/feed/", cache_public_page(SerialFeed()), name="story-feed"),
    path("themes/<slug:slug>/feed/", cache_public_page(ThemeFeed(), tags=[PUBLICATIONS]), name="theme-feed"),
    path("preview/parts/<int:pk>/", views.part_preview, name="part-preview"),
]
