"""PostgreSQL prepares the statements a connection repeats: configured once, for every settings module."""

import pytest
from django.conf import settings
from django.db import connection

from archive.settings.base import with_prepared_statements

POSTGRESQL = "django.db.backends.postgresql"


def test_postgresql_gets_server_side_parameters_and_prepared_statements(monkeypatch):
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
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
def test_the_suite_runs_with_them_on_postgresql():
    """On PostgreSQL the whole suite runs with server-side parameters, as production does."""
    if connection.vendor != "postgresql":
        assert "server_side_binding" not in settings.DATABASES["default"].get("OPTIONS", {})
        return
    assert settings.DATABASES["default"]["OPTIONS"]["server_side_binding"] is True
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone() == (42,)
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["SELECT $1::int + 1%"])
        assert cursor.fetchone() == (1,)
