"""Project-level promises: settings, set-up and demo content."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from stories.models import Consent, Part, Story, Storyteller
from translations.models import Translation

BASE_DIR = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True, check=False
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_python(
        "import archive.settings.production",
        ALLOWED_HOSTS="archive.example.org",
        DATABASE_URL="postgres://user@db.example.org/archive",
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_a_shared_cache():
    result = run_python(
        "import archive.settings.production",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="archive.example.org",
        DATABASE_URL="postgres://user@db.example.org/archive",
    )
    assert result.returncode != 0
    assert "REDIS_URL must point at the shared Redis cache" in result.stderr


def test_production_reads_its_configuration_from_the_environment():
    result = run_python(
        "import archive.settings.production as s; "
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'])",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="archive.example.org,www.archive.example.org",
        DATABASE_URL="postgres://user@db.example.org/archive",
        REDIS_URL="redis://cache.example.org:6379/0",
        SITE_URL="https://archive.example.org",
        DEBUG="false",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "['archive.example.org',",
        "'www.archive.example.org']",
        "archive.postgresql",
        "archive",
    ]


def test_load_demo_is_safe_to_run_twice_and_generates_private_passwords(db, tmp_path, monkeypatch):
    credentials = tmp_path / "credentials.json"
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(credentials))
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    counts = (Storyteller.objects.count(), Story.objects.count(), Part.objects.count(), Consent.objects.count())
    first_passwords = credentials.read_text()
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    assert counts == (Storyteller.objects.count(), Story.objects.count(), Part.objects.count(), Consent.objects.count())
    assert credentials.read_text() == first_passwords
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert "password" not in first_passwords.lower()


def test_demo_content_shows_the_rule(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(tmp_path / "credentials.json"))
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    public_stories = set(Story.objects.public("en").values_list("slug", flat=True))
    # Meet Willow is the demo's single piece (a profile written in Korean), public in both languages.
    assert public_stories == {"dawns-story", "the-teacher-who-kept-counting", "meet-willow"}
    # The teacher's only part is still in Korean review, so his story is not public in Korean.
    assert set(Story.objects.public("ko").values_list("slug", flat=True)) == {"dawns-story", "meet-willow"}
    assert Part.objects.public("en").filter(story__slug="dawns-story").count() == 3
    assert Part.objects.public("en").filter(story__slug="the-teacher-who-kept-counting").count() == 1
    in_review = Translation.objects.get(language="ko", status=Translation.Status.IN_REVIEW)
    assert in_review.content_object.story.slug == "the-teacher-who-kept-counting"
    stale = Translation.objects.get(needs_update=True)
    assert stale.language == "en" and stale.content_object.story.slug == "dawns-story"
    assert stale.content_object.number == 1
    assert Part.objects.public("en").filter(pk=stale.object_id).exists()  # kept public meanwhile
    withdrawn = Storyteller.objects.get(pseudonym_en="River")
    assert withdrawn.effective_consent().decision == Consent.Decision.WITHDRAWN


def test_load_demo_refuses_to_run_on_a_site_without_debug(db):
    with pytest.raises(CommandError):
        call_command("load_demo", verbosity=0)


def test_production_gives_up_on_a_stalled_mail_server():
    environment = {
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "archive.example.org",
        "DATABASE_URL": "postgres://user@db.example.org/archive",
        "REDIS_URL": "redis://cache.example.org:6379/0",
        "SITE_URL": "https://archive.example.org",
    }
    code = "import archive.settings.production as s; print(s.EMAIL_TIMEOUT)"
    default = run_python(code, **environment)
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip() == "10"
    assert run_python(code, EMAIL_TIMEOUT="3", **environment).stdout.strip() == "3"
