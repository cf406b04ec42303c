"""Time the two writes issue 8 bounds: an editor publishing a part, a consent officer withdrawing consent.

On a database (``--database``, a URL or a SQLite file, measured in a subprocess under
``archive.settings.bench`` with the bench's Redis and a key prefix of the run's own), or else on this
process's default database, the command picks a storyteller with exactly 30 parts (or, if none has
30, the one with the most parts, and says so) with the most parts public, and times the real services:

- publish: ``services.part_publish(part=..., at=now)``, the admin's "Publish selected parts now", of
  a part of that storyteller that is not published yet; when there is none, one draft part is written
  (a copy of their latest part's text, its translation approved) in the same transaction, untimed;
- withdraw: ``services.consent_withdraw(...)``, what the consent officer's withdrawal page records:
  the ledger entry, every part back from the schedule, versions bumped, photos gone, the publication
  rows, the search index and the page cache's tags, in one transaction.

Each run is one transaction rolled back at its end (the consent ledger and audit trail are append-only
on PostgreSQL: rollback is the only way to repeat a withdrawal), so the database is left as it was; the
command counts its tables before and after and fails if any differs. What is timed is the service
call inside that transaction: **not the COMMIT**. The COMMIT of a small write is timed apart: one
part's version moved up one and back, each move committed (the row ends as it was). The page cache's tags
are bumped once during the service (timed) and again after the commit (``caching.invalidate``); that
second bump, which a rollback never runs, is timed apart too, against the same cache.

Measured and reported, never asserted. ``manage.py bench`` runs it on every database it measures.
"""

import contextlib
import cProfile
import functools
import io
import json
import os
import pstats
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from stories.management.commands._bench_servers import measured_code, summary_ms

TARGET_PARTS = 30
TARGET_MS = 200.0
RUNS = 20
WARMUP = 3
TRANSLATED = ("title", "summary", "body", "recap")


