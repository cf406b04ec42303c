"""What an operator deploys: the requirements, the documented environment, the release step, key rotation.

The clean-virtualenv tests build a virtualenv from requirements.txt alone (about 20 s with pip's cache warm;
pip must reach the package index, and a failure to install fails the test rather than skipping it).
"""

import gettext
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
import redis
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from filelock import FileLock

from stories.fields import Sealed
from stories.management.commands import load_demo
from stories.management.commands.release import MIGRATION_LOCK, compile_catalogues
from stories.models import StorytellerIdentity
from tests.conftest import make_storyteller

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs" / "deployment.md"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[a-z0-9,_-]+\])?==(?P<version>[^\s;#]+)$")
ONLY_FOR_TESTS = {"pytest", "pytest-django", "pytest-playwright", "playwright", "hypothesis", "ruff"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in requirement_lines(path):
        if line.startswith("-r "):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not pinned with ==: {line}"
        found[canonical(match["name"])] = match["version"]
    return found


def documented_environment(*, uncomment: bool = False) -> dict[str, str]:
    """The example environment file in docs/deployment.md, with generated values for its placeholders.

    Lines starting with "#" are comments, as systemd reads the file; ``uncomment`` takes the optional
    variables written there as "# NAME=value" as well.
    """
    text = DOCS.read_text()
    block = re.search(r"<!-- environment-example -->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert block, "docs/deployment.md has lost its example environment file"
    generated = {
        "<50 random characters>": secrets.token_urlsafe(50),
        "<database password>": secrets.token_urlsafe(16),
        "<Fernet key>": Fernet.generate_key().decode(),
        "<access key id>": "AKIA" + secrets.token_hex(8).upper(),
        "<secret access key>": secrets.token_urlsafe(30),
    }
    environment = {}
    for line in block.group(1).splitlines():
        if line.startswith("#"):
            line = line[1:].strip() if uncomment and re.match(r"#\s*[A-Z][A-Z0-9_]*=", line) else ""
        if not line.strip():
            continue
        name, _, value = line.partition("=")
        for placeholder, replacement in generated.items():
            value = value.replace(placeholder, replacement)
        assert "<" not in value or value.startswith('"'), f"an undocumented placeholder in {line}"
        environment[name] = value.strip('"')
    return environment


def production_environment(**extra: str) -> dict[str, str]:
    return {**documented_environment(), **extra}


def clean_environment(**overrides: str) -> dict[str, str]:
    """The machine's environment without anything Django or this test run set, plus the overrides."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_CERT", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT",
            "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "SSL_CERT_FILE"}  # fmt: skip
    return {**{key: value for key, value in os.environ.items() if key in keep}, **overrides}


def run(command: list, *, timeout: int = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def database_url(settings_dict: dict, name: str | None = None) -> str:
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{settings_dict['USER']}{password}@{host}:{port}/{name or settings_dict['NAME']}"


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: CI's PostgreSQL pass runs it (DATABASE_URL=postgres://...)")


# --- requirements.txt is exactly what production needs ---------------------------------------------


def test_requirements_pin_every_package_and_hold_nothing_only_the_tests_use():
    production = pins(BASE_DIR / "requirements.txt")
    assert {"django", "gunicorn", "polib", "psycopg", "redis", "whitenoise", "sentry-sdk"} <= set(production)
    assert not ONLY_FOR_TESTS & set(production)
    development = BASE_DIR / "requirements-dev.txt"
    assert "-r requirements.txt" in requirement_lines(development)
    assert not set(pins(development)) & set(production), "requirements-dev.txt pins again what production pins"
    assert set(pins(development)) >= ONLY_FOR_TESTS


@pytest.fixture(scope="module")
def clean_virtualenv(tmp_path_factory, worker_id) -> Path:
    """A virtualenv with requirements.txt alone installed; fails, never skips, when it cannot be built.

    Built once for the run: the parallel workers share it, and the first to need it builds it.
    """
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    venv = shared / "clean-venv"
    with FileLock(shared / "clean-venv.lock"):
        if not (venv / "built").exists():
            shutil.rmtree(venv, ignore_errors=True)
            build_virtualenv(venv)
            (venv / "built").touch()
    return venv


def build_virtualenv(venv: Path) -> None:
    created = run([sys.executable, "-m", "venv", venv], env=clean_environment())
    assert created.returncode == 0, created.stderr
    installed = run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-r", BASE_DIR / "requirements.txt"],
        env=clean_environment(),
        timeout=600,
    )
    assert installed.returncode == 0, f"pip could not install requirements.txt:\n{installed.stderr[-3000:]}"


def test_a_clean_virtualenv_holds_exactly_the_pinned_packages(clean_virtualenv):
    frozen = run([clean_virtualenv / "bin" / "python", "-m", "pip", "freeze"], env=clean_environment())
    assert frozen.returncode == 0, frozen.stderr
    installed = {}
    for line in frozen.stdout.splitlines():
        name, _, version = line.partition("==")
        installed[canonical(name)] = version
    assert installed == pins(BASE_DIR / "requirements.txt")
    consistent = run([clean_virtualenv / "bin" / "python", "-m", "pip", "check"], env=clean_environment())
    assert consistent.returncode == 0, consistent.stdout


def test_a_clean_virtualenv_with_the_documented_environment_passes_the_deployment_check(clean_virtualenv, tmp_path):
    environment = clean_environment(**{**documented_environment(), "STATIC_ROOT": str(tmp_path / "static")})
    assert environment["DJANGO_SETTINGS_MODULE"] == "archive.settings.production"
    python = clean_virtualenv / "bin" / "python"
    check = run([python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=environment)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no issues" in check.stdout
    # The steps of the release that need no database: catalogues (polib) and static files (WhiteNoise's manifest).
    release = run([python, "manage.py", "release", "--only", "messages", "--only", "static"], env=environment)
    assert release.returncode == 0, release.stdout + release.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()


def test_a_clean_virtualenv_with_the_documented_object_storage_variables_puts_media_in_the_buckets(clean_virtualenv):
    environment = clean_environment(**documented_environment(uncomment=True))
    assert environment["ARCHIVE_S3_BUCKET"] == "archive-media"
    python = clean_virtualenv / "bin" / "python"
    check = run([python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=environment)
    assert check.returncode == 0, check.stdout + check.stderr
    # Builds both storages as a request would (nothing connects to the store until a file is read or written).
    code = (
        "from django.core.files.storage import storages; "
        "print([(type(storages[alias]).__name__, storages[alias].bucket_name, storages[alias].location, "
        "storages[alias].querystring_auth, storages[alias].default_acl) for alias in ('default', 'private')])"
    )
    shell = run([python, "manage.py", "shell", "-c", code], env=environment)
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert shell.stdout.strip().splitlines()[-1] == str(
        [
            ("PrivateS3Storage", "archive-media", "media", False, None),
            ("PrivateS3Storage", "archive-private", "private", False, None),
        ]
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, **headers: str) -> tuple[int, bytes]:
    """GET a URL of our own server on loopback, redirects not followed."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.build_opener(NoRedirects).open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.django_db
def test_a_clean_virtualenv_releases_and_serves_under_gunicorn_with_production_settings(clean_virtualenv, tmp_path):
    needs_postgresql()
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    environment = clean_environment(
        **production_environment(
            DATABASE_URL=database_url(connection.settings_dict),
            REDIS_URL=redis_url,
            STATIC_ROOT=str(tmp_path / "static"),
            MEDIA_ROOT=str(tmp_path / "media"),
            PRIVATE_MEDIA_ROOT=str(tmp_path / "private-media"),
        )
    )
    python = clean_virtualenv / "bin" / "python"
    release = run([python, "manage.py", "release"], env=environment)
    assert release.returncode == 0, release.stdout + release.stderr

    port = free_port()
    server = subprocess.Popen(  # the command line docs/deployment.md gives, on a port of this test's own
        [clean_virtualenv / "bin" / "gunicorn", "archive.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60", "--graceful-timeout", "30", "--max-requests", "1000",
         "--max-requests-jitter", "100", "--forwarded-allow-ips", "127.0.0.1"],
        cwd=BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = fetch(f"{base}/healthz")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        # Asked by address over plain HTTP, as a load balancer does.
        assert (status, json.loads(body)) == (200, {"database": "ok", "cache": "ok", "storage": "ok"})
        proxied = {"Host": "archive.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
        status, body = fetch(f"{base}/ko/", **proxied)
        assert status == 200
        page = body.decode()
        assert '<html lang="ko">' in page and "증언 기록관" in page  # the compiled Korean catalogue
        stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page).group(1)
        assert fetch(f"{base}{stylesheet}", **proxied)[0] == 200
        assert fetch(f"{base}/en/", Host="archive.example.org")[0] == 301  # plain HTTP goes to HTTPS
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(":1:archive:*"):  # what these servers cached, under no prefix
            client.delete(key)
    assert b"Traceback" not in output, output.decode()[-3000:]


# --- Every variable the settings read is documented ------------------------------------------------


def test_every_environment_variable_the_settings_read_is_documented():
    read = set()
    for name in ("base.py", "production.py"):
        source = (BASE_DIR / "archive" / "settings" / name).read_text()
        read |= set(
            re.findall(r"""(?:os\.environ\.get|os\.environ\[|env_bool|env_list)\(?\s*["']([A-Z_]+)["']""", source)
        )
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ADMINS", "SENTRY_DSN", "SECRET_KEY_FALLBACKS"} <= read
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", DOCS.read_text()))
    assert read - documented == set()
    assert "docs/deployment.md" in (BASE_DIR / "README.md").read_text()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-c", code], env=clean_environment(**env))


def test_admins_come_from_the_environment():
    result = run_python(
        "import archive.settings.production as s; print(s.ADMINS)",
        **production_environment(ADMINS="Operations <ops@example.org>, night@example.org"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('Operations', 'ops@example.org'), ('night@example.org', 'night@example.org')]"
    malformed = run_python("import archive.settings.production", **production_environment(ADMINS="ops"))
    assert malformed.returncode != 0 and "ADMINS must be" in malformed.stderr


def test_sentry_is_off_without_a_dsn_and_sends_no_personal_data_with_one():
    code = (
        "import archive.settings.production, sentry_sdk, archive.sentry as a; c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.options['send_default_pii'], c.options['include_local_variables'], "
        "c.options['max_request_body_size'], c.options['before_send'] is a.before_send)"
    )
    assert run_python(code, **production_environment()).stdout.split()[0] == "False"
    result = run_python(code, **production_environment(SENTRY_DSN="https://key@sentry.example.org/1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False", "never", "True"]


# --- The release step ------------------------------------------------------------------------------


def test_catalogues_compile_without_gettext_and_only_when_they_change(tmp_path):
    messages = tmp_path / "ko" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "django.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Temporarily unavailable"\nmsgstr "잠시 이용할 수 없습니다"\n'
    )
    assert compile_catalogues([tmp_path]) == (1, 0)
    with (messages / "django.mo").open("rb") as compiled:
        assert gettext.GNUTranslations(compiled).gettext("Temporarily unavailable") == "잠시 이용할 수 없습니다"
    written_at = (messages / "django.mo").stat().st_mtime_ns
    assert compile_catalogues([tmp_path]) == (0, 1)
    assert (messages / "django.mo").stat().st_mtime_ns == written_at
    assert sorted(path.name for path in messages.iterdir()) == ["django.mo", "django.po"]  # no temporary file left


def test_the_release_step_is_safe_to_run_again(db, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    locale = tmp_path / "locale" / "ko" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "django.po").write_bytes((BASE_DIR / "locale" / "ko" / "LC_MESSAGES" / "django.po").read_bytes())
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        call_command("release", stdout=out)
        outputs.append(out.getvalue())
    assert "messages: 1 catalogue(s) compiled, 0 unchanged" in outputs[0]
    assert "messages: 0 catalogue(s) compiled, 1 unchanged" in outputs[1]
    assert "No migrations to apply." in outputs[1]
    assert (tmp_path / "static" / "css" / "site.css").exists()
    assert all("Release steps done in" in output for output in outputs)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_release_waits_for_another_servers_migration_and_gives_up_after_its_timeout():
    needs_postgresql()
    config = connection.settings_dict
    other_server = psycopg.connect(database_url(config).replace("postgres://", "postgresql://"), autocommit=True)
    try:
        other_server.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        out = io.StringIO()
        with pytest.raises(CommandError, match="Another server has been migrating"):
            call_command("release", "--only", "migrate", "--lock-timeout", "1", stdout=out)
        assert "waiting for it to finish" in out.getvalue()
        # Once the other server is done, this one migrates (nothing is left to apply).
        other_server.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        call_command("release", "--only", "migrate", "--lock-timeout", "1", stdout=out)
        assert "the database schema is up to date" in out.getvalue()
    finally:
        other_server.close()
    with connection.cursor() as cursor:  # the lock was given back
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
            "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_two_servers_releasing_at_once_both_succeed_on_an_empty_database():
    needs_postgresql()
    config = connection.settings_dict
    scratch = f"{config['NAME']}_release"
    admin = psycopg.connect(database_url(config).replace("postgres://", "postgresql://"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
    admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        environment = clean_environment(**production_environment(DATABASE_URL=database_url(config, scratch)))
        servers = [
            subprocess.Popen(
                [sys.executable, "manage.py", "release", "--only", "migrate", "-v", "0"],
                cwd=BASE_DIR,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for _ in range(2)
        ]
        outputs = [server.communicate(timeout=300)[0] for server in servers]
        assert [server.returncode for server in servers] == [0, 0], outputs
        with psycopg.connect(database_url(config, scratch).replace("postgres://", "postgresql://")) as migrated:
            applied = migrated.execute("SELECT app, name, count(*) FROM django_migrations GROUP BY 1, 2").fetchall()
        assert applied and all(count == 1 for _app, _name, count in applied)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()


# --- Identity keys are rotated without reading a value out ----------------------------------------


def test_reencrypt_identities_moves_every_record_to_the_newest_key_and_the_old_key_can_go(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.IDENTITY_ENCRYPTION_KEYS = [old]
    storyteller = make_storyteller(identity={"legal_name": "Kim Sun-hee", "identifying_terms": "Hyesan\nChongjin"})
    identity = storyteller.identity
    identity.caseworker_notes = "Met in Seoul"
    identity.save()  # a second history row
    empty = make_storyteller()  # an identity record with nothing in it
    settings.IDENTITY_ENCRYPTION_KEYS = [new, old]

    out = io.StringIO()
    call_command("reencrypt_identities", stdout=out)
    report = out.getvalue()
    for secret in ("Kim Sun-hee", "Hyesan", "Met in Seoul"):
        assert secret not in report
    assert "storyteller identities: 3 value(s) re-encrypted, 0 already under the newest key, 0 unreadable" in report
    assert "historical storyteller identities: 5 value(s) re-encrypted" in report  # 2 + 3 history values

    settings.IDENTITY_ENCRYPTION_KEYS = [new]
    identity = StorytellerIdentity.objects.get(pk=identity.pk)
    assert (identity.legal_name, identity.caseworker_notes) == ("Kim Sun-hee", "Met in Seoul")
    assert identity.terms() == ["Hyesan", "Chongjin"]
    assert StorytellerIdentity.objects.get(pk=empty.identity.pk).legal_name == ""
    history_table = identity.history.model._meta.db_table
    for record in identity.history.all():
        assert not isinstance(record.legal_name, Sealed) and record.legal_name == "Kim Sun-hee"

    if connection.vendor == "postgresql":  # the audit trail is append-only again
        with connection.cursor() as cursor:
            cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [f"{history_table}_append_only"])
            assert cursor.fetchone() == ("O",)

    again = io.StringIO()
    call_command("reencrypt_identities", stdout=again)
    assert "In all: 0 value(s) re-encrypted, 8 already under the newest key, 0 unreadable." in again.getvalue()


def test_reencrypt_identities_reports_values_no_key_opens_and_changes_nothing_in_a_dry_run(db, settings):
    lost, kept = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.IDENTITY_ENCRYPTION_KEYS = [lost]
    make_storyteller(identity={"legal_name": "Written under a key since lost"})
    settings.IDENTITY_ENCRYPTION_KEYS = [kept]
    out = io.StringIO()
    with pytest.raises(CommandError, match="could not be decrypted with any configured key"):
        call_command("reencrypt_identities", "--dry-run", stdout=out)
    assert "Written under" not in out.getvalue()
    assert "0 value(s) would be re-encrypted" in out.getvalue()


# --- Demo credentials belong to their database, and tests never touch the developer's ----------------


def test_demo_passwords_are_kept_per_database_and_another_databases_are_left_alone(db, tmp_path, monkeypatch):
    credentials = tmp_path / "credentials.json"
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(credentials))
    other = {"sqlite:/home/dev/archive/db.sqlite3": {"demo-editor": "the-developers-own-password"}}
    credentials.write_text(json.dumps(other))
    out = io.StringIO()
    call_command("load_demo", "--allow-without-debug", stdout=out)
    saved = json.loads(credentials.read_text())
    assert saved["sqlite:/home/dev/archive/db.sqlite3"] == other["sqlite:/home/dev/archive/db.sqlite3"]
    mine = saved[load_demo.database_identity()]
    assert set(mine) == {username for username, _group in load_demo.DEMO_USERS}
    for username, password in mine.items():
        assert get_user_model().objects.get(username=username).check_password(password)
        assert f"password: {password}" in out.getvalue()
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"


def test_an_earlier_single_credentials_file_keeps_only_the_passwords_that_work_here(db, tmp_path, monkeypatch):
    credentials = tmp_path / "credentials.json"
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(credentials))
    User = get_user_model()
    User.objects.create_user("demo-editor", password="still-works-here-1", is_staff=True)
    User.objects.create_user("demo-translator", password="set-by-another-database", is_staff=True)
    credentials.write_text(json.dumps({"demo-editor": "still-works-here-1", "demo-translator": "stale-password-1"}))
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    mine = json.loads(credentials.read_text())[load_demo.database_identity()]
    assert mine["demo-editor"] == "still-works-here-1"
    assert mine["demo-translator"] != "stale-password-1"
    assert User.objects.get(username="demo-translator").check_password(mine["demo-translator"])


def test_load_demo_without_debug_never_writes_the_developers_file(db, monkeypatch):
    monkeypatch.delenv("DEMO_CREDENTIALS_FILE", raising=False)
    developers = BASE_DIR / load_demo.DEFAULT_CREDENTIALS_FILE
    before = developers.read_bytes() if developers.exists() else None
    with pytest.raises(CommandError, match="set DEMO_CREDENTIALS_FILE"):
        call_command("load_demo", "--allow-without-debug", verbosity=0)
    assert (developers.read_bytes() if developers.exists() else None) == before


def test_the_sign_in_address_follows_the_port_make_run_serves_on(db, tmp_path, monkeypatch, settings):
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(tmp_path / "credentials.json"))
    settings.SITE_URL = "http://127.0.0.1:8040"
    out = io.StringIO()
    call_command("load_demo", "--allow-without-debug", stdout=out)
    assert "Sign in to the back office at http://127.0.0.1:8040/admin/ as:" in out.getvalue()

    planned = run(["make", "-n", "-o", ".venv/.installed", "run", "PORT=8040"], env=clean_environment())
    assert planned.returncode == 0, planned.stderr
    assert "manage.py runserver 127.0.0.1:8040" in planned.stdout
    # Every command of `make run` (the release step, load_demo, runserver) sees the site on that port.
    seen = run(
        ["make", "-s", "-o", ".venv/.installed", "run", "PORT=8040", "MANAGE=printenv SITE_URL #"],
        env=clean_environment(),
    )
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.split() == ["http://127.0.0.1:8040"] * 3
