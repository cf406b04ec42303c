"""Issue 9's proof: production from a clean virtualenv, on two app servers, with every engine it needs.

Two gunicorn servers with the production settings, run from the clean virtualenv built from requirements.txt
alone (tests/test_deployment.py), share a scratch PostgreSQL database, a Redis server of this test's own, an
S3-compatible server (moto's, under the IAM policy docs/deployment.md gives) and a task worker
(`manage.py db_worker`). An editor uploads a photo through server 1, the worker renders it, server 2 serves
it; a consent officer withdraws the storyteller's consent through server 1 (second factor included), and
every page and photo of theirs answers 404 on both servers at the next request; then Redis goes away and
the public pages still answer 200. Along the way it measures the numbers docs/deployment.md gives.
"""

import contextlib
import datetime
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
from http.cookies import SimpleCookie
from pathlib import Path

import boto3
import psycopg
import pytest
import redis
import requests
from django.db import connection
from django_otp.oath import TOTP
from django_tasks_db.models import DBTaskResult
from PIL import Image, ImageFilter

from tests.stories.test_back_office import _FormFields
from tests.stories.test_images import RENDITION_URL
from tests.test_deployment import (  # noqa: F401 (clean_virtualenv is a fixture)
    BASE_DIR,
    clean_environment,
    clean_virtualenv,
    database_url,
    documented_environment,
    free_port,
    needs_postgresql,
    run,
)

