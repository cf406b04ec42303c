"""Photos processed by a task: stored and queued by the upload's request, rendered by a worker.

These run the production queue (django-tasks' database backend) with the project's worker in this
process; the rest of the suite renders through the immediate backend, at once.
"""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from background import reaper
from stories import images, publication, services, tasks
from stories.models import StoryImage, private_storage
from tests.background.test_queue import DATABASE_TASKS, work
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_back_office import admin_url, form_errors, open_form
from tests.stories.test_images import (
    add_photo_row,
    encode,
    make_image,
    noise,
    page_html,
    private_files,
    rendition_urls,
)

Processing = StoryImage.Processing
PHOTO_TASK = "stories.tasks.process_photo"


@pytest.fixture
def photo_part(db):
    """A public part whose storyteller's consent covers photos."""
    return make_part(story=make_story(storyteller=make_storyteller(consent={"covers_photos": True})))


@pytest.fixture
def queued(db):
    with override_settings(TASKS=DATABASE_TASKS):
        yield


def photo_tasks(**filters):
    return DBTaskResult.objects.filter(task_path=PHOTO_TASK, **filters)


def test_an_upload_is_stored_and_queued_and_readers_see_it_only_once_a_worker_rendered_it(
    client, editor, photo_part, queued
):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", photo_part.pk))
    files = add_photo_row(form, encode(noise(1200, 800), "JPEG"), shows_identifiable_person="")
    response = form.post(client, **files)
    assert response.status_code == 302, form_errors(response)

    image = StoryImage.objects.get(part=photo_part)
    assert image.processing == Processing.WAITING
    assert image.original.name in private_files()
    assert not image.rendition_key and image.renditions["items"] == []
    assert [row.args_kwargs["args"] for row in photo_tasks()] == [[image.pk, image.processing_token]]
    # Not public by the rule, nor in the publication table readers' pages read, nor on the page.
    assert not image.is_public("en")
    assert not StoryImage.objects.live("en").filter(pk=image.pk).exists()
    assert not publication.publication_check()
    assert rendition_urls(page_html(client, photo_part)) == []
    change_page = client.get(admin_url("part", "change", photo_part.pk)).content.decode()
    assert "Waiting to be processed. Readers see it once it is ready." in change_page
    assert 'data-state="waiting"' in change_page

    work()

    image.refresh_from_db()
    assert image.processing == Processing.READY and image.processing_progress == 100
    assert image.rendition_key and len(image.renditions["items"]) == 6
    assert image.is_public("en") and StoryImage.objects.live("en").filter(pk=image.pk).exists()
    assert not publication.publication_check()
    assert (
        f"/en/photos/{image.rendition_key}/480.jpg"
        in client.get(admin_url("part", "change", photo_part.pk)).content.decode()
    )
    client.logout()
    urls = rendition_urls(page_html(client, photo_part))
    assert urls and all(client.get(url).status_code == 200 for url in urls)
    assert photo_tasks().get().status == TaskResultStatus.SUCCESSFUL


def test_progress_is_written_as_the_worker_goes_and_shown_to_the_editor(
    client, editor, photo_part, queued, monkeypatch
):
    image = make_image(photo_part, encode(noise(2000, 1500), "JPEG"))
    written = []
    mark = tasks._mark

    def spy(image_id, token, **fields):
        written.append(fields)
        return mark(image_id, token, **fields)

    monkeypatch.setattr(tasks, "_mark", spy)
    monkeypatch.setattr(tasks, "PROGRESS_EVERY_SECONDS", 0)
    work()
    percents = [fields["processing_progress"] for fields in written if "processing_progress" in fields]
    assert written[0]["processing"] == Processing.PROCESSING
    assert percents == sorted(percents) and len(percents) >= 5 and percents[0] >= 1 and percents[-1] <= 99
    image.refresh_from_db()
    assert image.processing == Processing.READY and image.processing_progress == 100

    # What the editor sees while it runs.
    StoryImage.objects.filter(pk=image.pk).update(
        processing=Processing.PROCESSING, processing_progress=40, rendition_key=""
    )
    client.force_login(editor)
    change_page = client.get(admin_url("part", "change", photo_part.pk)).content.decode()
    assert (
        '<progress max="100" value="40">40%</progress> Processing: 40%. Readers see it once it is ready.' in change_page
    )