def masked(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def as_url(value: str) -> str:
    return value if "://" in value else f"sqlite:///{Path(value).resolve()}"


class Command(BaseCommand):
    help = (
        "Time publishing a part and withdrawing the consent of a storyteller with 30 parts, through the "
        "services editors and consent officers use, each run in a transaction rolled back (the COMMIT is "
        "timed apart). Leaves the database unchanged. Measured and reported, never asserted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database",
            action="append",
            default=[],
            metavar="DATABASE",
            help="a database URL or the path of a SQLite file, measured in a subprocess under "
            "archive.settings.bench; repeatable. Default: this process's own database and cache",
        )
        parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs of each write (default {RUNS})")
        parser.add_argument("--warmup", type=int, default=WARMUP, help=f"untimed runs first (default {WARMUP})")
        parser.add_argument("--storyteller", type=int, help="the storyteller's id (default: one with 30 parts)")
        parser.add_argument(
            "--profile", action="store_true", help="run each write once more under cProfile and print where it goes"
        )
        parser.add_argument(
            "--redis-url",
            default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
            help="with --database: the Redis the page cache's tags are bumped in, under a key prefix of this "
            "run's own, deleted afterwards; 'none' keeps the cache in process memory",
        )
        parser.add_argument("--output", help="also write the numbers as JSON to this file")

    def handle(self, *args, **options):
        if options["runs"] < 1 or options["warmup"] < 0:
            raise CommandError("--runs must be at least 1 and --warmup at least 0.")
        if options["database"]:
            return self.measure_elsewhere(options)
        backend = caches["default"]
        if isinstance(backend, RedisCache) and settings.SETTINGS_MODULE != "archive.settings.bench":
            # Every write bumps the page cache's tags at once: never a live site's cache.
            raise CommandError(
                "This process's cache is Redis: pass --database, which measures under archive.settings.bench "
                "with the bench's own Redis database and key prefix."
            )
        numbers = measure(
            runs=options["runs"],
            warmup=options["warmup"],
            storyteller_id=options["storyteller"],
            profile=options["profile"],
        )
        numbers["database"] = masked(_database_url())
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(numbers, indent=2))
        self.stdout.write("\n".join(report_lines(numbers)))

    def measure_elsewhere(self, options: dict) -> None:
        redis_url = None if options["redis_url"] in ("", "none") else options["redis_url"]
        if redis_url:
            try:
                import redis

                redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
            except Exception as error:  # any failure means: tags bumped in process memory, not no measurement
                self.stderr.write(f"Redis at {redis_url} unreachable ({error}); the cache is process memory.")
                redis_url = None
        prefix = f"archive-bench-writes-{secrets.token_hex(4)}"
        results = []
        try:
            for given in options["database"]:
                url = as_url(given)
                out = Path(f"/tmp/write-bench-{prefix}-{len(results)}.json")  # noqa: S108
                arguments = ["write_bench", "--output", str(out), "--runs", str(options["runs"])]
                arguments += ["--warmup", str(options["warmup"])]
                if options["storyteller"]:
                    arguments += ["--storyteller", str(options["storyteller"])]
                if options["profile"]:
                    arguments.append("--profile")
                environment = {
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "archive.settings.bench",
                    "ARCHIVE_BENCH": "1",
                    "BENCH_DATABASE": url,
                    "REDIS_URL": redis_url or "",
                    "BENCH_CACHE_PREFIX": prefix,
                    "IDENTITY_ENCRYPTION_KEYS": ",".join(settings.IDENTITY_ENCRYPTION_KEYS or []),
                    "PYTHONDONTWRITEBYTECODE": "1",
                }
                environment.pop("DATABASE_URL", None)
                self.stdout.write(f"[write_bench] measuring {masked(url)}")
                finished = subprocess.run(  # noqa: S603
                    [sys.executable, str(settings.BASE_DIR / "manage.py"), *arguments],
                    env=environment,
                    cwd=settings.BASE_DIR,
                    check=False,
                    capture_output=True,
                    text=True,
                )
                if finished.returncode:
                    self.stdout.write(finished.stdout)
                    self.stderr.write(finished.stderr)
                    raise CommandError(f"write_bench on {masked(url)} failed (above).")
                results.append(json.loads(out.read_text()))
                out.unlink()
        finally:
            if redis_url:
                import redis

                client = redis.Redis.from_url(redis_url)
                for key in client.scan_iter(match=f"{prefix}:*", count=1000):
                    client.delete(key)
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(results, indent=2))
        for numbers in results:
            self.stdout.write("\n".join(report_lines(numbers)))


def _load_average() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "-"


def _database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    user = f"{database.get('USER')}@" if database.get("USER") else ""
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"{connection.vendor}://{user}{database.get('HOST') or ''}{port}/{database['NAME']}"


# --- Inside the measured database ---------------------------------------------------------------------


def _counts(storyteller_id: int | None) -> dict[str, int]:
    """What a write that committed would change: table sizes, and the storyteller's versions."""
    from search.models import SearchEntry
    from stories.models import (
        Consent,
        GuardRefusal,
        ImagePublication,
        Part,
        PartPublication,
        Story,
        StoryImage,
        StoryPublication,
    )
    from translations.models import Translation

    counts = {
        "parts": Part.objects.count(),
        "part history": Part.history.count(),
        "part publications": PartPublication.objects.count(),
        "story publications": StoryPublication.objects.count(),
        "photo publications": ImagePublication.objects.count(),
        "consent records": Consent.objects.count(),
        "consent history": Consent.history.count(),
        "search entries": SearchEntry.objects.count(),
        "translations": Translation.objects.count(),
        "photos": StoryImage.objects.count(),
        "guard refusals": GuardRefusal.objects.count(),
    }
    if storyteller_id is not None:
        parts = Part.objects.filter(story__storyteller_id=storyteller_id)
        counts["storyteller's part versions"] = parts.aggregate(total=Sum("version"))["total"] or 0
        counts["storyteller's published parts"] = parts.filter(status=Part.Status.PUBLISHED).count()
        stories = Story.objects.filter(storyteller_id=storyteller_id)
        counts["storyteller's story versions"] = stories.aggregate(total=Sum("version"))["total"] or 0
    return counts


