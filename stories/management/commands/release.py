"""Prepare an app server for the code it is about to run: catalogues, static files, database schema."""

import io
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

STEPS = ("messages", "static", "migrate")

# The PostgreSQL advisory lock every server's `release` takes around migrate: one bigint, "archive\0".
MIGRATION_LOCK = int.from_bytes(b"archive\0", "big")


def compile_catalogues(locale_paths: list[Path]) -> tuple[int, int]:
    """Compile every .po file under the locale paths to .mo with polib (no GNU gettext needed).

    A .mo file is replaced atomically, and only when its content changes, so servers starting while
    this runs read a whole catalogue. Returns (written, unchanged).
    """
    written = unchanged = 0
    for root in locale_paths:
        for po_path in sorted(Path(root).rglob("*.po")):
            compiled = polib.pofile(str(po_path)).to_binary()
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.read_bytes() == compiled:
                unchanged += 1
                continue
            descriptor, temporary = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(compiled)
                os.chmod(temporary, 0o644)
                os.replace(temporary, mo_path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            written += 1
    return written, unchanged


@contextmanager
def migration_lock(alias: str, *, timeout: int, waiting) -> Iterator[None]:
    """Hold the migration lock on PostgreSQL, so that one server migrates while the others wait for it.

    Django's migrate is not safe to run twice at once on PostgreSQL: two servers would both try to
    apply the same migration. Every `release` takes this session-level advisory lock first; the
    second then finds nothing left to apply. SQLite serves one machine only and needs none.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK])
        if not cursor.fetchone()[0]:
            waiting()
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{timeout}s"])
            try:
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            except OperationalError as error:
                raise CommandError(
                    f"Another server has been migrating this database for more than {timeout} s; "
                    "nothing was migrated here. Run the release again once it has finished."
                ) from error
            finally:
                cursor.execute("RESET lock_timeout")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])


class Command(BaseCommand):
    help = (
        "Run on every app server at each deploy, before starting the new code: compile the translation "
        "catalogues, collect static files, and migrate the database (on PostgreSQL one server at a time, "
        "under an advisory lock). Safe to run again, and on every server at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--only",
            action="append",
            choices=STEPS,
            help="Run only this step (may be repeated). Default: all of them, in the order messages, static, migrate.",
        )
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=600,
            help="Seconds to wait for another server's migration before giving up (default 600).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to migrate.")

    def handle(self, *args, **options):
        steps = [step for step in STEPS if step in (options["only"] or STEPS)]
        self.verbosity = options["verbosity"]
        started = time.monotonic()
        for step in steps:
            step_started = time.monotonic()
            summary = getattr(self, f"step_{step}")(options)
            self.stdout.write(f"{step}: {summary} ({time.monotonic() - step_started:.1f} s)")
        self.stdout.write(self.style.SUCCESS(f"Release steps done in {time.monotonic() - started:.1f} s."))

    def step_messages(self, options) -> str:
        written, unchanged = compile_catalogues(settings.LOCALE_PATHS)
        if written + unchanged == 0:
            raise CommandError(f"No .po catalogue found under {', '.join(map(str, settings.LOCALE_PATHS))}.")
        return f"{written} catalogue(s) compiled, {unchanged} unchanged"

    def step_static(self, options) -> str:
        # Never --clear: servers still running the previous release keep serving the files they name.
        details = self.stdout if self.verbosity > 1 else io.StringIO()
        summary = call_command("collectstatic", interactive=False, verbosity=self.verbosity, stdout=details)
        return (summary or f"collected in {settings.STATIC_ROOT}").strip()

    def step_migrate(self, options) -> str:
        def waiting() -> None:
            self.stdout.write("Another server is migrating this database; waiting for it to finish.")

        with migration_lock(options["database"], timeout=options["lock_timeout"], waiting=waiting):
            call_command(
                "migrate", database=options["database"], interactive=False, verbosity=self.verbosity, stdout=self.stdout
            )
        return "the database schema is up to date"
