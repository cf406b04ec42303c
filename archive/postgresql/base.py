"""Django's PostgreSQL backend, with a health check that costs no round trip while the connection is quiet.

With ``CONN_HEALTH_CHECKS`` (production's setting: each gunicorn worker keeps its connection between
requests), Django checks a kept connection at each request's first query by sending ``SELECT 1`` and
waiting for the answer. On a reading page of four short queries that check was a fifth round trip, paid in
CPU on both sides of the socket and in a wait.

A connection that PostgreSQL ended while it sat idle (a restart, ``pg_terminate_backend``, an idle
timeout, a pooler closing it) is told so on its socket: the server sends its last message and closes, so
the socket becomes readable. A quiet, healthy connection has nothing to read between requests, since
every answer was read to its end. So the check first asks the kernel, without waiting, whether the socket
has anything to read: nothing means usable; anything (or an error) means Django's own check decides, which
reads what arrived and finds the connection dead or, if it was only a notice, alive.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        # Between requests a healthy connection is idle (no transaction open, none failed); in any other
        # state, or with anything to read, Django's own check decides.
        quiet = self.connection.info.transaction_status == base.Database.pq.TransactionStatus.IDLE
        if quiet:
            try:
                poller = select.poll()
                poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI)
                quiet = not poller.poll(0)
            except (OSError, ValueError, base.Database.Error):
                quiet = False
        return quiet or super().is_usable()