def _storyteller(storyteller_id: int | None, notes: list[str]) -> dict:
    """A storyteller with exactly 30 parts and the most of them public (or the one with the most parts)."""
    from stories.models import Part, PartPublication
    from stories.publication import languages

    per_teller = Part.objects.order_by().values("story__storyteller_id").annotate(parts=Count("pk"))
    if storyteller_id is not None:
        candidates = {
            row["story__storyteller_id"]: row["parts"]
            for row in per_teller.filter(story__storyteller_id=storyteller_id)
        }
        if not candidates:
            raise CommandError(f"Storyteller {storyteller_id} has no parts.")
    else:
        candidates = {row["story__storyteller_id"]: row["parts"] for row in per_teller.filter(parts=TARGET_PARTS)}
        if not candidates:
            most = per_teller.order_by("-parts", "story__storyteller_id").first()
            if most is None:
                raise CommandError("There are no parts: load the demo (make setup) or generate scale data.")
            candidates = {most["story__storyteller_id"]: most["parts"]}
            notes.append(
                f"no storyteller has {TARGET_PARTS} parts: storyteller {most['story__storyteller_id']}, with the "
                f"most ({most['parts']}), is measured"
            )
    public: dict[int, set[int]] = {pk: set() for pk in candidates}
    for code in languages():
        for teller, part in (
            PartPublication.objects.live(code)
            .filter(storyteller_id__in=candidates)
            .values_list("storyteller_id", "part_id")
        ):
            public[teller].add(part)
    chosen = min(candidates, key=lambda pk: (-len(public[pk]), pk))
    if not public[chosen]:
        notes.append(f"storyteller {chosen} has no public part: the writes change nothing readers see")
    return {"pk": chosen, "parts": candidates[chosen], "public_parts": len(public[chosen])}


def _part_to_publish(storyteller_id: int) -> tuple[int, bool]:
    """A part of the storyteller not yet published (its story is), or a draft written for the run: (id, written)."""
    from stories import services
    from stories.models import Part, Story
    from translations.services import translation_approve_all_existing

    waiting = (
        Part.objects.filter(
            story__storyteller_id=storyteller_id,
            story__status=Story.Status.PUBLISHED,
            status__in=[Part.Status.DRAFT, Part.Status.IN_REVIEW],
        )
        .select_related("story")
        .order_by("story_id", "number")
    )
    for part in waiting:
        if (getattr(part, f"body_{part.story.original_language}") or "").strip():
            return part.pk, False
    # The storyteller's latest part of a published serial: the draft continues it with the same text.
    model = (
        Part.objects.filter(story__storyteller_id=storyteller_id, story__status=Story.Status.PUBLISHED)
        .exclude(story__kind=Story.Kind.SINGLE)
        .select_related("story")
        .order_by("-published_at", "-pk")
        .first()
    )
    if model is None:
        raise CommandError(f"Storyteller {storyteller_id} has no published serial to add a part to.")
    number = Part.objects.filter(story_id=model.story_id).aggregate(last=Max("number"))["last"] + 1
    draft = Part(story=model.story, number=number, status=Part.Status.DRAFT)
    for field in TRANSLATED:
        for code, _name in settings.LANGUAGES:
            setattr(draft, f"{field}_{code}", getattr(model, f"{field}_{code}"))
    services.part_save(part=draft)
    translation_approve_all_existing(obj=draft, by=None)
    return draft.pk, True


def _commit_bumps() -> list:
    """The page cache's bumps this transaction would run once committed (``caching.invalidate``)."""
    from stories import caching

    return [
        callback
        for _savepoints, callback, _robust in connection.run_on_commit
        if isinstance(callback, functools.partial) and callback.func is caching._bump
    ]


