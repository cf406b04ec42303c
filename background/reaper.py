"""Tasks whose worker died: run them again, or after too many tries mark them failed; never leave them RUNNING.

django-tasks' database backend claims a task by setting it RUNNING with the worker's id, and only that
worker ever finishes it. If the worker process dies mid-task (killed by the out-of-memory killer or
``systemctl kill``, the machine lost), the row stays RUNNING for ever and the work is silently dropped.

Here every worker (``manage.py db_worker``, ``background/management/commands/db_worker.py``) writes a
heartbeat every ``HEARTBEAT_SECONDS``; ``reap()`` looks for RUNNING tasks whose worker has been silent for
``TASK_WORKER_STALE_SECONDS`` (a minute) and puts each back in the queue (the next worker runs it again
from the start), up to
``MAX_ATTEMPTS`` attempts in all; a task that has killed that many workers is marked FAILED with
``WorkerLost``, and ``task_finished`` is sent for it as the worker would have, so that whatever waited on
it (a photo shown as processing) says it failed. Every worker reaps every ``REAP_SECONDS``, and
``manage.py reap_tasks`` does it once.

Tasks are therefore run at least once: a task must be safe to run again from the start (photo processing
is; an email may, rarely, be sent twice).
"""

import dataclasses
import datetime
import logging
import os
import socket

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from background.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10


def stale_after() -> datetime.timedelta:
    """Six missed heartbeats by default: a worker busy with a long task still beats (from its own thread),
    so only a dead or frozen process stays silent this long (settings.TASK_WORKER_STALE_SECONDS)."""
    return datetime.timedelta(seconds=settings.TASK_WORKER_STALE_SECONDS)


REAP_SECONDS = 30
# A task is tried this many times in all before a dead worker makes it FAILED.
MAX_ATTEMPTS = 3
# Heartbeats of workers that stopped without saying so are removed after this long.
FORGET_AFTER = datetime.timedelta(days=1)


class WorkerLost(Exception):
    """The worker running the task stopped before the task finished."""


@dataclasses.dataclass
class Reaped:
    requeued: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requeued or self.failed)


def beat(worker_id: str, *, started_at: datetime.datetime) -> None:
    """Record that this worker is alive now."""
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


def forget(worker_id: str) -> None:
    """A worker stopping cleanly takes its heartbeat away (it finished or gave back its task first)."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def live_workers(*, now: datetime.datetime | None = None, stale: datetime.timedelta | None = None) -> set[str]:
    now = now or timezone.now()
    stale = stale or stale_after()
    return set(WorkerHeartbeat.objects.filter(seen_at__gte=now - stale).values_list("worker_id", flat=True))


def reap(
    *,
    now: datetime.datetime | None = None,
    stale: datetime.timedelta | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> Reaped:
    """Requeue or fail every RUNNING task whose worker has been silent for ``stale`` (default: stale_after())."""
    now = now or timezone.now()
    stale = stale or stale_after()
    reaped = Reaped()
    failed_rows = []
    try:
        with exclusive_transaction():
            alive = live_workers(now=now, stale=stale)
            # Claimed a while ago: a worker writes its first heartbeat before it claims anything.
            running = DBTaskResult.objects.running().filter(started_at__lt=now - stale)
            for row in running.select_for_update(skip_locked=True):
                if row.worker_ids and row.worker_ids[-1] in alive:
                    continue
                attempts = len(row.worker_ids)
                if attempts < max_attempts:
                    row.status = TaskResultStatus.READY
                    row.save(update_fields=["status"])
                    reaped.requeued.append(str(row.id))
                    logger.warning(
                        "Task %s (%s) was left running by a worker that stopped; queued again (attempt %d of %d).",
                        row.id,
                        row.task_path,
                        attempts + 1,
                        max_attempts,
                    )
                else:
                    row.set_failed(
                        WorkerLost(
                            f"The worker running this task stopped before it finished, {attempts} times; "
                            "it was not run again."
                        )
                    )
                    reaped.failed.append(str(row.id))
                    failed_rows.append(row)
                    logger.error("Task %s (%s) stopped %d workers; marked failed.", row.id, row.task_path, attempts)
            WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
    except OperationalError as error:
        if not is_locked_database_exception(error):
            raise
        # SQLite was busy: the next round reaps.
        return reaped
    for row in failed_rows:
        # As the worker would have, once the failure is committed: receivers mark what waited on it failed.
        try:
            result = row.task_result
            sender = type(row.task.get_backend())
        except Exception:
            logger.exception("Task %s failed and its task can no longer be loaded.", row.id)
            continue
        task_finished.send(sender=sender, task_result=result)
    return reaped