def test_a_failed_rendering_shows_why_and_the_editor_retries_it_from_the_admin(
    client, editor, photo_part, queued, monkeypatch
):
    before = private_files()
    image = make_image(photo_part, encode(noise(600, 400), "PNG"))
    render = images.render

    def store_down(*args, **kwargs):
        raise ConnectionError("the store did not answer")

    monkeypatch.setattr(images, "render", store_down)
    work()
    image.refresh_from_db()
    assert image.processing == Processing.FAILED
    assert image.processing_error == "error:ConnectionError"
    assert not image.is_public("en") and not image.rendition_key
    failed = photo_tasks().get()
    assert failed.status == TaskResultStatus.FAILED
    assert "the store did not answer" in failed.traceback  # for operators, in the task results
    client.force_login(editor)
    url = admin_url("part", "change", photo_part.pk)
    change_page = client.get(url).content.decode()
    assert 'data-state="failed"' in change_page
    assert "Processing failed: It could not be processed (ConnectionError)." in change_page
    assert "the store did not answer" not in change_page

    monkeypatch.setattr(images, "render", render)
    form = open_form(client, url)
    form.data["images-0-process_again"] = "on"
    response = form.post(client)
    assert response.status_code == 302, form_errors(response)
    image.refresh_from_db()
    assert image.processing == Processing.WAITING
    assert photo_tasks(status=TaskResultStatus.READY).count() == 1
    work()
    image.refresh_from_db()
    assert image.processing == Processing.READY and image.is_public("en")
    # Only the current renditions are stored: the failed attempt left nothing behind.
    assert {item["name"] for item in image.renditions["items"]} | {image.original.name} == private_files() - before


def test_new_areas_hide_the_old_renditions_at_once_and_a_task_overtaken_by_them_changes_nothing(
    client, photo_part, queued, django_capture_on_commit_callbacks
):
    before = private_files()
    image = make_image(photo_part, encode(noise(600, 400), "PNG"))
    first_token = image.processing_token
    work()
    image.refresh_from_db()
    old_urls = rendition_urls(page_html(client, photo_part))
    assert old_urls

    image.obscured_areas = [{"x": 0.1, "y": 0.1, "w": 0.3, "h": 0.3}]
    with django_capture_on_commit_callbacks(execute=True):
        services.story_image_save(image=image)
    assert image.processing_token != first_token
    # An editor who obscures a face expects it gone now, not when the worker gets to it.
    assert not image.is_public("en")
    assert all(client.get(url).status_code == 404 for url in old_urls)
    assert rendition_urls(page_html(client, photo_part)) == []

    # Changed again before the worker ran: the first of the two queued tasks finds itself overtaken.
    image.obscured_areas = [{"x": 0.2, "y": 0.2, "w": 0.3, "h": 0.3}]
    services.story_image_save(image=image)
    work()
    results = sorted(row.return_value for row in photo_tasks(status=TaskResultStatus.SUCCESSFUL))
    assert results == ["ready", "ready", "superseded"]
    image.refresh_from_db()
    assert image.renditions["source"]["areas"] == [{"x": 0.2, "y": 0.2, "w": 0.3, "h": 0.3}]
    current = {item["name"] for item in image.renditions["items"]} | {image.original.name}
    assert current == private_files() - before
    new_urls = rendition_urls(page_html(client, photo_part))
    assert new_urls and not set(new_urls) & set(old_urls)


def test_a_photo_whose_worker_died_is_rendered_by_the_next_one(photo_part, queued):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    row = photo_tasks().get()
    row.claim("killed-worker")
    StoryImage.objects.filter(pk=image.pk).update(processing=Processing.PROCESSING, processing_progress=30)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=5))
    work()  # reaps at start, then runs it again
    image.refresh_from_db()
    assert image.processing == Processing.READY and image.is_public("en")


def test_a_photo_that_kills_every_worker_is_shown_as_failed_not_processing(client, editor, photo_part, queued):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    row = photo_tasks().get()
    row.worker_ids = ["dead-1", "dead-2"]
    row.save()
    row.claim("dead-3")
    StoryImage.objects.filter(pk=image.pk).update(processing=Processing.PROCESSING, processing_progress=30)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=5))
    reaped = reaper.reap()
    assert reaped.failed == [str(row.pk)]
    image.refresh_from_db()
    assert image.processing == Processing.FAILED and image.processing_error == "worker-lost"
    assert not image.is_public("en")
    client.force_login(editor)
    change_page = client.get(admin_url("part", "change", photo_part.pk)).content.decode()
    assert "The task worker stopped while processing it, three times." in change_page


def test_a_deleted_photo_is_not_rendered_and_leaves_no_files(photo_part, queued, django_capture_on_commit_callbacks):
    before = private_files()
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    work()
    assert photo_tasks().get().return_value == "superseded"
    assert private_files() == before


def test_the_failure_message_is_in_the_editors_language(photo_part):
    from django.utils import translation

    image = make_image(photo_part, encode(noise(400, 300), "JPEG")[:3000])
    assert image.processing == Processing.FAILED
    with translation.override("ko"):
        korean = image.processing_message
    assert korean and korean != image.processing_message
    assert private_storage().exists(image.original.name)
