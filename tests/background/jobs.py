"""Tasks for the queue's own tests: importable by path, as a worker imports every task."""

import os
import time
from pathlib import Path

from django_tasks import task

# Runs recorded by record(): a list the in-process tests read.
RUNS: list[str] = []
# When set, flaky() fails until this is cleared.
FAIL = {"flaky": False}


@task()
def record(value: str) -> str:
    RUNS.append(value)
    return value


@task()
def flaky(value: str) -> str:
    if FAIL["flaky"]:
        raise RuntimeError("a failure on purpose")
    RUNS.append(value)
    return value


@task(takes_context=True)
def slow_first_time(context, marker: str) -> int:
    """Write the attempt number to ``marker``; on the first attempt, then wait to be killed."""
    Path(marker).write_text(f"started {context.attempt}\n")
    if context.attempt == 1:
        time.sleep(float(os.environ.get("SLOW_TASK_SECONDS", "60")))
    Path(marker).write_text(f"done {context.attempt}\n")
    return context.attempt
