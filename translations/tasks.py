"""A translator's PO file applied by a task worker: the request stores it and answers at once."""

import logging

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django_tasks import TaskResultStatus, task
from django_tasks.signals import task_finished

from translations import po
from translations.models import PoImport

logger = logging.getLogger(__name__)


def _finish(job: PoImport, status: str, level: str, messages: list[str]) -> None:
    job.status = status
    job.outcome = {"level": level, "messages": [str(message) for message in messages]}
    job.content = ""
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "outcome", "content", "finished_at"])


@task()
def apply_po_import(import_id: int) -> str:
    """Apply the file as drafts, or refuse it whole; the outcome waits for the translator on their page."""
    job = PoImport.objects.select_related("story", "by").filter(pk=import_id, status=PoImport.Status.WAITING).first()
    if job is None:
        return "gone"
    with translation.override(job.interface_language):
        try:
            result = po.story_import(
                story=job.story, language=job.language, content=job.content.encode("utf-8"), by=job.by
            )
        except ValidationError as error:
            _finish(job, PoImport.Status.REFUSED, "error", error.messages)
            return "refused"
        if result.updated:
            labels = ", ".join(str(label) for label in result.updated)
            _finish(
                job,
                PoImport.Status.DONE,
                "success",
                [translation.gettext("Imported as drafts: {items}.").format(items=labels)],
            )
        else:
            _finish(job, PoImport.Status.DONE, "info", [translation.gettext("The file changed nothing.")])
    return "done"


def _import_task_failed(sender, task_result, **kwargs) -> None:
    """An import whose task failed (an error, or its worker died three times) says so to its translator."""
    if task_result.status != TaskResultStatus.FAILED or task_result.task.func is not apply_po_import.func:
        return
    job = PoImport.objects.filter(pk=task_result.args[0], status=PoImport.Status.WAITING).first()
    if job is None:
        return
    with translation.override(job.interface_language):
        message = translation.gettext("The file for “{story}” could not be imported. Please import it again.")
        _finish(job, PoImport.Status.FAILED, "error", [message.format(story=job.story)])


task_finished.connect(_import_task_failed, dispatch_uid="translations-po-import-failed")
