from django.urls import path

from stories import views
from stories.caching import cache_public_page
from stories.feeds import LatestPartsFeed

app_name = "stories"

urlpatterns = [
    path("", cache_public_page(views.HomeView.as_view()), name="home"),
    path("stories/", cache_public_page(views.StoryListView.as_view()), name="index"),
    path("stories/<slug:slug>/", cache_public_page(views.StoryDetailView.as_view()), name="story"),
    path("stories/<slug:slug>/part-<int:number>/", cache_public_page(views.PartDetailView.as_view()), name="part"),
    path("feed/", cache_public_page(LatestPartsFeed()), name="feed"),
    path("preview/parts/<int:pk>/", views.part_preview, name="part-preview"),
]
