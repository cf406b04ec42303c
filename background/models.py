from django.conf import settings
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


class Export(models.Model):
    """A CSV file a staff member asked for, built by a task worker and kept, compressed, until fetched.

    Large exports (the whole audit trail) take longer than a request may; the file is built in the
    background and kept here, in the database that already holds everything it contains, never in the
    media storage, and only for ``background.exports.KEEP_FOR``: nothing new is kept anywhere else.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("being prepared")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=32)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.WAITING)
    # The CSV, gzip-compressed; emptied when the export expires.
    content = models.BinaryField(_("content"), null=True, editable=False)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    error = models.CharField(_("error"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
