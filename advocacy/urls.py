from django.urls import path

from advocacy import views
from stories.caching import PUBLICATIONS, cache_public_page

app_name = "advocacy"

urlpatterns = [
    # A campaign page lists the stories behind it that are public for advocacy: a set.
    path(
        "act/<slug:slug>/", cache_public_page(views.CampaignDetailView.as_view(), tags=[PUBLICATIONS]), name="campaign"
    ),
    # Cleaned images are served only through these views, which apply who may see them.
    path("act/photos/<slug:key>/<int:width>.<str:extension>", views.campaign_photo, name="campaign-photo"),
    path("press/<slug:key>/<int:width>.<str:extension>", views.press_logo, name="press-logo"),
    path("act/<slug:slug>/go/<int:pk>/", views.action_go, name="go"),
    path("act/<slug:slug>/count/", views.action_count, name="count"),
    path("newsletter/", views.subscribe, name="subscribe"),
    path("newsletter/sent/", views.SubscribeSentView.as_view(), name="subscribe-sent"),
    path("newsletter/token/", views.csrf_token_json, name="csrf-token"),
    path("newsletter/confirm/<str:token>/", views.confirm, name="confirm"),
    path("newsletter/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
