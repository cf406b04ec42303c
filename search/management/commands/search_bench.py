"""Time the search page on this database for `make bench` (search.bench); writes JSON."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from search import bench


class Command(BaseCommand):
    help = "Median and p95 time of the search page for common and rare words in each language, on this database."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="write the numbers as JSON to this file (default: print them)")

    def handle(self, *args, output: str | None = None, **options):
        numbers = bench.measure()
        if output:
            Path(output).write_text(json.dumps(numbers, indent=2, ensure_ascii=False))
        self.stdout.write("\n".join(bench.report_lines(numbers)))
