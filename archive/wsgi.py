"""WSGI entry point: Django's application behind the front of the public page cache (stories.front)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings.production")

django_application = get_wsgi_application()

# Imported once Django is set up: it reads the settings and the cache.
from stories.front import PublicPageFront  # noqa: E402

application = PublicPageFront(django_application)
