"""Enqueueing tasks so that a change and its background work commit, or vanish, together.

With the database backend (production) a task is a row: enqueued inside the transaction of the change
that asks for it, it is committed with that change or rolled back with it, and no worker can see it
before the commit. So a task is never run for a change that did not happen, and never lost between a
commit and an enqueue. With the immediate backend (development and tests) a task runs the moment it is
enqueued, so work that must wait for the commit (mail) is enqueued from ``transaction.on_commit``.
"""

import functools

from django.db import transaction
from django_tasks import TaskResult
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend


def is_queued(task: Task) -> bool:
    """Whether the task's backend keeps it in the database for a worker (rather than running it at once)."""
    return isinstance(task.get_backend(), DatabaseBackend)


def enqueue_after_commit(task: Task, *args, **kwargs) -> TaskResult | None:
    """Have the task run only once the current transaction commits, and not at all if it rolls back.

    Returns the queued result with the database backend; with others, None (it runs at the commit).
    """
    if is_queued(task):
        return task.enqueue(*args, **kwargs)
    if _outside_any_transaction_but_a_tests():
        # Nothing of the caller's left to commit: as on_commit() would outside a transaction, run it now.
        return task.enqueue(*args, **kwargs)
    transaction.on_commit(functools.partial(task.enqueue, *args, **kwargs))
    return None


def _outside_any_transaction_but_a_tests() -> bool:
    """Whether every open atomic block is the test suite's own wrapper (none, outside the tests).

    A test that uses the database runs inside a transaction that is rolled back, never committed; code that
    would run outside any transaction in production must behave as it does there.
    """
    connection = transaction.get_connection()
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def enqueue_in_transaction(task: Task, *args, **kwargs) -> TaskResult:
    """Enqueue now, inside the caller's transaction: with the database backend the task commits (or rolls
    back) with the change; with the immediate backend it runs at once, in that transaction, so the caller
    sees its outcome when this returns."""
    return task.enqueue(*args, **kwargs)
