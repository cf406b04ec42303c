"""When a dependency fails: pages still answer (never a 500), writes are refused politely, operators hear once."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core import mail, signing
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from advocacy import ratelimit
from advocacy.models import Action, ActionCount, Subscriber
from archive import health
from archive.sentry import FILTERED, before_send
from stories import caching
from tests.advocacy.conftest import make_action, make_campaign
from tests.conftest import make_part, make_staff

CLOSED_PORT_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture
def outage_logs(caplog):
    caplog.set_level(logging.INFO, logger="archive.health")
    return caplog


def outage_records(caplog, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "archive.health" and text in record.getMessage()]


@pytest.fixture
def forget_cache_outage():
    """Afterwards forget what this process noticed of a cache outage."""
    yield
    caching._undelivered.clear()
    health.CACHE.recovered()


@pytest.fixture
def redis_down(settings, forget_cache_outage):
    """Point the cache at a port nobody listens on."""
    settings.CACHES = CLOSED_PORT_REDIS


@pytest.fixture
def database_down(db, monkeypatch):
    """Every new use of the database fails as an unreachable server does."""

    def refuse(self):
        raise OperationalError('connection to server at "db.internal" (10.0.0.9), port 5432 failed: Connection refused')

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    yield
    monkeypatch.undo()
    health.DATABASE.recovered()


# --- Redis unreachable ---------------------------------------------------------------------------


def test_public_pages_answer_200_uncached_when_redis_cannot_be_reached(client, db, redis_down):
    part = make_part()
    for url in ["/en/", "/ko/", "/en/stories/", part.get_absolute_url(), part.story.get_absolute_url(), "/en/feed/"]:
        assert client.get(url).status_code == 200, url


def test_a_redis_outage_is_logged_once_not_once_per_page(client, db, settings, forget_cache_outage, caplog):
    part = make_part()
    settings.CACHES = CLOSED_PORT_REDIS
    caplog.set_level(logging.INFO)
    for url in ["/en/", "/ko/", part.get_absolute_url(), "/en/", "/ko/"]:
        assert client.get(url).status_code == 200, url
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "archive.health", [r.getMessage() for r in warnings]


def test_rate_limits_fail_closed_and_the_outage_is_logged_once_per_process(settings, redis_down, outage_logs):
    verdicts = [ratelimit.count(scope="test", key="k", limit=100, window=60) for _ in range(3)]
    assert verdicts == [ratelimit.Verdict.UNAVAILABLE] * 3
    assert not ratelimit.hit(scope="test", key="k", limit=100, window=60)
    assert len(outage_records(outage_logs, "cannot be used")) == 1

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ratelimit.hit(scope="test", key="k", limit=100, window=60)
    assert ratelimit.hit(scope="test", key="k", limit=100, window=60)
    [back] = outage_records(outage_logs, "answers again")
    assert "4 failed uses" in back.getMessage()
    # A later outage is a new one, logged again once.
    settings.CACHES = CLOSED_PORT_REDIS
    assert not ratelimit.hit(scope="test", key="k", limit=100, window=60)
    assert len(outage_records(outage_logs, "cannot be used")) == 2


def test_a_counted_link_still_leads_on_while_redis_is_down_but_counts_nothing(client, db, redis_down):
    campaign = make_campaign()
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    response = client.get(f"/en/act/{campaign.slug}/go/{donate.pk}/")
    assert response.status_code == 302 and response["Location"] == "https://donate.example.org/now"
    assert not ActionCount.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "We cannot take sign-ups just now. Nothing was saved. Please try again in a few minutes."),
        ("ko", "지금은 구독 신청을 받을 수 없습니다. 아무것도 저장되지 않았습니다. 몇 분 뒤에 다시 시도해 주세요."),
    ],
)
def test_the_newsletter_form_asks_to_try_again_later_while_redis_is_down(client, db, redis_down, language, message):
    response = client.post(f"/{language}/newsletter/", {"email": "reader@example.org", "website": ""})
    assert response.status_code == 503
    assert message in response.content.decode()
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


# --- Database unreachable ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "Temporarily unavailable"), ("ko", "잠시 이용할 수 없습니다")],
)
def test_an_unreachable_database_gives_a_styled_503_in_the_readers_language(database_down, language, title):
    client = Client(raise_request_exception=False)
    # A session cookie the page must not look up: the session lives in the database that is down.
    client.cookies["sessionid"] = "a" * 32
    for path in [f"/{language}/", f"/{language}/stories/", f"/{language}/stories/some-story/part-1/"]:
        response = client.get(path)
        assert response.status_code == 503, path
        html = response.content.decode()
        assert f'<html lang="{language}">' in html
        assert title in html
        assert 'class="site-header"' in html and "quick-exit" in html
        assert "10.0.0.9" not in html and "Connection refused" not in html and "Traceback" not in html
        assert response["Retry-After"] == "60"
        assert "no-store" in response["Cache-Control"]
        assert "sessionid" not in response.cookies


def test_an_unreachable_database_is_logged_once_not_once_per_request(database_down, caplog):
    caplog.set_level(logging.INFO)
    client = Client(raise_request_exception=False)
    for _ in range(3):
        assert client.get("/en/").status_code == 503
        assert client.get("/sitemap.xml").status_code == 503
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "archive.health" and "database" in errors[0].getMessage()


# --- The health check ----------------------------------------------------------------------------


def test_the_health_check_says_ok_for_each_dependency_and_nothing_else(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok", "cache": "ok", "storage": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_the_health_check_answers_a_load_balancer_asking_by_address_over_plain_http(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/en/", HTTP_HOST="testserver").status_code == 301  # everything else goes to HTTPS
    response = client.get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert response.status_code == 200


def test_the_health_check_fails_when_the_cache_cannot_be_reached(client, db, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"database": "ok", "cache": "failed", "storage": "ok"}


def test_the_health_check_fails_when_the_database_cannot_be_reached_and_says_so_once(database_down, caplog):
    caplog.set_level(logging.INFO)
    for _ in range(3):  # a load balancer asks every few seconds
        response = Client().get("/healthz")
        assert response.status_code == 503
        assert json.loads(response.content) == {"database": "failed", "cache": "ok", "storage": "ok"}
    assert len([record for record in caplog.records if record.levelno >= logging.ERROR]) == 1


def test_the_health_check_fails_when_media_cannot_be_written(client, db, settings, tmp_path):
    not_a_directory = tmp_path / "media"
    not_a_directory.write_text("")
    settings.MEDIA_ROOT = str(not_a_directory)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"database": "ok", "cache": "ok", "storage": "failed"}


def test_the_health_check_is_in_no_sitemap(client, db):
    make_part()
    index = client.get("/sitemap.xml")
    locations = [
        element.text for element in ElementTree.fromstring(index.content).iter() if element.tag.endswith("loc")
    ]
    assert locations
    for location in locations:
        section = client.get(location.replace("http://testserver", ""))
        assert section.status_code == 200
        assert b"healthz" not in section.content


# --- 403 and 400, styled and translated like the 404 ---------------------------------------------


def assert_styled(html: str, language: str) -> None:
    assert f'<html lang="{language}">' in html
    assert 'class="site-header"' in html and "quick-exit" in html and 'class="site-footer"' in html
    # The switcher leads to the other language's home page, never back to the refused address.
    other = "ko" if language == "en" else "en"
    assert f'class="language-switcher__link" href="/{other}/"' in html


@pytest.mark.parametrize(("language", "title"), [("en", "Access denied"), ("ko", "접근할 수 없습니다")])
def test_a_page_someone_may_not_see_answers_a_styled_translated_403(client, db, language, title):
    client.force_login(make_staff("Campaign managers"))  # who may not translate
    response = client.get(f"/{language}/translate/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_styled(html, language)
    assert title in html


@pytest.mark.parametrize(("language", "title"), [("en", "Bad request"), ("ko", "잘못된 요청입니다")])
def test_a_request_for_another_host_answers_a_styled_translated_400(client, db, language, title):
    response = client.get(f"/{language}/", HTTP_HOST="archive.attacker.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert_styled(html, language)
    assert title in html
    assert "attacker" not in html


@pytest.mark.parametrize(
    ("language", "title"), [("en", "The form could not be sent"), ("ko", "양식을 보내지 못했습니다")]
)
def test_a_form_whose_csrf_check_failed_says_how_to_send_it_again(db, language, title):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/{language}/newsletter/", {"email": "reader@example.org", "website": ""})
    assert response.status_code == 403
    html = response.content.decode()
    assert_styled(html, language)
    assert title in html
    assert "CSRF" not in html and "Referer" not in html  # the reason is for the logs
    assert not Subscriber.objects.exists()


# --- Sentry gets nothing a storyteller, reader or subscriber typed -------------------------------


def test_sentry_events_are_scrubbed_of_bodies_cookies_variables_and_addresses():
    token = signing.dumps({"s": 41}, salt="advocacy.newsletter.unsubscribe")
    event = {
        "message": "Failed for reader@example.org",
        "request": {
            "url": f"https://archive.example.org/en/newsletter/unsubscribe/{token}/",
            "method": "POST",
            "query_string": "email=reader%40example.org",
            "data": {"identity-0-legal_name": "Kim Real-Name", "body_en": "Story text in progress"},
            "cookies": {"sessionid": "abc", "csrftoken": "def"},
            "headers": {
                "Host": "archive.example.org",
                "Cookie": "sessionid=abc",
                "Authorization": "Basic eDp5",
                "X-Forwarded-For": "198.51.100.7",
                "Referer": "https://archive.example.org/en/stories/dawn/",
                "Accept-Language": "ko",
            },
            "env": {"REMOTE_ADDR": "198.51.100.7"},
        },
        "user": {"ip_address": "198.51.100.7", "username": "consent-officer"},
        "extra": {"sys.argv": ["manage.py", "shell"]},
        "breadcrumbs": {"values": [{"category": "query", "message": "SELECT legal_name ..."}]},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": 'duplicate key value violates unique constraint "email"\n'
                    "DETAIL:  Key (email)=(reader@example.org) already exists.",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "identity_save",
                                "context_line": "identity.save()",
                                "vars": {"legal_name": "'Kim Real-Name'", "terms": "['Hyesan']"},
                            }
                        ]
                    },
                }
            ]
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {"body": "'Story text'"}}]}}]},
        "logentry": {"message": "Mail to %s failed", "params": ["reader@example.org", 3]},
    }
    scrubbed = before_send(event, {})
    text = json.dumps(scrubbed)
    for secret in ["Kim Real-Name", "Story text", "Hyesan", "reader@example.org", "reader%40example.org",
                   "198.51.100.7", "sessionid=abc", "Basic eDp5", "consent-officer", "SELECT legal_name",
                   "/en/stories/dawn/", token]:  # fmt: skip
        assert secret not in text, secret
    request = scrubbed["request"]
    assert "data" not in request and "cookies" not in request and "env" not in request
    assert request["headers"]["Host"] == "archive.example.org" and request["headers"]["Accept-Language"] == "ko"
    assert request["headers"]["Cookie"] == FILTERED
    assert request["url"] == f"https://archive.example.org/en/newsletter/unsubscribe/{FILTERED}/"
    # What an operator needs is still there: the error, where it happened, the line.
    exception = scrubbed["exception"]["values"][0]
    assert exception["type"] == "IntegrityError"
    assert exception["value"].startswith('duplicate key value violates unique constraint "email"')
    assert exception["stacktrace"]["frames"][0]["context_line"] == "identity.save()"
    assert scrubbed["logentry"]["params"] == [FILTERED, 3]
    assert re.search(r"Failed for \[Filtered\]", scrubbed["message"])


SENTRY_FLOW = """
import json
import django
django.setup()
import sentry_sdk
from sentry_sdk.transport import Transport
from django.test import Client
from archive.sentry import init_sentry

