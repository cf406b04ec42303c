"""django-tasks-db's ``db_worker``, with a heartbeat and the reaper of tasks whose worker died.

The library's worker claims a task (RUNNING) and marks it SUCCESSFUL or FAILED when it ends; a worker
killed in between leaves it RUNNING for ever. This command is the library's, same options, plus a thread
that records the worker's heartbeat every ``--heartbeat`` seconds and, every ``REAP_SECONDS``, hands the
tasks of silent workers back to the queue or fails them (``background/reaper.py``). It takes the library's
place under the same name because ``background`` comes before ``django_tasks_db`` in INSTALLED_APPS.
"""

import contextlib
import logging
import os
import threading
import time
from argparse import ArgumentParser

from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker as library

from background import exports, reaper

logger = logging.getLogger("django_tasks_db")


class Worker(library.Worker):
    def __init__(self, *, heartbeat_seconds: float = reaper.HEARTBEAT_SECONDS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.heartbeat_seconds = heartbeat_seconds
        self._stopped = threading.Event()
        self._started_at = timezone.now()

    def beat(self) -> None:
        reaper.beat(self.worker_id, started_at=self._started_at)

    def _keep_beating(self) -> None:
        last_reap = 0.0
        try:
            while not self._stopped.wait(self.heartbeat_seconds):
                try:
                    self.beat()
                    if time.monotonic() - last_reap >= reaper.REAP_SECONDS:
                        last_reap = time.monotonic()
                        reaper.reap()
                        exports.prune()
                except OperationalError:
                    # The database is briefly unreachable or busy: the next beat tries again. A worker
                    # silent for longer than TASK_WORKER_STALE_SECONDS has its task run again elsewhere, by design.
                    logger.warning("Worker %s could not record its heartbeat.", self.worker_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()

    def run(self) -> None:
        # Alive before the first claim, and the tasks a dead worker left behind are seen to at once.
        self.beat()
        reaper.reap()
        beating = threading.Thread(target=self._keep_beating, name="worker-heartbeat", daemon=True)
        beating.start()
        try:
            super().run()
        finally:
            self._stopped.set()
            beating.join(timeout=self.heartbeat_seconds + 5)
            with contextlib.suppress(OperationalError):
                reaper.forget(self.worker_id)


class Command(library.Command):
    help = "Run a database task worker (django-tasks-db's, with a heartbeat and the reaper of dead workers' tasks)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--heartbeat",
            type=library.valid_interval,
            default=reaper.HEARTBEAT_SECONDS,
            dest="heartbeat_seconds",
            help="Seconds between heartbeats (default: %(default)r).",
        )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        heartbeat_seconds: float,
        **options,
    ) -> None:
        # As the library's handle(), with this module's Worker.
        self.configure_logging(verbosity)
        if reload and batch:
            logger.warning("Warning: --reload and --batch cannot be specified together. Disabling autoreload.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise library.CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
            heartbeat_seconds=heartbeat_seconds,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
