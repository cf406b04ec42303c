from django.urls import path

from search import views

app_name = "search"

# Not in the page cache: a search can show any public part, and is computed afresh at each request,
# so a withdrawal is never served from a stored page (see search.views).
urlpatterns = [path("search/", views.search, name="search")]
