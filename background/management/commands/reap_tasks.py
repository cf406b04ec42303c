"""Run the reaper once: tasks left RUNNING by a worker that died are queued again or marked failed."""

from django.core.management.base import BaseCommand

from background import exports, reaper


class Command(BaseCommand):
    help = (
        "Queue again (or, after too many attempts, mark failed) every task left RUNNING by a worker that "
        "has been silent for a minute, and delete exports older than a day. Every db_worker does this by itself "
        "every 30 seconds."
    )

    def handle(self, *args, **options) -> None:
        reaped = reaper.reap()
        pruned = exports.prune()
        requeued, failed = len(reaped.requeued), len(reaped.failed)
        self.stdout.write(f"Queued again: {requeued}; marked failed: {failed}; expired exports deleted: {pruned}.")
