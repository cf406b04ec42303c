"""The smallest project a real `db_worker` process runs in, for the crash test: the queue's apps only."""

import os

SECRET_KEY = "worker-test-only-not-secret"  # noqa: S105
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "background",
    "django_tasks",
    "django_tasks_db",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["WORKER_TEST_DATABASE"]}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASK_WORKER_STALE_SECONDS = 1
