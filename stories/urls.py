from django.urls import path

from stories import views

app_name = "stories"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("stories/", views.StoryListView.as_view(), name="index"),
    path("stories/<slug:slug>/", views.StoryDetailView.as_view(), name="story"),
    path("stories/<slug:slug>/part-<int:number>/", views.PartDetailView.as_view(), name="part"),
    path("preview/parts/<int:pk>/", views.part_preview, name="part-preview"),
]
