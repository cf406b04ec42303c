"""The task queue: django-tasks' database backend worked by the project's db_worker, failure, retry, crashes."""

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished
from django_tasks_db.management.commands import db_worker as library
from django_tasks_db.models import DBTaskResult

from background import queue, reaper
from background.management.commands.db_worker import Worker
from background.models import WorkerHeartbeat
from tests.background import jobs

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def work(**options) -> Worker:
    """Run the project's worker in this process until the queue is empty."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=options.pop("worker_id", "test-worker"),
        excluded_queue_names=[],
        # The heartbeat thread has its own connection, which cannot see this test's transaction: it
        # never beats here; the first beat and reap happen in run() itself.
        heartbeat_seconds=3600,
        **options,
    )
    # The worker closes its connection between tasks when it is not in autocommit mode, as it never is
    # inside a test's transaction (PostgreSQL would then lose the test's data); here it keeps it.
    with mock.patch.object(library, "close_old_connections", lambda: None):
        worker.run()
    return worker


@pytest.fixture(autouse=True)
def _fresh_jobs():
    jobs.RUNS.clear()
    jobs.FAIL["flaky"] = False
    yield
    jobs.RUNS.clear()


@pytest.fixture
def database_queue(db):
    with override_settings(TASKS=DATABASE_TASKS):
        yield


def test_settings_run_tasks_at_once_in_development_and_tests_and_queue_them_in_production():
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks.backends.immediate.ImmediateBackend"
    # The app that overrides db_worker comes before the library's, so its command wins.
    apps = settings.INSTALLED_APPS
    assert apps.index("background") < apps.index("django_tasks_db")
    from django.core.management import get_commands

    assert get_commands()["db_worker"] == "background"
    source = (Path(settings.BASE_DIR) / "archive/settings/production.py").read_text()
    assert '"django_tasks_db.DatabaseBackend"' in source


def test_a_queued_task_waits_for_a_worker_then_succeeds(database_queue):
    result = jobs.record.enqueue("one")
    assert result.status == TaskResultStatus.READY
    assert jobs.RUNS == []
    work()
    assert jobs.RUNS == ["one"]
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "one"
    # A worker that stops cleanly takes its heartbeat with it.
    assert not WorkerHeartbeat.objects.exists()


def test_a_task_enqueued_in_a_transaction_that_rolls_back_never_runs(database_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue_after_commit(jobs.record, "rolled back")
        raise RuntimeError
    queue.enqueue_after_commit(jobs.record, "committed")
    work()
    assert jobs.RUNS == ["committed"]


def test_without_a_queue_a_task_asked_for_after_commit_runs_at_the_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        assert queue.enqueue_after_commit(jobs.record, "at commit") is None
        assert jobs.RUNS == []
    assert len(callbacks) == 1
    assert jobs.RUNS == ["at commit"]


def test_a_failed_task_is_recorded_with_why_and_an_operator_can_run_it_again(database_queue, client):
    from django.contrib.auth import get_user_model

    jobs.FAIL["flaky"] = True
    result = jobs.flaky.enqueue("again")
    work()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "builtins.RuntimeError"
    assert "a failure on purpose" in row.traceback

    admin_user = get_user_model().objects.create_superuser("ops", "ops@example.org", "not-a-real-password-1")
    client.force_login(admin_user)
    changelist = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert b"flaky" in page.content
    jobs.FAIL["flaky"] = False
    response = client.post(changelist, {"action": "run_again", "_selected_action": [str(row.pk)]}, follow=True)
    assert response.status_code == 200
    assert b"1 task queued again" in response.content
    work()
    assert jobs.RUNS == ["again"]
    assert DBTaskResult.objects.get(pk=row.pk).status == TaskResultStatus.FAILED  # the old run stays as it was
    assert DBTaskResult.objects.filter(task_path=row.task_path, status=TaskResultStatus.SUCCESSFUL).count() == 1


def test_only_superusers_may_run_tasks_again(database_queue, client, editor):
    from django.contrib.auth.models import Permission

    editor.user_permissions.add(Permission.objects.get(codename="view_dbtaskresult"))
    client.force_login(editor)
    page = client.get(reverse("admin:django_tasks_database_dbtaskresult_changelist"))
    assert page.status_code == 200
    assert b"run_again" not in page.content


def _claimed_by(worker_id: str, *, minutes_ago: float, attempts: int = 1) -> DBTaskResult:
    result = jobs.record.enqueue("left behind")
    row = DBTaskResult.objects.get(pk=result.id)
    row.status = TaskResultStatus.RUNNING
    row.started_at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    row.worker_ids = [f"earlier-{n}" for n in range(attempts - 1)] + [worker_id]
    row.save()
    return row


def test_a_task_left_running_by_a_dead_worker_is_queued_again_and_run(database_queue):
    row = _claimed_by("dead-worker", minutes_ago=5)
    # A worker that is alive keeps its task, however long it takes.
    WorkerHeartbeat.objects.create(
        worker_id="busy-worker", hostname="h", pid=1, started_at=timezone.now(), seen_at=timezone.now()
    )
    busy = _claimed_by("busy-worker", minutes_ago=30)
    reaped = reaper.reap()
    assert reaped.requeued == [str(row.pk)]
    assert reaped.failed == []
    assert DBTaskResult.objects.get(pk=busy.pk).status == TaskResultStatus.RUNNING
    # The next worker reaps at start as well, and runs it.
    work()
    assert jobs.RUNS == ["left behind"]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.worker_ids == ["dead-worker", "test-worker"]


def test_a_task_that_killed_its_worker_three_times_is_marked_failed_and_announced(database_queue):
    row = _claimed_by("third-dead-worker", minutes_ago=5, attempts=reaper.MAX_ATTEMPTS)
    finished = []

    def receiver(sender, task_result, **kwargs):
        finished.append(task_result)

    task_finished.connect(receiver)
    try:
        reaped = reaper.reap()
    finally:
        task_finished.disconnect(receiver)
    assert reaped.failed == [str(row.pk)]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "background.reaper.WorkerLost"
    assert "stopped before it finished, 3 times" in row.traceback
    assert [result.id for result in finished] == [str(row.pk)]
    assert finished[0].status == TaskResultStatus.FAILED
    work()
    assert jobs.RUNS == []


def test_reap_tasks_command_and_a_recent_claim_is_left_alone(database_queue, capsys):
    recent = _claimed_by("new-worker", minutes_ago=0)
    call_command("reap_tasks")
    assert "Queued again: 0; marked failed: 0; expired exports deleted: 0." in capsys.readouterr().out
    assert DBTaskResult.objects.get(pk=recent.pk).status == TaskResultStatus.RUNNING


def test_tasks_status_fails_when_a_task_waits_too_long(database_queue, capsys):
    call_command("tasks_status")
    result = jobs.record.enqueue("waiting")
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=timezone.now() - datetime.timedelta(minutes=10))
    with pytest.raises(SystemExit) as exit_info:
        call_command("tasks_status", max_wait=300)
    assert exit_info.value.code == 1
    assert "ready 1" in capsys.readouterr().out


def test_a_worker_killed_mid_task_loses_nothing(tmp_path):
    """A real db_worker process, killed with SIGKILL while it runs a task: the next worker runs it again."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.background.worker_settings",
        "WORKER_TEST_DATABASE": str(tmp_path / "queue.sqlite3"),
        "SLOW_TASK_SECONDS": "60",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    marker = tmp_path / "marker"
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]

    def python(code: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()

    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    task_id = python(f"from tests.background import jobs; print(jobs.slow_first_time.enqueue({str(marker)!r}).id)")
    status = f"from django_tasks_db.models import DBTaskResult as R; r = R.objects.get(pk={task_id!r}); "
    worker_args = ["db_worker", "--interval", "0.1", "--heartbeat", "0.2", "--no-startup-delay", "--no-reload"]
    worker = subprocess.Popen([*manage, *worker_args, "--worker-id", "first"], env=env)
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text().startswith("started 1")):
            assert time.monotonic() < deadline, "the worker never started the task"
            assert worker.poll() is None
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert python(status + "print(r.status, r.worker_ids)") == "RUNNING ['first']"
    # Silent for longer than TASK_WORKER_STALE_SECONDS (1 s in these settings): the next worker reaps it.
    time.sleep(1.5)
    subprocess.run([*manage, *worker_args, "--batch", "--worker-id", "second"], env=env, check=True, timeout=60)
    assert marker.read_text() == "done 2\n"
    assert python(status + "print(r.status, r.worker_ids, r.return_value)") == "SUCCESSFUL ['first', 'second'] 2"
