"""Measure the reader pages under gunicorn, next to the Wagtail peer and a static file of the same bytes.

For each database given (the demo by default; ``--scale`` adds databases of 100,000 parts), the command
picks real URLs through the fast path, starts gunicorn with shared/bench/serve.sh's flags under
``archive.settings.bench`` (page cache off, and page cache in Redis), saves each page's bytes as a file
served by the same gunicorn through WhiteNoise, and measures:

- load: requests per second with ``wrk -t1 -c16`` in interleaved rounds, and one-connection latency
  with ``wrk -c1``, for each public page uncached, cached and as the static file, and Wagtail's part page;
- latency: p50/p95 of every reader page, staff pages included, on one connection with the page cache off.

It prints one report with the targets marked (never asserted) and writes it with the raw numbers under
``--output``. Staff pages need a signed-in session: an existing staff user of the role is used, or a
``bench-*`` user is created; both the sessions and those users are deleted at the end.
"""

import argparse
import contextlib
import datetime
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from search.bench import report_lines as search_report_lines
from stories.management.commands import _bench_servers as servers
from stories.management.commands.write_bench import TARGET_MS as WRITE_TARGET_MS
from stories.management.commands.write_bench import report_lines as write_report_lines

PUBLIC_PAGES = [
    "home", "index", "index-deep", "story", "part", "peer-part", "feed", "sitemap", "sitemap-page", "campaign"
]  # fmt: skip
# Staff pages: the group whose member signs in, the URL name and, if it takes any, its arguments.
# The authenticator app a bench run enrols for a consent officer's pages, and deletes afterwards.
BENCH_DEVICE = "bench run"
STAFF_PAGES = {
    "translate": ("Translators", "translations:dashboard"),
    "translate-queue": ("Translators", "translations:queue", {"language": "en"}),
    "translate-review": ("Editors", "translations:review"),
    "admin-parts": ("Editors", "admin:stories_part_changelist"),
    "admin-storytellers": ("Consent officers", "admin:stories_storyteller_changelist"),
}
ALL_PAGES = [*PUBLIC_PAGES, *STAFF_PAGES]

# Targets from the issue, reported against and never asserted.
WAGTAIL_RPS_RATIO = 3.0
WAGTAIL_LATENCY_RATIO = 1 / 3
STATIC_RPS_RATIO = 0.7
SCALE_P95_MS = 30.0
SCALE_P95_RATIO = 1.5

WAGTAIL_PATH = "/testimony-series/part-3/"


def masked(url: str) -> str:
    """The database URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def as_url(value: str) -> str:
    return value if "://" in value else f"sqlite:///{Path(value).resolve()}"


def named(given: str) -> tuple[str, str]:
    """Split ``NAME=DATABASE`` into the name (or "") and the database URL."""
    found = re.fullmatch(r"([a-z0-9-]+)=(.+)", given, flags=re.S)
    return (found.group(1), as_url(found.group(2))) if found else ("", as_url(given))


def vendor_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql" if url.startswith("postgres") else url.split(":")[0]


def answer(status: int) -> str:
    return f"HTTP {status}" if status else "no answer (worker killed)"


def verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "FAIL")


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def outline(sql: str, limit: int = 500) -> str:
    """The query without its top-level column list, which says nothing about why it is slow."""
    depth = 0
    for index, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and sql.startswith(" FROM ", index):
            sql = "SELECT … FROM " + sql[index + 6 :]  # noqa: S608 - shown, never run
            break
    return sql if len(sql) <= limit else sql[:limit] + " …"


def table(head: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A markdown table; the first column left-aligned, the others right-aligned unless told."""
    align = align or "l" + "r" * (len(head) - 1)
    separator = ["---" if a == "l" else "---:" for a in align]
    return ["| " + " | ".join(line) + " |" for line in [head, separator, *rows]]