class Write:
    """One of the timed writes: what to prepare (untimed) and what to time, in one rolled-back transaction."""

    def __init__(self, name: str, storyteller_id: int, officer) -> None:
        self.name = name
        self.storyteller_id = storyteller_id
        self.officer = officer
        self.part_id: int | None = None
        self.written = False

    def prepare(self):
        from stories.models import Part, Storyteller

        if self.name == "publish":
            self.part_id, self.written = _part_to_publish(self.storyteller_id)
            # As the admin's action has it: from its queryset, with the story.
            return Part.objects.select_related("story").get(pk=self.part_id)
        return Storyteller.objects.get(pk=self.storyteller_id)

    def run(self, target) -> None:
        from stories import services

        if self.name == "publish":
            services.part_publish(part=target, at=timezone.now())
        else:
            services.consent_withdraw(storyteller=target, reason="write_bench: rolled back", recorded_by=self.officer)

    def once(self, *, wrap=None) -> tuple[float, list]:
        """Prepare, time the write, and roll it back; return its seconds and the bumps a commit would run."""
        with transaction.atomic():
            target = self.prepare()
            with wrap() if wrap else contextlib.nullcontext():
                started = time.perf_counter()
                self.run(target)
                seconds = time.perf_counter() - started
            bumps = _commit_bumps()
            transaction.set_rollback(True)
        return seconds, bumps


def _time_write(write: Write, *, runs: int, warmup: int, profile: bool) -> dict:
    samples, bump_samples = [], []
    for index in range(warmup + runs):
        try:
            seconds, bumps = write.once()
        except ValidationError as error:
            raise CommandError(f"{write.name} was refused: {'; '.join(error.messages)}") from error
        if index < warmup:
            continue
        samples.append(seconds)
        # What the commit would add to the page cache: the tags bumped again, against the same cache.
        started = time.perf_counter()
        for bump in bumps:
            bump()
        if bumps:
            bump_samples.append(time.perf_counter() - started)
    result = {**summary_ms(samples), "max_ms": max(samples) * 1000}
    result["after_commit_bump"] = (
        {**summary_ms(bump_samples), "max_ms": max(bump_samples) * 1000} if bump_samples else None
    )
    if write.name == "publish":
        result["part"] = {"pk": write.part_id, "written_for_the_run": write.written}

    # One more run, untimed above, to count its queries and find the slowest.
    timings: list[tuple[float, str]] = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((time.perf_counter() - started, sql))

    write.once(wrap=lambda: connection.execute_wrapper(record))
    result["queries"] = len(timings)
    result["sql_ms"] = sum(seconds for seconds, _sql in timings) * 1000
    result["slowest"] = [
        {"ms": round(seconds * 1000, 2), "sql": sql[:2000]} for seconds, sql in sorted(timings, reverse=True)[:5]
    ]
    if profile:
        profiler = cProfile.Profile()

        @contextlib.contextmanager
        def profiled():
            profiler.enable()
            try:
                yield
            finally:
                profiler.disable()

        write.once(wrap=profiled)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        result["profile"] = text.getvalue()
    return result


def _time_commit(part_id: int, runs: int) -> dict:
    """The COMMIT of a small write: a part's version moved up one and back, each move committed.

    A row set to its own value would not do: SQLite then writes no page, and its COMMIT costs nothing.
    """
    from stories.models import Part

    if connection.in_atomic_block:
        return {"skipped": "inside a transaction (as in a test), where there is no COMMIT to time"}
    table = connection.ops.quote_name(Part._meta.db_table)
    statement = f"UPDATE {table} SET version = version + %s WHERE id = %s"  # noqa: S608 - names from the model
    samples = []
    for index in range(runs + 1):
        for step in (1, -1):
            transaction.set_autocommit(False)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(statement, [step, part_id])
                started = time.perf_counter()
                connection.commit()
                seconds = time.perf_counter() - started
            except BaseException:
                connection.rollback()
                raise
            finally:
                transaction.set_autocommit(True)
            if index:
                samples.append(seconds)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW synchronous_commit")
            durability = f"synchronous_commit={cursor.fetchone()[0]}"
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            durability = f"journal_mode={journal}, synchronous={cursor.fetchone()[0]}"
        else:
            durability = ""
    return {
        **summary_ms(samples),
        "max_ms": max(samples) * 1000,
        "statement": statement.replace("%s", "1", 1).replace("%s", str(part_id)),
        "durability": durability,
    }


