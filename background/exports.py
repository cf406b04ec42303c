"""Large CSV exports as tasks: asked for in a request, built by a worker, fetched once ready.

Each kind names who may have it and a writer, ``write(user, out) -> rows``, that writes the CSV for that user
(every cell through ``archive.spreadsheets.formula_safe``). The request that asks for an export queues it in
its transaction; with the immediate backend (development, tests) it is built at once and the request answers
with the file itself, as the exports always did. With production's queue the staff member is sent to the
export's page, which offers the file once it is ready.

The file is kept gzip-compressed in the database, which already holds everything it contains (and whose
backups do), never in the media storage, and only for KEEP_FOR; the worker deletes older ones.
"""

import dataclasses
import datetime
import gzip
import io
import logging
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task
from django_tasks.signals import task_finished

from background import queue
from background.models import Export

logger = logging.getLogger(__name__)

# How long a finished export waits to be fetched before it is deleted.
KEEP_FOR = datetime.timedelta(hours=24)


@dataclasses.dataclass(frozen=True)
class Kind:
    filename: str
    permission: str
    writer: str  # dotted path of write(user, out) -> rows

    def allowed(self, user) -> bool:
        return bool(user.is_active and user.is_staff and user.has_perm(self.permission))

    @property
    def write(self) -> Callable:
        return import_string(self.writer)


KINDS = {
    "audit-trail": Kind("audit-trail", "stories.view_audit_trail", "stories.exports.write_audit_trail"),
    "subscribers": Kind("subscribers", "advocacy.export_subscriber", "advocacy.exports.write_subscribers"),
}


def request_export(kind: str, user) -> Export:
    """Queue an export of this kind for this user; with the immediate backend it is built before this returns."""
    if not KINDS[kind].allowed(user):
        raise PermissionDenied
    with transaction.atomic():
        export = Export.objects.create(kind=kind, requested_by=user)
        queue.enqueue_in_transaction(build_export, export.pk)
    export.refresh_from_db()
    return export


@task(priority=-10)
def build_export(export_id: int) -> int:
    """Write the export's CSV, compressed, for the user who asked (with that user's permissions now)."""
    export = Export.objects.select_related("requested_by").filter(pk=export_id, status=Export.Status.WAITING).first()
    if export is None:
        return 0
    kind = KINDS[export.kind]
    if not kind.allowed(export.requested_by):
        Export.objects.filter(pk=export.pk).update(
            status=Export.Status.FAILED, error="permission", finished_at=timezone.now()
        )
        return 0
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:
        text = io.TextIOWrapper(compressed, encoding="utf-8", newline="")
        rows = kind.write(export.requested_by, text)
        text.flush()
        text.detach()
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.READY, content=buffer.getvalue(), rows=rows, finished_at=timezone.now()
    )
    logger.info("Export %s (%s) for staff user %s: %d rows", export.pk, export.kind, export.requested_by_id, rows)
    return rows


def _export_failed(sender, task_result, **kwargs) -> None:
    """An export whose task failed (an error, or its worker died three times) says so on its page."""
    if task_result.status != TaskResultStatus.FAILED or task_result.task.func is not build_export.func:
        return
    error = task_result.errors[-1].exception_class_path.rsplit(".", 1)[-1] if task_result.errors else "error"
    Export.objects.filter(pk=task_result.args[0], status=Export.Status.WAITING).update(
        status=Export.Status.FAILED, error=error[:100], finished_at=timezone.now()
    )


task_finished.connect(_export_failed, dispatch_uid="background-export-failed")


def file_response(export: Export, user) -> HttpResponse:
    """The export as a CSV download, for the user who asked for it while they may still have it."""
    if export.requested_by_id != user.pk or not KINDS[export.kind].allowed(user) or export.content is None:
        raise PermissionDenied
    response = HttpResponse(gzip.decompress(bytes(export.content)), content_type="text/csv; charset=utf-8")
    day = timezone.localdate(export.created_at).isoformat()
    response["Content-Disposition"] = f'attachment; filename="{KINDS[export.kind].filename}-{day}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def answer(request, export: Export) -> HttpResponse:
    """What the request that asked for an export gets: the file when it is ready, else the export's page."""
    if export.status == Export.Status.READY:
        return file_response(export, request.user)
    return HttpResponseRedirect(reverse("admin:background_export_change", args=[export.pk]))


def prune(*, now: datetime.datetime | None = None) -> int:
    """Delete exports older than KEEP_FOR; return how many."""
    now = now or timezone.now()
    deleted, _ = Export.objects.filter(created_at__lt=now - KEEP_FOR).delete()
    return deleted
