"""Write the confirmed newsletter subscribers as CSV, for the organisation's mailing tool."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand

from advocacy import services


class Command(BaseCommand):
    help = "Write confirmed newsletter subscribers as CSV to a file readable by its owner only, or to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="File to write; created readable by its owner only.")

    def handle(self, *args, **options):
        path: Path | None = options["output"]
        if path is None:
            count = services.subscribers_export_csv(out=self.stdout)
        else:
            # Created with owner-only permissions before a single address is written.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as out:
                count = services.subscribers_export_csv(out=out)
        self.stderr.write(f"{count} confirmed subscribers exported.")