def measure(
    *, runs: int = RUNS, warmup: int = WARMUP, storyteller_id: int | None = None, profile: bool = False
) -> dict:
    """Time both writes on this database; fail if it is not left as it was."""
    from django.contrib.auth import get_user_model

    from stories.models import Part

    notes: list[str] = []
    teller = _storyteller(storyteller_id, notes)
    officer = (
        get_user_model()
        .objects.filter(groups__name="Consent officers", is_active=True, is_staff=True)
        .order_by("pk")
        .first()
    )
    before = _counts(teller["pk"])
    cache = caches["default"]
    numbers = {
        "vendor": connection.vendor,
        "parts": before["parts"],
        "storyteller": teller,
        "cache": f"{type(cache).__name__}" + (f" {cache._servers[0]}" if isinstance(cache, RedisCache) else ""),
        "runs": runs,
        "warmup": warmup,
        "load_average": _load_average(),
        "code": measured_code(),
        "notes": notes,
        "operations": {},
    }
    for name in ("publish", "withdraw"):
        numbers["operations"][name] = _time_write(
            Write(name, teller["pk"], officer), runs=runs, warmup=warmup, profile=profile
        )
    some_part = Part.objects.filter(story__storyteller_id=teller["pk"]).order_by("pk").values_list("pk", flat=True)[0]
    numbers["commit"] = _time_commit(some_part, runs)
    after = _counts(teller["pk"])
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    if changed:
        raise CommandError(f"The database changed (before, after): {changed}")
    numbers["unchanged"] = sorted(before)
    return numbers


def report_lines(numbers: dict | None) -> list[str]:
    """The writes section of a database's report."""
    if not numbers:
        return []
    teller = numbers["storyteller"]
    publish = numbers["operations"]["publish"]
    part = publish["part"]
    lines = [
        "",
        f"Writes ({numbers['vendor']}, {numbers.get('database', '')}, {numbers['parts']} parts): storyteller "
        f"{teller['pk']} with {teller['parts']} parts, {teller['public_parts']} public; the part published is "
        f"{part['pk']}" + (", a draft written for each run (untimed)" if part["written_for_the_run"] else "") + ". "
        f"Each write is the service call inside a transaction rolled back at its end, {numbers['runs']} runs after "
        f"{numbers['warmup']} untimed: the COMMIT is not included (timed apart below). Cache: {numbers['cache']}. "
        f"Target: under {TARGET_MS:g} ms. Load average {numbers.get('load_average', '-')}; "
        f"code {numbers.get('code', '-')}.",
        "",
        "| write | p50 ms | p95 ms | max ms | queries | SQL ms | bump after commit, p50 ms | < 200 ms (p95) |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for name, label in (("publish", "publish a part (services.part_publish)"),
                        ("withdraw", "withdraw consent (services.consent_withdraw)")):  # fmt: skip
        row = numbers["operations"][name]
        bump = row["after_commit_bump"]
        lines.append(
            f"| {label} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['max_ms']:.1f} | {row['queries']} | "
            f"{row['sql_ms']:.1f} | {'-' if bump is None else format(bump['p50_ms'], '.2f')} | "
            f"{'PASS' if row['p95_ms'] < TARGET_MS else 'FAIL'} |"
        )
    commit = numbers["commit"]
    if "skipped" in commit:
        lines.append(f"- COMMIT: not timed, {commit['skipped']}.")
    else:
        lines.append(
            f"- COMMIT of a small write (`{commit['statement']}`, then back, each committed; {commit['durability']}): "
            f"p50 {commit['p50_ms']:.2f} ms, p95 {commit['p95_ms']:.2f} ms, max {commit['max_ms']:.2f} ms."
        )
    lines += [f"- {note}" for note in numbers["notes"]]
    lines.append(f"- Unchanged afterwards: {', '.join(numbers['unchanged'])}.")
    for name, row in numbers["operations"].items():
        if row["slowest"]:
            slowest = row["slowest"][0]
            lines.append(f"- {name}: slowest query {slowest['ms']:.1f} ms: `{slowest['sql'][:300]}`")
        if row.get("profile"):
            lines += ["", f"Profile of one {name} (cumulative):", "", "```", row["profile"].strip(), "```"]
    return lines
