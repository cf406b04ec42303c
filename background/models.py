from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """A running ``db_worker`` says it is alive every few seconds; a task whose worker went quiet is reaped.

    django-tasks' database backend marks a task RUNNING when a worker claims it and never looks at it
    again: a worker killed mid-task (out of memory, SIGKILL, a lost machine) would leave it RUNNING for
    ever. ``background.reaper`` finds such tasks by their worker's silence and runs them again or fails them.
    """

    worker_id = models.CharField(_("worker id"), max_length=64, primary_key=True)
    hostname = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started"))
    seen_at = models.DateTimeField(_("last seen"), db_index=True)

    class Meta:
        verbose_name = _("task worker")
        verbose_name_plural = _("task workers")

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid} ({self.worker_id})"