events = []


class Capture(Transport):
    def capture_envelope(self, envelope):
        events.extend(item.payload.json for item in envelope.items if item.type == "event")


init_sentry(dsn="https://key@sentry.example.org/1", environment="test", transport=Capture)
client = Client(raise_request_exception=False, HTTP_X_FORWARDED_FOR="198.51.100.7")
client.cookies["sessionid"] = "s3ss10nvalue"
# A form shown ten seconds ago, so that the sign-up's minimum fill time lets it reach the database.
from django.core import signing
from advocacy.forms import STARTED_SALT
import time
started = signing.dumps(int((time.time() - 10) * 1000), salt=STARTED_SALT)
form = {"email": "reader@example.org", "website": "", "started": started, "identity-0-legal_name": "Kim Real-Name"}
statuses = [
    client.post("/en/newsletter/", form).status_code,
    client.get("/en/stories/?email=reader@example.org").status_code,
]
sentry_sdk.flush()
print(json.dumps({"statuses": statuses, "events": events}))
"""


def test_errors_reach_sentry_through_django_without_what_the_reader_sent():
    environment = {
        **{key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}},
        "DJANGO_SETTINGS_MODULE": "archive.settings.test",
        # A database that cannot be opened: both requests fail inside the view.
        "DATABASE_URL": "sqlite:////nonexistent-directory/archive.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "-c", SENTRY_FLOW],
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    captured = json.loads(result.stdout.splitlines()[-1])
    assert captured["statuses"] == [503, 503]
    assert len(captured["events"]) == 2
    text = json.dumps(captured["events"])
    for secret in ("reader@example.org", "s3ss10nvalue", "Kim Real-Name", "198.51.100.7"):
        assert secret not in text, secret
    for event in captured["events"]:
        assert event["exception"]["values"][-1]["type"] == "OperationalError"
        assert "user" not in event and "breadcrumbs" not in event and "extra" not in event
        assert not any(
            "vars" in frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"]
        )
