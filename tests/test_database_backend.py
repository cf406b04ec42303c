"""Our PostgreSQL backend: Django's, but a kept connection's health check costs no round trip while it is quiet,
and a connection the server ended between requests is still replaced before the next request's first query."""

import time

import pytest
from django.db import connection, connections

from archive.postgresql.base import DatabaseWrapper
from archive.settings.base import POSTGRESQL_ENGINE, on_postgresql_backend

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the health check is our PostgreSQL backend's; this run's is SQLite"
)


def test_postgresql_databases_use_our_backend_and_sqlite_stays_as_it_is():
    assert POSTGRESQL_ENGINE == "archive.postgresql"
    assert on_postgresql_backend({"ENGINE": "django.db.backends.postgresql"})["ENGINE"] == POSTGRESQL_ENGINE
    assert on_postgresql_backend({"ENGINE": "django.db.backends.sqlite3"})["ENGINE"] == "django.db.backends.sqlite3"


def kept_connection(alias: str) -> DatabaseWrapper:
    """A connection of its own to the test database, kept between requests and checked, as production's are."""
    return DatabaseWrapper({**connection.settings_dict, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}, alias=alias)


def backend_pid(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@postgresql_only
def test_a_quiet_connection_is_usable_without_a_query_and_one_the_server_ended_is_replaced(
    django_db_setup, django_db_blocker
):
    assert isinstance(connections["default"], DatabaseWrapper)
    with django_db_blocker.unblock():
        kept, other = kept_connection("kept"), kept_connection("other")
        try:
            pid = backend_pid(kept)
            sent = []
            cursor = kept.connection.cursor
            kept.connection.cursor = lambda *args, **kwargs: sent.append(args) or cursor(*args, **kwargs)
            assert kept.is_usable()
            assert sent == [], "a quiet connection was checked with a query"
            # One left inside a transaction is not quiet: Django's own check asks the server.
            kept.connection.execute("BEGIN")
            sent.clear()
            assert kept.is_usable() and len(sent) == 1
            kept.connection.execute("ROLLBACK")
            kept.connection.cursor = cursor

            # The server ends the connection while it waits between requests (a restart, an idle timeout).
            with other.cursor() as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", [pid])
            deadline = time.monotonic() + 5
            while kept.is_usable() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not kept.is_usable()

            # The next request: its first query finds the check failed and opens a new connection, no error.
            kept.close_if_unusable_or_obsolete()
            assert backend_pid(kept) != pid
            assert kept.is_usable()
        finally:
            kept.close()
            other.close()
