from django.urls import path

from translations import views

app_name = "translations"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("review/", views.review_queue, name="review"),
    path("<str:language>/", views.language_queue, name="queue"),
    path("<str:language>/labels/", views.labels, name="labels"),
    path("<str:language>/<str:model>/<int:pk>/", views.edit, name="edit"),
    path("<str:language>/stories/<slug:slug>/export.po", views.export_po, name="export"),
    path("<str:language>/stories/<slug:slug>/import/", views.import_po, name="import"),
]
