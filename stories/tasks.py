"""Photo processing as a task: the request stores the upload, a worker renders it.

The photo says where it stands (``StoryImage.processing``: waiting, processing with a real percentage,
ready, failed and why) and readers see it only once it is ready: the visibility rule asks for it
(``StoryImageQuerySet.shown_on_publishable_parts``) and the publication table follows, as the task's last
save goes through the usual signals. A task carries the photo's id and the token of the rendering it was
asked for; a newer upload or new areas make it stop without touching anything.
"""

import logging
import time

from django_tasks import TaskResultStatus, task
from django_tasks.signals import task_finished

from stories import images
from stories.models import Processing, StoryImage

logger = logging.getLogger(__name__)

# Progress is written to the photo at most this often (and at the end of each step), a few small updates.
PROGRESS_EVERY_SECONDS = 0.5


def _mark(image_id: int, token: str, **fields) -> int:
    """Write processing fields of the rendering ``token`` without signals: no page shows them."""
    return (
        StoryImage.objects.filter(pk=image_id, processing_token=token)
        .exclude(processing=Processing.READY)
        .update(**fields)
    )


@task()
def process_photo(image_id: int, token: str) -> str:
    """Render one photo's upload into its renditions; returns "ready", "superseded" or "rejected"."""
    image = StoryImage.objects.filter(pk=image_id, processing_token=token).first()
    if image is None or image.processing == Processing.READY:
        return "superseded"
    _mark(image_id, token, processing=Processing.PROCESSING, processing_progress=1, processing_error="")
    last = {"at": 0.0, "percent": 1}

    def progress(percent: int) -> None:
        now = time.monotonic()
        if percent > last["percent"] and now - last["at"] >= PROGRESS_EVERY_SECONDS:
            last.update(at=now, percent=percent)
            _mark(image_id, token, processing_progress=min(percent, 99))

    try:
        done = image.render_now(token=token, progress=progress)
    except images.ImageRejected as rejected:
        # The file itself is at fault: the editor is told why, and nothing else needs to know.
        _mark(image_id, token, processing=Processing.FAILED, processing_error=rejected.code)
        logger.info("Photo %s could not be processed: %s", image_id, rejected.code)
        return "rejected"
    except Exception as error:
        _mark(image_id, token, processing=Processing.FAILED, processing_error=f"error:{type(error).__name__}"[:100])
        raise
    return "ready" if done else "superseded"


def _photo_task_failed(sender, task_result, **kwargs) -> None:
    """A rendering whose worker died too often (background/reaper.py) is shown as failed, not as processing."""
    if task_result.status != TaskResultStatus.FAILED or task_result.task.func is not process_photo.func:
        return
    error = task_result.errors[-1] if task_result.errors else None
    if error is None or not error.exception_class_path.endswith("WorkerLost"):
        return  # the task marked the photo itself
    image_id, token = task_result.args[:2]
    _mark(image_id, token, processing=Processing.FAILED, processing_error="worker-lost")


task_finished.connect(_photo_task_failed, dispatch_uid="stories-photo-task-failed")