SITE = "https://archive.example.org"
# What the reverse proxy adds to every request (docs/deployment.md: ARCHIVE_TRUSTED_PROXY_COUNT=1).
PROXIED = {"Host": "archive.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
PHOTO_SIZE = (4000, 3000)  # 12 megapixels, a phone's photo
REGION = "eu-central-1"
TIMEOUT = 90  # seconds any one thing may take before the test says which and stops

SEED = """
import datetime, json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from stories import services
from stories.models import Consent, Part, Story, Storyteller, StorytellerIdentity
from translations.services import translation_approve_all_existing

given = dict(json.loads('''{given}'''))
def approved(obj):
    translation_approve_all_existing(obj=obj, by=None)
    return obj

def published(slug, covers_photos):
    teller = Storyteller.objects.create(
        pseudonym_en=slug.title(), pseudonym_ko="이야기꾼", bio_en="An invented bio.", bio_ko="지어낸 소개."
    )
    StorytellerIdentity.objects.create(storyteller=teller, legal_name="Invented Name")
    services.consent_record(
        storyteller=teller, recorded_by=None, decision=Consent.Decision.GIVEN,
        review_by=timezone.localdate() + datetime.timedelta(days=365), covers_web=True, covers_english=True,
        covers_korean=True, covers_photos=covers_photos, covers_advocacy=True,
        recorded_at=timezone.now() - datetime.timedelta(days=30),
    )
    approved(teller)
    story = approved(Story.objects.create(
        storyteller=teller, slug=slug, title_en=f"Story {{slug}}", title_ko="이야기", summary_en="An invented summary.",
        summary_ko="지어낸 요약.", status=Story.Status.PUBLISHED, original_language="en",
    ))
    part = approved(Part.objects.create(
        story=story, number=1, title_en="The crossing", title_ko="건너기", summary_en="What happens.",
        summary_ko="내용.", body_en="An invented body.", body_ko="지어낸 본문.", status=Part.Status.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(days=1),
    ))
    return teller, part

teller, part = published("withdrawing-teller", True)
published("staying-teller", False)
User = get_user_model()
editor = User.objects.create_user("proof-editor", password=given["editor"], is_staff=True)
editor.groups.add(Group.objects.get(name="Editors"))
officer = User.objects.create_user("proof-officer", password=given["officer"], is_staff=True)
officer.groups.add(Group.objects.get(name="Consent officers"))
TOTPDevice.objects.create(user=officer, name="Authenticator app", key=given["totp_key"], confirmed=True)
print(json.dumps({{"storyteller": teller.pk, "part": part.pk}}))
"""


class Visitor:
    """A browser behind the reverse proxy, on one app server: its own cookies (Secure ones too), no redirects."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**PROXIED, **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if method == "POST":
            headers.update(Origin=SITE, Referer=f"{SITE}{path}")
        response = requests.request(
            method, f"{self.base}{path}", headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for header in response.raw.headers.getlist("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def form(self, path: str, form_id: str) -> list[tuple[str, str]]:
        """What a browser would submit for the form, as the page gives it."""
        response = self.get(path)
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
        parser = _FormFields(form_id=form_id)
        parser.feed(response.text)
        assert parser.found, f"no #{form_id} on {path}"
        return parser.pairs

    def sign_in(self, username: str, password: str) -> requests.Response:
        fields = dict(self.form("/admin/login/?next=/admin/", "login-form"))
        response = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            data={**fields, "username": username, "password": password, "next": "/admin/"},
        )
        assert response.status_code == 302, f"{username} could not sign in: {response.status_code}"
        return response


def photo_jpeg() -> bytes:
    """A 12-megapixel JPEG with the smooth areas and fine detail of a photo, at a phone's file size."""
    width, height = PHOTO_SIZE
    picture = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(PHOTO_SIZE),
            Image.radial_gradient("L").resize(PHOTO_SIZE),
            Image.effect_noise(PHOTO_SIZE, 40).filter(ImageFilter.GaussianBlur(1)),
        ],
    )
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def wait_for(what: str, check, *, processes: dict, timeout: float = TIMEOUT, logs: Path):
    """Call ``check`` until it returns something true; fail saying what never happened, with the logs."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, requests.ConnectionError, redis.ConnectionError):
            found = check()
            if found:
                return found
        dead = [name for name, process in processes.items() if process.poll() is not None]
        if dead or time.monotonic() > deadline:
            reason = f"{', '.join(dead)} exited" if dead else f"not within {timeout} s"
            pytest.fail(f"{what}: {reason}\n{log_tails(logs)}", pytrace=False)
        time.sleep(0.2)


def log_tails(logs: Path) -> str:
    return "\n".join(f"--- {path.name}\n{path.read_text()[-2500:]}" for path in sorted(logs.glob("*.log")))


def resident_kib(pid: int) -> dict[str, int]:
    """A process's resident memory now and at its peak, from /proc (kB as the kernel counts them)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE).group(1)) for key in ("VmRSS", "VmHWM")}


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def start_s3_server(port: int, log) -> subprocess.Popen:
    """moto's S3 server in a process of its own (its state is its own), enforcing credentials after the
    nine set-up requests of ``set_up_buckets``."""
    return subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
        env=clean_environment(INITIAL_NO_AUTH_ACTION_COUNT="9"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def set_up_buckets(endpoint: str, environment: dict[str, str]) -> dict[str, str]:
    """As docs/deployment.md says: the two buckets, blocked and versioned; the app's user under its policy."""
    from tests.stories.test_object_storage import create_documented_bucket, documented_policy

    setup = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup", "region_name": REGION}
    iam = boto3.client("iam", endpoint_url=endpoint, **setup)
    iam.create_user(UserName="archive-app")
    policy = json.dumps(documented_policy())
    iam.put_user_policy(UserName="archive-app", PolicyName="archive-app", PolicyDocument=policy)
    key = iam.create_access_key(UserName="archive-app")["AccessKey"]
    s3 = boto3.client("s3", endpoint_url=endpoint, **setup)
    for bucket in (environment["ARCHIVE_S3_BUCKET"], environment["ARCHIVE_S3_PRIVATE_BUCKET"]):
        create_documented_bucket(s3, bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def stop(processes: dict[str, subprocess.Popen]) -> dict[str, float]:
    """Stop every process as systemd would (SIGTERM, then SIGKILL after 30 s); how long each took."""
    asked = time.monotonic()
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    took = {}
    for name, process in processes.items():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        took[name] = time.monotonic() - asked
    return took


@pytest.fixture(scope="module", autouse=True)
def _postgresql_only():
    """Skip on SQLite before the clean virtualenv is built for nothing (CI's PostgreSQL pass runs it)."""
    needs_postgresql()


@pytest.mark.django_db
def test_two_app_servers_a_worker_and_object_storage_keep_every_promise_and_survive_redis_going(
    clean_virtualenv,  # noqa: F811
    tmp_path,
):
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        message = "needs redis-server (Debian's redis-server) to start a Redis of its own that it can stop"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs it: {message}", pytrace=False)
        pytest.skip(message)
    assert MOTO_SERVER.exists(), f"{MOTO_SERVER} is missing: requirements-dev.txt installs moto[server]"

    config = connection.settings_dict
    scratch = f"{config['NAME']}_proof"
    admin = psycopg.connect(database_url(config).replace("postgres://", "postgresql://"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{scratch}"')
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: dict[str, subprocess.Popen] = {}
    python = clean_virtualenv / "bin" / "python"
    files = contextlib.ExitStack()

    def log(name: str) -> io.TextIOWrapper:
        return files.enter_context((logs / f"{name}.log").open("w"))

    measured: dict[str, object] = {"phases": []}
    begun = time.monotonic()

    def phase(name: str) -> None:
        measured["phases"].append(f"{name} at {time.monotonic() - begun:.1f} s")

    try:
        # --- The engines: a Redis of this test's own (so that it can be stopped) and the S3 server ---------
        redis_port, s3_port, mail_port = free_port(), free_port(), free_port()
        processes["redis"] = subprocess.Popen(
            [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log("redis"),
            stderr=subprocess.STDOUT,
        )
        processes["s3"] = start_s3_server(s3_port, log("s3"))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        endpoint = f"http://127.0.0.1:{s3_port}"
        wait_for("Redis answers", lambda: redis.Redis.from_url(redis_url).ping(), processes=processes, logs=logs)
        # Only a connection: any request to S3 itself would count as one of the nine before credentials are checked.
        wait_for(
            "the S3 server listens",
            lambda: socket.create_connection(("127.0.0.1", s3_port), timeout=2).close() or True,
            processes=processes,
            logs=logs,
        )

        documented = documented_environment(uncomment=True)
        app_key = set_up_buckets(endpoint, documented)
        # From here on the S3 server checks every request's credentials.
        private_bucket = documented["ARCHIVE_S3_PRIVATE_BUCKET"]
        app_s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=app_key["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=app_key["AWS_SECRET_ACCESS_KEY"],
        )

        def photo_objects() -> list[str]:
            listed = app_s3.list_objects_v2(Bucket=private_bucket, Prefix="private/image-")
            return [item["Key"] for item in listed.get("Contents", [])]

        passwords = {"editor": secrets.token_urlsafe(16), "officer": secrets.token_urlsafe(16)}
        totp_key = secrets.token_hex(20)
        environment = clean_environment(
            **{
                **documented,
                "DATABASE_URL": f"{database_url(config, scratch)}?connect_timeout=5",
                "REDIS_URL": redis_url,
                "STATIC_ROOT": str(tmp_path / "static"),
                "MEDIA_ROOT": str(tmp_path / "media"),
                "PRIVATE_MEDIA_ROOT": str(tmp_path / "private-media"),
                "AWS_S3_ENDPOINT_URL": endpoint,
                "AWS_S3_REGION_NAME": REGION,
                "AWS_S3_ADDRESSING_STYLE": "path",
                # Operators' alerts go to a port where nothing listens: refused at once, never waited for.
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(mail_port),
                **app_key,
            }
        )

        phase("engines up")
        # --- The release step, timed, on the empty database ------------------------------------------------
        started = time.monotonic()
        release = run([python, "manage.py", "release"], env=environment, timeout=300)
        measured["release_seconds"] = time.monotonic() - started
        assert release.returncode == 0, release.stdout + release.stderr
        seed = run(
            [python, "manage.py", "shell", "-c", SEED.format(given=json.dumps({**passwords, "totp_key": totp_key}))],
            env=environment,
        )
        assert seed.returncode == 0, seed.stdout + seed.stderr
        ids = json.loads(seed.stdout.strip().splitlines()[-1])

        phase("released and seeded")
        # --- Two app servers and a task worker, as docs/deployment.md runs them ----------------------------
        ports = [free_port(), free_port()]
        for number, port in enumerate(ports, start=1):
            processes[f"server {number}"] = subprocess.Popen(
                [clean_virtualenv / "bin" / "gunicorn", "archive.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", "2", "--timeout", "60", "--graceful-timeout", "30", "--max-requests", "1000",
                 "--max-requests-jitter", "100", "--forwarded-allow-ips", "127.0.0.1"],
                cwd=BASE_DIR, env=environment, stdout=log(f"server-{number}"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes["worker"] = subprocess.Popen(
            [python, "manage.py", "db_worker", "--queue-name", "default", "--no-reload", "--worker-id", "proof-1",
             "--interval", "0.2", "--no-startup-delay"],
            cwd=BASE_DIR, env=environment, stdout=log("worker"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        one, two = Visitor(ports[0]), Visitor(ports[1])
        servers = (one, two)
        for server in servers:
            health = wait_for(
                f"{server.base} answers /healthz",
                lambda server=server: server.get("/healthz"),
                processes=processes,
                logs=logs,
            )
            assert (health.status_code, health.json()) == (200, {"database": "ok", "cache": "ok", "storage": "ok"})

        phase("servers up")
        # --- An editor uploads a photo through server 1 -------------------------------------------------
        editor = Visitor(ports[0])
        editor.sign_in("proof-editor", passwords["editor"])
        change_url = f"/admin/stories/part/{ids['part']}/change/"
        pairs = editor.form(change_url, "part_form")
        fields = [(name, value) for name, value in pairs if "__prefix__" not in name]
        blank_row = [(name, value) for name, value in pairs if name.startswith("images-__prefix__-")]
        rows = int(dict(fields)["images-TOTAL_FORMS"])
        assert rows == 0 and blank_row, "the part's form has no photo inline for an editor"
        row = {name.replace("__prefix__", "0"): value for name, value in blank_row}
        row.update({"images-0-alt_text_en": "A river at dawn.", "images-0-alt_text_ko": "새벽의 강."})
        fields = [(name, "1" if name == "images-TOTAL_FORMS" else value) for name, value in fields]
        photo = photo_jpeg()
        uploaded = editor.request(
            "POST",
            change_url,
            data=[*fields, *row.items()],
            files={"images-0-original": ("IMG_2041.jpg", photo, "image/jpeg")},
        )
        assert uploaded.status_code == 302, f"the upload was refused:\n{uploaded.text[-3000:]}"

        phase("uploaded")
        # --- The worker renders it; server 2 serves it ------------------------------------------------
        task_table = DBTaskResult._meta.db_table

        def photo_task():
            with psycopg.connect(database_url(config, scratch).replace("postgres://", "postgresql://")) as db:
                return db.execute(
                    f"SELECT status, started_at, finished_at, traceback FROM {task_table} "  # noqa: S608
                    "WHERE task_path = 'stories.tasks.process_photo' AND finished_at IS NOT NULL"
                ).fetchone()

        status, task_started, task_finished, traceback = wait_for(
            "the worker renders the photo", photo_task, processes=processes, logs=logs
        )
        assert status == "SUCCESSFUL", traceback
        megapixels = PHOTO_SIZE[0] * PHOTO_SIZE[1] / 1e6
        measured["photo"] = f"{megapixels:.0f} MP, {len(photo) / 1e6:.1f} MB JPEG"
        measured["photo_seconds_per_megapixel"] = (task_finished - task_started).total_seconds() / megapixels

        # The original and its renditions are in the private bucket, which refuses anyone without credentials.
        stored = photo_objects()
        assert any(key.startswith("private/image-originals/") for key in stored), stored
        assert any(key.startswith("private/image-renditions/") for key in stored), stored
        for key in stored:
            assert requests.get(f"{endpoint}/{private_bucket}/{key}", timeout=5).status_code == 403, key

        story_pages = [f"/{language}/stories/withdrawing-teller/{tail}" for language in ("en", "ko")
                       for tail in ("", "part-1/")]  # fmt: skip
        part_page = two.get("/en/stories/withdrawing-teller/part-1/")
        assert part_page.status_code == 200
        photos = sorted(set(RENDITION_URL.findall(part_page.text)))
        assert photos, "server 2 shows no photo on the part's page once the worker rendered it"
        for url in photos:
            served = two.get(url)
            assert served.status_code == 200 and served.headers["Content-Type"].startswith("image/"), url
            assert served.content and b"GPS" not in served.content
        # Every page and photo of theirs, read on both servers (so that both have them cached).
        feeds = ["/en/feed/", "/ko/feed/"]
        for server in servers:
            for url in [*story_pages, *photos, *feeds]:
                answer = server.get(url)
                assert answer.status_code == 200, f"{server.base}{url}: {answer.status_code}"
            for feed in feeds:
                assert "withdrawing-teller" in server.get(feed).text

        phase("photo rendered and read")
        # --- A consent officer withdraws consent through server 1, second factor given --------------------
        officer = Visitor(ports[0])
        officer.sign_in("proof-officer", passwords["officer"])
        withdraw_url = f"/admin/stories/storyteller/{ids['storyteller']}/withdraw-consent/"
        owed = officer.get(withdraw_url)  # the password alone opens nothing
        assert owed.status_code == 302 and owed.headers["Location"].startswith("/admin/second-factor/"), owed
        totp = TOTP(bytes.fromhex(totp_key), step=30, digits=6)
        code = f"{totp.token():06d}"
        second = dict(officer.form("/admin/second-factor/?next=/admin/", "second-factor-form"))
        verified = officer.request("POST", "/admin/second-factor/?next=/admin/", data={**second, "token": code})
        assert verified.status_code == 302, f"the code was refused: {verified.status_code}"
        confirm = dict(officer.form(withdraw_url, "withdraw_consent_form"))
        withdrawn = officer.request("POST", withdraw_url, data={**confirm, "reason": "Asked by phone."})
        assert withdrawn.status_code == 302, f"the withdrawal was refused: {withdrawn.status_code}"

        phase("withdrawn")
        # --- At the next request, nothing of theirs on either server --------------------------------------
        assert photo_objects() == [], "the withdrawn storyteller's photos are still in the bucket"
        for server in servers:
            for url in [*story_pages, *photos]:
                answer = server.get(url)
                assert answer.status_code == 404, f"{server.base}{url} still answers {answer.status_code}"
            for url in ["/en/", "/ko/", "/en/stories/", "/ko/stories/", *feeds]:
                answer = server.get(url)
                assert answer.status_code == 200 and "withdrawing-teller" not in answer.text, f"{server.base}{url}"

        # --- Memory of each process, after this work ------------------------------------------------------
        measured["app_server_workers_kib"] = [
            resident_kib(pid) for name in ("server 1", "server 2") for pid in children(processes[name].pid)
        ]
        measured["task_worker_kib"] = resident_kib(processes["worker"].pid)

        phase("checked after the withdrawal")
        # --- Redis goes away: public pages are served uncached, on both servers ----------------------------
        # What each server logged until now, apart from what it logs once Redis is gone.
        logged_before = {name: (logs / f"{name}.log").stat().st_size for name in ("server-1", "server-2")}
        processes["redis"].kill()
        processes.pop("redis").wait(timeout=10)
        staying = ["/en/stories/staying-teller/", "/en/stories/staying-teller/part-1/", "/ko/stories/staying-teller/"]
        for server in servers:
            assert server.get("/healthz").json()["cache"] == "failed"
            for url in ["/en/", "/ko/", "/en/stories/", *staying, *feeds]:
                answer = server.get(url)
                assert answer.status_code == 200, f"{server.base}{url} without Redis: {answer.status_code}"
            assert server.get(story_pages[0]).status_code == 404
        phase("checked without Redis")
    finally:
        measured["stopping"] = stop(processes)
        files.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()
    phase("stopped")

    report(measured)
    assert "Traceback" not in (logs / "worker.log").read_text(), log_tails(logs)
    for name, size in logged_before.items():
        output = (logs / f"{name}.log").read_bytes().decode()
        assert "Traceback" not in output[:size] and "Internal Server Error" not in output, f"{name}:\n{output[-3000:]}"
        # Redis's absence is logged once per gunicorn worker process (two each), not once per request.
        assert 1 <= output[size:].count("The cache (Redis) cannot be used") <= 2, f"{name}:\n{output[size:][-3000:]}"


def report(measured: dict) -> None:
    def mib(kib: int) -> str:
        return f"{kib / 1024:.0f} MiB"

    workers = measured["app_server_workers_kib"]
    lines = [
        f"release step on an empty database: {measured['release_seconds']:.1f} s",
        f"photo processing in the worker ({measured['photo']}): "
        f"{measured['photo_seconds_per_megapixel']:.2f} s per megapixel",
        "app server worker processes (gunicorn, RSS now / peak): "
        + ", ".join(f"{mib(w['VmRSS'])} / {mib(w['VmHWM'])}" for w in workers),
        f"task worker (RSS now / peak): {mib(measured['task_worker_kib']['VmRSS'])} / "
        f"{mib(measured['task_worker_kib']['VmHWM'])}",
        f"measured on {datetime.date.today().isoformat()}, {os.cpu_count()} cores",
        "the test's steps: " + ", ".join(measured["phases"]),
        "stopped after: " + ", ".join(f"{name} {took:.1f} s" for name, took in measured["stopping"].items()),
    ]
    print("\n".join(["", "Deployment proof, measured:", *lines]))