class Command(BaseCommand):
    help = (
        "Benchmark the reader pages under gunicorn (production settings, page cache off and in Redis) next to "
        "the same bytes as a static file and the Wagtail peer, and report p50/p95 of every reader page on one "
        "connection, at demo size and on --scale databases. Measured and reported, never asserted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo",
            action="append",
            metavar="DATABASE",
            help="a demo-size database (URL, or path of a SQLite file); repeatable; NAME=DATABASE names it. "
            "Each --scale database is compared with every one of its kind: a small generated archive "
            "(generate_scale_data --parts 1000 --storytellers 100) fills the feed, the sitemap page and a "
            "long serial as the scale does, where the hand-written demo cannot. Default: the demo's "
            "db.sqlite3 and, when set, DATABASE_URL",
        )
        parser.add_argument(
            "--scale",
            action="append",
            default=[],
            metavar="DATABASE",
            help="a database of 100,000 parts (generate_scale_data), compared with the demo of the same kind; "
            "repeatable; NAME=DATABASE names it in the report",
        )
        parser.add_argument(
            "--load",
            choices=["all", "part", "none"],
            default="all",
            help="pages measured with wrk: every public page, the part page only, or none (default: all)",
        )
        parser.add_argument("--pages", help="comma-separated page names to measure (default: every page)")
        parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk run (default 3)")
        parser.add_argument("--rounds", type=int, default=2, help="interleaved wrk rounds (default 2)")
        parser.add_argument("--warmup", type=int, default=1, help="whole seconds of wrk warm-up per target")
        parser.add_argument("--probe", type=int, default=2, help="whole seconds of one-connection wrk per target")
        parser.add_argument("--connections", type=int, default=16, help="wrk connections under load (default 16)")
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WORKERS", "2")),
            help="sync workers of every gunicorn started, the Wagtail peer's and the static file's included, as "
            "../shared/bench/serve.sh's WORKERS (default 2, its own; production runs two per core plus one)",
        )
        parser.add_argument("--requests", type=int, default=200, help="one-connection requests per page")
        parser.add_argument("--warmup-requests", type=int, default=20, help="requests per page before timing")
        parser.add_argument(
            "--page-seconds", type=float, default=60.0, help="stop timing a page after this many seconds"
        )
        parser.add_argument(
            "--wagtail",
            choices=["auto", "off"],
            default="auto",
            help="measure the Wagtail peer of ../shared/bench when it can be set up (default auto)",
        )
        parser.add_argument(
            "--redis-url",
            default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
            help="Redis for the cached server; keys get a prefix of this run's own and are deleted after",
        )
        parser.add_argument(
            "--output",
            help="a new or empty directory for the report and raw results (default /tmp/archive-bench/<time>/)",
        )
        # Run by the command itself in a subprocess under archive.settings.bench.
        parser.add_argument("--plan", help=argparse.SUPPRESS)
        parser.add_argument("--cleanup", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["plan"]:
            return self.write_plan(Path(options["plan"]), options)
        if options["cleanup"]:
            return self.clean_up(Path(options["cleanup"]))
        Run(self, options).run()

    def write_plan(self, path: Path, options: dict) -> None:
        if settings.SETTINGS_MODULE != "archive.settings.bench":
            raise CommandError("--plan runs under archive.settings.bench only.")
        options = {**options, "pages": (options["pages"] or ",".join(ALL_PAGES)).split(",")}
        path.write_text(json.dumps(_plan(options), indent=2))

    def clean_up(self, path: Path) -> None:
        if settings.SETTINGS_MODULE != "archive.settings.bench":
            raise CommandError("--cleanup runs under archive.settings.bench only.")
        _clean_up(json.loads(path.read_text()))


# --- Inside the database: run in a subprocess under archive.settings.bench --------------------------------


def _plan(options: dict) -> dict:
    """Pick the URLs through the fast path, sign in the staff roles and count each page's queries."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse
    from django.utils import translation

    from advocacy.models import Campaign
    from stories.models import Part, Story

    wanted = set(options["pages"])
    plan = {"pages": {}, "created_users": [], "sessions": [], "notes": []}
    executor = MigrationExecutor(connection)
    unapplied = [
        str(migration) for migration, _backwards in executor.migration_plan(executor.loader.graph.leaf_nodes())
    ]
    if unapplied:
        plan["notes"].append(f"this database lacks migrations {', '.join(unapplied)}: measured with its schema as is")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND reltuples < 0 "
                "AND relnamespace = 'public'::regnamespace AND relname LIKE 'stories\\_%%'"
            )
            (unanalyzed,) = cursor.fetchone()
            cursor.execute("SHOW autovacuum")
            (autovacuum,) = cursor.fetchone()
        if unanalyzed:
            plan["notes"].append(
                f"{unanalyzed} stories tables were never analyzed (autovacuum is {autovacuum}): the planner "
                "guesses their sizes, as a production server with autovacuum would not"
            )
    with translation.override("en"):
        longest = (
            Part.objects.live("en").values("story_id").annotate(parts=Count("pk")).order_by("-parts", "story_id")
        ).first()
        if longest is None:
            raise CommandError("Nothing is public in English: load the demo (make setup) or generate scale data.")
        # A part in the middle of the longest serial: its table of contents and neighbours are the largest.
        serial = list(Part.objects.live("en").filter(story_id=longest["story_id"]).order_by("number"))
        part = serial[len(serial) // 2]
        story = Story.objects.live("en").get(pk=part.story_id)
        part.story = story
        # The Wagtail peer's page is part 3 of a 3-part serial: the part compared with it has that shape,
        # where "part" (the middle of the longest serial, 30 parts at scale) is the worst case.
        three = (
            Part.objects.live("en").values("story_id").annotate(parts=Count("pk")).filter(parts=3).order_by("story_id")
        ).first()
        peer_part = (
            Part.objects.live("en").filter(story_id=three["story_id"]).order_by("number").last() if three else None
        )
        if peer_part is not None:
            peer_part.story = Story.objects.live("en").get(pk=peer_part.story_id)
        stories = Story.objects.live("en").count()
        # The parts pages the sitemap index lists; the last but one is the deepest that is surely full.
        index = Client(HTTP_HOST="127.0.0.1").get(reverse("sitemap")).content.decode()
        listed = [int(number) for number in re.findall(r"/sitemap-parts-(\d+)\.xml", index)] or [1]
        sitemap_page = listed[-2] if len(listed) > 1 else listed[-1]
        campaign = Campaign.objects.live("en").annotate(links=Count("story_links")).order_by("-links", "pk").first()
        paths = {
            "home": reverse("stories:home"),
            "index": reverse("stories:index"),
            "index-deep": f"{reverse('stories:index')}?page={max(1, math.ceil(stories / settings.STORIES_PAGE_SIZE))}",
            "story": story.get_absolute_url(),
            "part": part.get_absolute_url(),
            "peer-part": (peer_part or part).get_absolute_url(),
            "feed": reverse("stories:feed"),
            "sitemap": reverse("sitemap"),
            "sitemap-page": reverse("sitemap-section", kwargs={"section": "parts", "page": sitemap_page}),
        }
        if campaign is not None:
            paths["campaign"] = campaign.get_absolute_url()
        else:
            plan["notes"].append("campaign: no campaign is live in English; skipped")
        for name, (_group, url_name, *arguments) in STAFF_PAGES.items():
            paths[name] = reverse(url_name, kwargs=arguments[0] if arguments else None)
    plan["counts"] = {
        "parts": Part.objects.count(),
        "live_parts_en": Part.objects.live("en").count(),
        "stories": Story.objects.count(),
        "live_stories_en": stories,
        "serial_parts_en": len(serial),
        "campaigns_live_en": Campaign.objects.live("en").count(),
    }

    for name in [name for name in STAFF_PAGES if name in wanted]:
        group_name = STAFF_PAGES[name][0]
        user, session_key = _retrying(lambda group_name=group_name: _sign_in(group_name))
        if user.username.startswith("bench-"):
            plan["created_users"].append(user.pk)
        plan["sessions"].append(session_key)
        plan["pages"][name] = {
            "path": paths[name],
            "cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}",
            "user": f"{user.username} ({group_name})",
        }
    for name in PUBLIC_PAGES:
        if name in wanted and name in paths:
            plan["pages"][name] = {"path": paths[name], "cookie": ""}

    # Queries per page on a warm process, with the slowest, through the whole stack (page cache off).
    client = Client(HTTP_HOST="127.0.0.1")
    for page in plan["pages"].values():
        client.cookies.clear()
        if page["cookie"]:
            key, value = page["cookie"].split("=", 1)
            client.cookies[key] = value
        client.get(page["path"])
        timings: list[tuple[float, str]] = []

        def record(execute, sql, params, many, context, timings=timings):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append((time.perf_counter() - start, sql))

        with connection.execute_wrapper(record):
            response = client.get(page["path"])
        page["status"] = response.status_code
        page["queries"] = len(timings)
        page["query_ms"] = sum(seconds for seconds, _sql in timings) * 1000
        page["slowest"] = [
            {"ms": round(seconds * 1000, 2), "sql": sql[:20000]} for seconds, sql in sorted(timings, reverse=True)[:3]
        ]
    plan["vendor"] = connection.vendor
    return plan


def _sign_in(group_name: str):
    """A session of a staff user of the group: an existing one, or a ``bench-*`` user made for the run."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from archive.backoffice import needs_second_factor

    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(groups__name=group_name, is_active=True, is_staff=True).order_by("pk").first()
        if user is None:
            # Only the sign-in the page needs: no password, deleted again by --cleanup.
            user = User(username="bench-" + re.sub(r"[^a-z]+", "-", group_name.lower()).strip("-"), is_staff=True)
            user.set_unusable_password()
            user.save()
            user.groups.add(Group.objects.get(name=group_name))
        # As django.contrib.auth.login() would store it, without the signal that writes last_login.
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if needs_second_factor(user):
            # The session has given its second factor, as after the code (archive.backoffice); removed by --cleanup.
            device, _created = TOTPDevice.objects.get_or_create(user=user, name=BENCH_DEVICE, confirmed=True)
            store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.create()
    return user, store.session_key


def _retrying(write, seconds: float = 300.0):
    """Run a write, waiting while another process holds a SQLite database's lock (a long read does)."""
    from django.db import OperationalError

    deadline = time.monotonic() + seconds
    while True:
        try:
            return write()
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def _clean_up(plan: dict) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def delete() -> None:
        Session.objects.filter(session_key__in=plan["sessions"]).delete()
        get_user_model().objects.filter(pk__in=plan["created_users"], username__startswith="bench-").delete()
        TOTPDevice.objects.filter(name=BENCH_DEVICE).delete()

    _retrying(delete)


# --- The driver ---------------------------------------------------------------------------------------


class Run:
    """One bench run: every database in turn, then one report."""

    def __init__(self, command: Command, options: dict) -> None:
        self.command = command
        self.options = options
        self.out = command.stdout
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.dir = Path(options["output"] or f"/tmp/archive-bench/{stamp}")  # noqa: S108
        if self.dir.is_dir() and any(self.dir.iterdir()):
            # The raw results are appended to as the run goes: an earlier run's would be counted in this report.
            raise CommandError(f"{self.dir} is not empty: give --output a new or empty directory.")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pages = (options["pages"] or ",".join(ALL_PAGES)).split(",")
        unknown = set(self.pages) - set(ALL_PAGES)
        if unknown:
            raise CommandError(f"Unknown pages: {', '.join(sorted(unknown))}. Pages: {', '.join(ALL_PAGES)}")
        if options["load"] == "all":
            self.load_pages = [page for page in PUBLIC_PAGES if page in self.pages]
        elif options["load"] == "part":
            self.load_pages = ["part", "peer-part"]
        else:
            self.load_pages = []
        self.gunicorn = Path(sys.executable).parent / "gunicorn"
        self.static_root = self.dir / "collected-static"
        self.token = secrets.token_hex(4)
        self.running: list[servers.Server] = []
        self.wagtail: servers.Server | None = None
        self.results: dict = {"databases": [], "wagtail": None, "notes": []}

    def say(self, message: str) -> None:
        self.out.write(f"[bench {datetime.datetime.now():%H:%M:%S}] {message}")
        self.out.flush()

    def databases(self) -> list[tuple[str, str]]:
        demo = self.options["demo"]
        if not demo:
            demo = [str(settings.BASE_DIR / "db.sqlite3")] if (settings.BASE_DIR / "db.sqlite3").exists() else []
            if os.environ.get("DATABASE_URL"):
                demo.append(os.environ["DATABASE_URL"])
        found = [("demo", value) for value in demo] + [("scale", value) for value in self.options["scale"]]
        if not found:
            raise CommandError("No database to measure: run `make setup`, or pass --demo/--scale.")
        return found

    def env(self, database: str, **extra: str) -> dict[str, str]:
        keys = ",".join(settings.IDENTITY_ENCRYPTION_KEYS or [])
        return {
            "DJANGO_SETTINGS_MODULE": "archive.settings.bench",
            "ARCHIVE_BENCH": "1",
            "BENCH_DATABASE": database,
            "BENCH_STATIC_ROOT": str(self.static_root),
            "IDENTITY_ENCRYPTION_KEYS": keys,
            "PUBLIC_PAGE_CACHE_SECONDS": "0",
            "REDIS_URL": self.redis_url or "",
            "BENCH_CACHE_PREFIX": f"archive-bench-{self.token}",
            # Keep bytecode of the subprocesses out of the checkout's own caches.
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }

    def manage(self, database: str, *arguments: str, timeout: float = 900) -> None:
        environment = {**os.environ, **self.env(database)}
        environment.pop("DATABASE_URL", None)
        try:
            subprocess.run(  # noqa: S603
                [sys.executable, str(settings.BASE_DIR / "manage.py"), *arguments],
                env=environment,
                check=True,
                timeout=timeout,
                cwd=settings.BASE_DIR,
            )
        except subprocess.SubprocessError as error:
            raise CommandError(f"manage.py {arguments[0]} on {masked(database)} failed (above): {error}") from error

    # --- set-up -----------------------------------------------------------------------------------------

    def check_tools(self) -> None:
        if self.load_pages and not shutil.which("wrk"):
            raise CommandError("wrk is missing: `apt-get install -y wrk` (make bench installs it), or --load none.")
        if not self.gunicorn.exists():
            raise CommandError(f"{self.gunicorn} is missing: pip install -r requirements.txt")
        self.redis_url = self.options["redis_url"]
        try:
            import redis

            redis.Redis.from_url(self.redis_url, socket_connect_timeout=1).ping()
        except Exception as error:  # any failure means: no cached target, not no bench
            self.results["notes"].append(f"Redis at {self.redis_url} unreachable ({error}); cached pages skipped.")
            self.say(self.results["notes"][-1])
            self.redis_url = None

    def start_wagtail(self) -> None:
        shared = Path(os.environ.get("BENCH_SHARED_DIR", settings.BASE_DIR.parent / "shared" / "bench"))
        venv = Path(os.environ.get("BENCH_WAGTAIL_VENV", "/tmp/bench-wagtail"))  # noqa: S108
        if self.options["wagtail"] == "off" or not self.load_pages or "part" not in self.load_pages:
            return self.note("Wagtail peer: not measured (--wagtail off, or the part page is not under load).")
        site = venv / "site"
        if not (site / "manage.py").exists() or not (venv / "bin" / "gunicorn").exists():
            setup = shared / "peer_wagtail" / "setup.sh"
            if not setup.exists():
                return self.note(f"Wagtail peer: skipped, {setup} not found (set BENCH_SHARED_DIR).")
            self.say(f"setting up the Wagtail peer with {setup} (about 15 s)")
            try:
                with open(self.dir / "wagtail-setup.log", "w") as log:
                    subprocess.run(  # noqa: S603
                        [str(setup)],
                        check=True,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        timeout=600,
                        env={**os.environ, "BENCH_WAGTAIL_VENV": str(venv)},
                    )
            except (subprocess.SubprocessError, OSError) as error:
                return self.note(f"Wagtail peer: skipped, set-up failed ({error}); see {self.dir}/wagtail-setup.log")
        environment = {"DJANGO_SETTINGS_MODULE": "benchsite.settings.bench", "PYTHONDONTWRITEBYTECODE": "1"}
        server = servers.start_gunicorn(
            "wagtail",
            "benchsite.wsgi:application",
            gunicorn=str(venv / "bin" / "gunicorn"),
            chdir=site,
            env=environment,
            log_dir=self.dir,
            workers=self.options["workers"],
        )
        self.running.append(server)
        try:
            servers.wait_ready(server, WAGTAIL_PATH)
        except RuntimeError as error:
            return self.note(f"Wagtail peer: skipped, server did not start ({error})")
        status, body, _seconds = servers.fetch(server.port, WAGTAIL_PATH)
        if status != 200:
            return self.note(f"Wagtail peer: skipped, {WAGTAIL_PATH} answered {status}")
        versions = (venv / "versions.txt").read_text() if (venv / "versions.txt").exists() else ""
        self.wagtail = server
        self.results["wagtail"] = {
            "path": WAGTAIL_PATH,
            "bytes": len(body),
            "versions": " ".join(re.findall(r"(?im)^(?:wagtail|django|gunicorn)==\S+", versions)),
        }
        self.say(f"Wagtail peer on :{server.port}, part 3 is {len(body)} bytes")

    def note(self, message: str) -> None:
        self.results["notes"].append(message)
        self.say(message)

    # --- the run ----------------------------------------------------------------------------------------

    def run(self) -> None:
        started = time.monotonic()
        self.check_tools()
        databases = self.databases()
        self.results["environment"] = {
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "workers": self.options["workers"],
            "load_before": Path("/proc/loadavg").read_text().split()[:3],
            "gunicorn": subprocess.run(  # noqa: S603
                [str(self.gunicorn), "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "wrk": f"-t1 -c{self.options['connections']} -d{self.options['duration']:g}s, "
            f"{self.options['rounds']} interleaved rounds, warm-up {self.options['warmup']:g}s, "
            f"one-connection probe {self.options['probe']:g}s",
            "conn_max_age": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
            "commit": self.commit(),
            "redis": self.redis_url,
        }
        self.say(f"output in {self.dir}; load average {' '.join(self.results['environment']['load_before'])}")
        try:
            self.say("collecting static files for the production storage")
            self.manage(named(databases[0][1])[1], "collectstatic", "--noinput", "-v0")
            self.start_wagtail()
            for size, database in databases:
                try:
                    self.results["databases"].append(self.measure(size, database))
                except (
                    CommandError,
                    RuntimeError,
                    OSError,
                    subprocess.SubprocessError,
                    http.client.HTTPException,
                ) as error:
                    # One database that cannot be measured leaves the others' numbers standing.
                    self.note(f"{masked(named(database)[1])}: not measured: {error}")
                self.write()
        finally:
            servers.stop(self.running)
        self.results["environment"]["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
        self.results["environment"]["minutes"] = round((time.monotonic() - started) / 60, 1)
        self.write()
        self.out.write("\n".join(self.report()))
        self.say(f"report: {self.dir / 'summary.md'}, raw numbers: {self.dir / 'results.json'}")

    def commit(self) -> str:
        """The checkout measured: its commit, and whether files differ from it."""
        return servers.measured_code()

    def write(self) -> None:
        (self.dir / "results.json").write_text(json.dumps(self.results, indent=2))
        (self.dir / "summary.md").write_text("\n".join(self.report()) + "\n")

    def measure(self, size: str, given: str) -> dict:
        name, database = named(given)
        vendor = vendor_of(database)
        label = name or f"{size}-{vendor}"
        taken = {result["label"] for result in self.results["databases"]}
        base, number = label, 1
        while label in taken:
            number += 1
            label = f"{base}-{number}"
        work = self.dir / label
        work.mkdir(exist_ok=True)
        result = {
            "label": label,
            "size": size,
            "vendor": vendor,
            "database": masked(database),
            "load_average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        }
        self.say(f"{label}: planning URLs and sessions on {masked(database)}")
        plan_file = work / "plan.json"
        self.manage(database, "bench", "--plan", str(plan_file), "--pages", ",".join(self.pages))
        plan = json.loads(plan_file.read_text())
        try:
            result.update(counts=plan["counts"], pages=plan["pages"], notes=plan["notes"])
            for note in plan["notes"]:
                self.say(f"{label}: {note}")
            for name, page in plan["pages"].items():
                self.say(
                    f"{label}: {name:18} {page['path']}  HTTP {page['status']}, {page['queries']} queries, "
                    f"{page['query_ms']:.1f} ms in SQL"
                )
            uncached = servers.start_gunicorn(
                f"{label}.uncached", "archive.wsgi:application", gunicorn=str(self.gunicorn),
                chdir=settings.BASE_DIR, env=self.env(database), log_dir=work, workers=self.options["workers"],
            )  # fmt: skip
            self.running.append(uncached)
            cached = None
            if self.redis_url:
                cached = servers.start_gunicorn(
                    f"{label}.cached", "archive.wsgi:application", gunicorn=str(self.gunicorn),
                    chdir=settings.BASE_DIR, env=self.env(database, PUBLIC_PAGE_CACHE_SECONDS="300"), log_dir=work,
                    workers=self.options["workers"],
                )  # fmt: skip
                self.running.append(cached)
            servers.wait_ready(uncached, "/robots.txt")
            if cached:
                servers.wait_ready(cached, "/robots.txt")
            ok = {}
            for name, page in plan["pages"].items():
                status, body, seconds = servers.try_fetch(
                    uncached.port, page["path"], cookie=page["cookie"], timeout=120
                )
                page["http_status"], page["bytes"], page["first_seconds"] = status, len(body), seconds
                if status != 200:
                    self.note(
                        f"{label}: {name} {page['path']}: {answer(status)} after {seconds:.1f} s under gunicorn "
                        "(its worker timeout is 30 s); not timed"
                    )
                    continue
                ok[name] = page
                if name in self.load_pages:
                    target = work / "static-pages" / name / "index.html"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(body)
            static = None
            if any(name in ok for name in self.load_pages):
                static = servers.start_gunicorn(
                    f"{label}.static", "archive.static_bench:application", gunicorn=str(self.gunicorn),
                    chdir=settings.BASE_DIR, env={"BENCH_STATIC_PAGES": str(work / "static-pages")}, log_dir=work,
                    workers=self.options["workers"],
                )  # fmt: skip
                self.running.append(static)
                servers.wait_ready(static, f"/{next(n for n in self.load_pages if n in ok)}/")
            result["load"] = self.load(label, work, ok, uncached, cached, static)
            result["latency"] = self.latency(label, ok, uncached)
            try:  # Search timings, a section of their own (search.bench), taken inside the database's process.
                self.manage(database, "search_bench", "--output", str(work / "search.json"))
                result["search"] = json.loads((work / "search.json").read_text())
            except CommandError as error:
                self.note(f"{label}: search not measured: {error}")
            try:  # The writes (write_bench): each run rolled back, so the database is left as it was.
                self.manage(database, "write_bench", "--output", str(work / "writes.json"))
                result["writes"] = json.loads((work / "writes.json").read_text())
            except CommandError as error:
                self.note(f"{label}: writes not measured: {error}")
        finally:
            servers.stop([server for server in self.running if server is not self.wagtail])
            self.running = [self.wagtail] if self.wagtail else []
            self.forget_cached_pages()
            with contextlib.suppress(CommandError):
                self.manage(database, "bench", "--cleanup", str(plan_file), timeout=300)
        return result

    def forget_cached_pages(self) -> None:
        if not self.redis_url:
            return
        import redis

        client = redis.Redis.from_url(self.redis_url)
        for key in client.scan_iter(match=f"archive-bench-{self.token}:*", count=1000):
            client.delete(key)

    def load(self, label: str, work: Path, pages: dict, uncached, cached, static) -> dict:
        """Requests per second under wrk, interleaved rounds, then one connection per target."""
        targets: list[tuple[str, servers.Server, str]] = []
        for name in self.load_pages:
            if name not in pages:
                continue
            targets.append((name, uncached, pages[name]["path"]))
            if cached:
                targets.append((f"{name}:cached", cached, pages[name]["path"]))
            targets.append((f"{name}:static", static, f"/{name}/"))
        if self.wagtail:
            targets.append(("wagtail", self.wagtail, WAGTAIL_PATH))
        if not targets:
            return {}
        wrk = servers.Wrk(work)
        options = self.options
        for name, server, path in targets:
            status, body, _seconds = servers.fetch(server.port, path, timeout=120)
            if status != 200:
                raise CommandError(f"{label}: {name} answered HTTP {status} at {server.url(path)}")
        self.say(f"{label}: wrk warm-up of {len(targets)} targets")
        for name, server, path in targets:
            wrk.run(
                name, server.url(path), connections=options["connections"], seconds=options["warmup"], out="w.jsonl"
            )
        if cached:
            import redis

            stored = sum(
                1
                for _ in redis.Redis.from_url(self.redis_url).scan_iter(
                    match=f"archive-bench-{self.token}:*archive:page*"
                )
            )
            if not stored:
                self.note(f"{label}: the cached server stored no page in Redis; its numbers are uncached")
        for round_number in range(1, options["rounds"] + 1):
            for index in range(len(targets)):
                name, server, path = targets[(index + round_number - 1) % len(targets)]
                run = wrk.run(
                    name, server.url(path), connections=options["connections"], seconds=options["duration"],
                    out="results.jsonl", round_number=round_number,
                )  # fmt: skip
                self.say(f"{label}: round {round_number} {name:22} {run['rps']:8.0f} req/s")
        for name, server, path in targets:
            wrk.run(name, server.url(path), connections=1, seconds=options["probe"], out="unloaded.jsonl")
        runs = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
        probes = {run["name"]: run for run in map(json.loads, (work / "unloaded.jsonl").read_text().splitlines())}
        summary = {}
        for name, _server, path in targets:
            mine = [run for run in runs if run["name"] == name]
            summary[name] = {
                "path": path,
                "rps": statistics.median(run["rps"] for run in mine),
                "rps_min": min(run["rps"] for run in mine),
                "rps_max": max(run["rps"] for run in mine),
                "p50_ms": statistics.median(run["p50_us"] for run in mine) / 1000,
                "p99_ms": statistics.median(run["p99_us"] for run in mine) / 1000,
                "errors": sum(run[key] for run in mine for key in run if key.startswith("err_")),
                "c1_p50_ms": probes[name]["p50_us"] / 1000,
                "c1_p99_ms": probes[name]["p99_us"] / 1000,
            }
        return summary

    def latency(self, label: str, pages: dict, server) -> dict:
        """p50/p95 of each page on one connection, page cache off, pages interleaved in batches of ten."""
        options = self.options
        samples: dict[str, list[float]] = {name: [] for name in pages}
        spent = dict.fromkeys(pages, 0.0)
        errors = dict.fromkeys(pages, 0)
        self.say(f"{label}: one-connection latency of {len(pages)} pages, {options['requests']} requests each")
        for page in pages.values():
            warm = 0.0
            for _ in range(options["warmup_requests"]):
                warm += servers.try_fetch(server.port, page["path"], cookie=page["cookie"], timeout=120)[2]
                if warm > options["page_seconds"] / 4:
                    break
        batch = 10
        while True:
            active = [
                name
                for name in pages
                if len(samples[name]) < options["requests"] and spent[name] < options["page_seconds"]
            ]
            if not active:
                break
            for name in active:
                for _ in range(min(batch, options["requests"] - len(samples[name]))):
                    status, _body, seconds = servers.try_fetch(
                        server.port, pages[name]["path"], cookie=pages[name]["cookie"], timeout=120
                    )
                    spent[name] += seconds
                    if status != 200:
                        errors[name] += 1
                        continue
                    samples[name].append(seconds)
        summary = {}
        for name in pages:
            if samples[name]:
                summary[name] = {**servers.summary_ms(samples[name]), "errors": errors[name]}
                self.say(
                    f"{label}: {name:18} p50 {summary[name]['p50_ms']:7.1f} ms  p95 {summary[name]['p95_ms']:7.1f} ms"
                    f"  (n={summary[name]['n']})"
                )
        return summary

    # --- the report -------------------------------------------------------------------------------------

    def demos_for(self, result: dict) -> list[dict]:
        """The demo-size databases of the same kind, in the order given (the first is the report's own)."""
        return [
            other
            for other in self.results["databases"]
            if other["size"] == "demo" and other["vendor"] == result["vendor"] and other.get("latency")
        ]

    def demo_for(self, result: dict) -> dict | None:
        return next(iter(self.demos_for(result)), None)

    def targets(self) -> list[list[str]]:
        rows = []
        for result in self.results["databases"]:
            load = result.get("load") or {}
            label = result["label"]
            wagtail = load.get("wagtail")
            serial = result.get("counts", {}).get("serial_parts_en")
            shapes = (("peer-part", "a 3-part serial, as the peer's"), ("part", f"the longest serial, {serial} parts"))
            for name, shape in shapes:
                part = load.get(name)
                if part and wagtail:
                    ratio = part["rps"] / wagtail["rps"]
                    rows.append(
                        [label, f"uncached part req/s vs Wagtail's ({shape})",
                         f"{part['rps']:.0f} vs {wagtail['rps']:.0f}", f"{ratio:.2f}x", f">= {WAGTAIL_RPS_RATIO:g}x",
                         verdict(ratio >= WAGTAIL_RPS_RATIO)]
                    )  # fmt: skip
                    ratio = part["c1_p50_ms"] / wagtail["c1_p50_ms"]
                    rows.append(
                        [label, f"uncached part c1 p50 vs Wagtail's ({shape})", f"{part['c1_p50_ms']:.2f} vs "
                         f"{wagtail['c1_p50_ms']:.2f} ms", f"{ratio:.2f}x", "<= 0.33x",
                         verdict(ratio <= WAGTAIL_LATENCY_RATIO)]
                    )  # fmt: skip
                cached, static = load.get(f"{name}:cached"), load.get(f"{name}:static")
                if cached and static:
                    ratio = cached["rps"] / static["rps"]
                    rows.append(
                        [label, f"cached part req/s vs static file ({shape})",
                         f"{cached['rps']:.0f} vs {static['rps']:.0f}", f"{ratio:.2f}x", f">= {STATIC_RPS_RATIO:g}x",
                         verdict(ratio >= STATIC_RPS_RATIO)]
                    )  # fmt: skip
            if result["size"] != "scale":
                continue
            for name, write in ((result.get("writes") or {}).get("operations") or {}).items():
                rows.append(
                    [label, f"{name} p95 (service in a rolled-back transaction; COMMIT apart)",
                     f"{write['p95_ms']:.1f} ms", "", f"< {WRITE_TARGET_MS:g} ms",
                     verdict(write["p95_ms"] < WRITE_TARGET_MS)]
                )  # fmt: skip
            demos = self.demos_for(result)
            for name, page in result.get("pages", {}).items():
                if page.get("http_status", 200) != 200:
                    rows.append(
                        [label, f"{name} p95, page cache off", f"{answer(page['http_status'])} after "
                         f"{page['first_seconds']:.1f} s", "", f"<= {SCALE_P95_MS:g} ms", "FAIL"]
                    )  # fmt: skip
            for name, numbers in (result.get("latency") or {}).items():
                p95 = numbers["p95_ms"]
                rows.append(
                    [label, f"{name} p95, page cache off", f"{p95:.1f} ms", "", f"<= {SCALE_P95_MS:g} ms",
                     verdict(p95 <= SCALE_P95_MS)]
                )  # fmt: skip
                # Against every demo-size database of the kind: the hand-written demo, whose feed, sitemap
                # page and longest serial are shorter than at scale, and any small generated archive
                # (generate_scale_data --parts 1000) whose pages are as full as at scale. The bytes say which.
                compared = False
                for demo in demos:
                    before = demo.get("latency", {}).get(name)
                    if not before:
                        continue
                    compared = True
                    ratio = p95 / before["p95_ms"]
                    sizes = f"{result['pages'][name].get('bytes')} vs {demo['pages'][name].get('bytes')} bytes"
                    rows.append(
                        [label, f"{name} p95 vs {demo['label']}", f"{p95:.1f} vs {before['p95_ms']:.1f} ms "
                         f"({sizes})", f"{ratio:.2f}x", f"<= {SCALE_P95_RATIO:g}x", verdict(ratio <= SCALE_P95_RATIO)]
                    )  # fmt: skip
                if not compared:
                    rows.append([label, f"{name} p95 vs demo", "no demo database of this kind", "", "", "n/a"])
        return rows

    def report(self) -> list[str]:
        environment = self.results.get("environment", {})
        lines = [
            "# make bench: reader pages under gunicorn",
            "",
            f"Commit {environment.get('commit')}; started {environment.get('started')}; "
            f"Python {environment.get('python')}, "
            f"{environment.get('gunicorn')}, {environment.get('workers', 2)} sync workers on 127.0.0.1, "
            f"{environment.get('cpus')} CPUs shared "
            f"with wrk; load average before {' '.join(environment.get('load_before', []))}, after "
            f"{' '.join(environment.get('load_after', []) or ['-'])}; {environment.get('minutes', '-')} min.",
            f"wrk {environment.get('wrk')}. Settings archive.settings.bench (DEBUG off, WhiteNoise, production "
            f"middleware), CONN_MAX_AGE={environment.get('conn_max_age')}; cached = page cache in Redis "
            f"({environment.get('redis')}); static = the same bytes as a file through WhiteNoise, same gunicorn.",
        ]
        if self.results.get("wagtail"):
            wagtail = self.results["wagtail"]
            lines.append(f"Wagtail peer: {wagtail['versions']}, {wagtail['path']}, {wagtail['bytes']} bytes.")
        lines += [f"- {note}" for note in self.results["notes"]]
        lines += ["", "## Targets (reported, not asserted)", ""]
        lines += table(["database", "target", "measured", "ratio", "goal", "result"], self.targets(), "llrrll")
        for result in self.results["databases"]:
            counts = result.get("counts", {})
            lines += [
                "",
                f"## {result['label']}: {result['database']}",
                "",
                f"{counts.get('parts')} parts ({counts.get('live_parts_en')} live in English), {counts.get('stories')} "
                f"stories ({counts.get('live_stories_en')} live), the part page is in a serial of "
                f"{counts.get('serial_parts_en')} parts; {counts.get('campaigns_live_en')} live campaigns. "
                f"Load average when it started: {result.get('load_average')}.",
            ]
            lines += [f"- {note}" for note in result.get("notes", [])]
            load = result.get("load") or {}
            if load:
                lines += ["", "Load: req/s median (min-max) of the rounds; c1 = one connection, p50 ms.", ""]
                rows = []
                for name in [*self.load_pages, "wagtail"]:
                    if name not in load:
                        continue
                    page = result["pages"].get(name, {})
                    size = page.get("bytes", (self.results.get("wagtail") or {}).get("bytes"))
                    row = [name, str(size)]
                    for key in (name, f"{name}:cached", f"{name}:static"):
                        numbers = load.get(key)
                        row += (
                            [f"{numbers['rps']:.0f} ({numbers['rps_min']:.0f}-{numbers['rps_max']:.0f})",
                             fmt(numbers["c1_p50_ms"], 2)]
                            if numbers else ["-", "-"]
                        )  # fmt: skip
                    cached, static = load.get(f"{name}:cached"), load.get(f"{name}:static")
                    row.append(fmt(cached["rps"] / static["rps"], 2) if cached and static else "-")
                    errors = sum(
                        load[key]["errors"] for key in (name, f"{name}:cached", f"{name}:static") if key in load
                    )
                    row.append(str(errors))
                    rows.append(row)
                lines += table(
                    ["page", "bytes", "uncached req/s", "c1", "cached req/s", "c1", "static req/s", "c1",
                     "cached/static", "errors"],
                    rows,
                )  # fmt: skip
            latency = result.get("latency") or {}
            if latency:
                demo = self.demo_for(result) if result["size"] == "scale" else None
                lines += [
                    "",
                    "One connection, page cache off (ms). Queries and SQL ms: one warm request in a separate process "
                    "(time inside cursor.execute(); SQLite reads rows after it, so there it counts less than all).",
                    "",
                ]
                rows = []
                for name, numbers in latency.items():
                    page = result["pages"][name]
                    row = [name, page["path"], str(page.get("bytes")), str(page["queries"]), fmt(page["query_ms"])]
                    row += [fmt(numbers["p50_ms"]), fmt(numbers["p95_ms"]), fmt(numbers["p99_ms"]), str(numbers["n"])]
                    if result["size"] == "scale":
                        before = (demo or {}).get("latency", {}).get(name)
                        row.append(verdict(numbers["p95_ms"] <= SCALE_P95_MS))
                        row.append(
                            f"{numbers['p95_ms'] / before['p95_ms']:.2f}x "
                            f"{verdict(numbers['p95_ms'] / before['p95_ms'] <= SCALE_P95_RATIO)}"
                            if before
                            else "n/a"
                        )
                    rows.append(row)
                for name, page in result["pages"].items():
                    if page.get("http_status", 200) != 200:
                        failed = f"{answer(page['http_status'])} after {page['first_seconds']:.1f} s"
                        row = [name, page["path"], "-", str(page["queries"]), fmt(page["query_ms"]), failed, "-", "-"]
                        rows.append([*row, "0", *(["FAIL", "FAIL"] if result["size"] == "scale" else [])])
                head = ["page", "path", "bytes", "queries", "SQL ms", "p50", "p95", "p99", "n"]
                if result["size"] == "scale":
                    head += [f"p95 <= {SCALE_P95_MS:g}", f"vs demo <= {SCALE_P95_RATIO:g}x"]
                lines += table(head, rows, "ll" + "r" * (len(head) - 2))
                slow = [
                    (name, page["slowest"][0])
                    for name, page in result["pages"].items()
                    if page["slowest"] and page["slowest"][0]["ms"] >= 5
                ]
                if slow:
                    lines += ["", "Slowest query of each page that spent 5 ms or more in one:", ""]
                    for name, query in slow:
                        lines.append(f"- {name}: {query['ms']:.1f} ms: `{outline(query['sql'])}`")
            lines += search_report_lines(result.get("search"))
            lines += write_report_lines(result.get("writes"))
        return lines
