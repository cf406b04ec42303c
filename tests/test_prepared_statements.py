"""Prepared statements on PostgreSQL: off by default (a generic plan made the sitemap page 10x slower), one
setting turns them on, for every settings module."""

import pytest
from django.conf import settings
from django.db import connection

from archive.settings.base import with_prepared_statements

POSTGRESQL = "django.db.backends.postgresql"


def test_off_by_default_and_one_setting_turns_them_on(monkeypatch):
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    assert "OPTIONS" not in with_prepared_statements({"ENGINE": POSTGRESQL})
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "1")
    database = with_prepared_statements({"ENGINE": POSTGRESQL, "OPTIONS": {"sslmode": "require"}})
    assert database["OPTIONS"] == {"sslmode": "require", "server_side_binding": True, "prepare_threshold": 2}
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", "5")
    assert with_prepared_statements({"ENGINE": POSTGRESQL})["OPTIONS"]["prepare_threshold"] == 5


def test_a_pooler_that_cannot_keep_them_turns_them_off_and_sqlite_never_has_them(monkeypatch):
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "0")
    assert "OPTIONS" not in with_prepared_statements({"ENGINE": POSTGRESQL})
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "1")
    assert "OPTIONS" not in with_prepared_statements({"ENGINE": "django.db.backends.sqlite3"})


@pytest.mark.django_db
def test_the_suite_runs_as_production_does_by_default():
    """Client-side parameters, as production has them unless an operator turns prepared statements on."""
    assert "server_side_binding" not in settings.DATABASES["default"].get("OPTIONS", {})
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s + 1", [41])
        assert cursor.fetchone() == (42,)
