"""Whether the task queue is being worked: for monitoring, never for the load balancer."""

import datetime

from django.core.management.base import BaseCommand
from django.db.models import Count, Min
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from background import reaper


class Command(BaseCommand):
    help = (
        "Print how many tasks wait, run and failed, how long the oldest has waited, and how many workers are "
        "alive; exit with status 1 when a task has waited longer than --max-wait seconds (no worker, or too few)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--max-wait", type=int, default=300, help="Seconds a ready task may wait (default 300).")

    def handle(self, *args, max_wait: int, **options) -> None:
        now = timezone.now()
        counts = dict(DBTaskResult.objects.values_list("status").annotate(count=Count("pk")).order_by())
        oldest = DBTaskResult.objects.ready().aggregate(oldest=Min("enqueued_at"))["oldest"]
        waited = (now - oldest).total_seconds() if oldest else 0
        workers = len(reaper.live_workers(now=now))
        self.stdout.write(
            f"ready {counts.get(TaskResultStatus.READY, 0)}, running {counts.get(TaskResultStatus.RUNNING, 0)}, "
            f"failed {counts.get(TaskResultStatus.FAILED, 0)}, succeeded {counts.get(TaskResultStatus.SUCCESSFUL, 0)}; "
            f"oldest ready task waited {waited:.0f} s; live workers {workers}"
        )
        if waited > datetime.timedelta(seconds=max_wait).total_seconds():
            self.stderr.write(f"A task has waited more than {max_wait} s: is a worker running?")
            raise SystemExit(1)
