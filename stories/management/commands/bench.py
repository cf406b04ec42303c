"""Measure reader-page throughput in this process: requests per second, cold and cached, and queries."""

import statistics
import time

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import translation

from stories.models import Part, Story


class Command(BaseCommand):
    help = (
        "Request each reader page many times through the full middleware stack and report throughput, "
        "with the page cache emptied before every request (cold) and left alone (cached). Run it after "
        "load_demo. Numbers are for one process on this machine; nothing here is asserted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=200, help="requests per page and mode")

    def handle(self, *args, **options):
        story = Story.objects.public("en").order_by("pk").first()
        part = Part.objects.public("en").order_by("pk").first()
        if story is None or part is None:
            raise CommandError("Nothing is public: run `python manage.py load_demo` first.")
        pages = ["/en/", "/ko/", "/en/stories/", "/en/feed/", "/sitemap.xml"]
        for language in ("en", "ko"):
            with translation.override(language):
                pages += [story.get_absolute_url(), part.get_absolute_url()]
        client = Client()
        count = options["requests"]
        self.stdout.write(f"{'page':45} {'queries':>7} {'cold req/s':>11} {'cached req/s':>13} {'p95 cold ms':>12}")
        with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
            for page in pages:
                cache.clear()
                queries: list[str] = []

                def record(execute, sql, *rest, queries=queries):
                    queries.append(sql)
                    return execute(sql, *rest)

                with connection.execute_wrapper(record):
                    status = client.get(page).status_code
                if status != 200:
                    raise CommandError(f"{page} answered {status}")
                cold = self.timings(client, page, count, clear=True)
                cached = self.timings(client, page, count, clear=False)
                self.stdout.write(
                    f"{page:45} {len(queries):>7} {count / sum(cold):>11.0f} {count / sum(cached):>13.0f} "
                    f"{statistics.quantiles(cold, n=20)[-1] * 1000:>12.1f}"
                )

    def timings(self, client: Client, page: str, count: int, *, clear: bool) -> list[float]:
        durations = []
        for _ in range(count):
            if clear:
                cache.clear()
            start = time.perf_counter()
            client.get(page)
            durations.append(time.perf_counter() - start)
        return durations
