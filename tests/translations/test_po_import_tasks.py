"""A translator's PO file applied by a task on production's queue: answered at once, the outcome shown once."""

import datetime

import polib
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from stories.models import Part
from tests.background.test_queue import DATABASE_TASKS, work
from tests.conftest import make_story, make_storyteller
from translations import po, tasks
from translations.models import PoImport, Translation

QUEUE = "/{interface}/translate/ko/"


@pytest.fixture
def queued(db):
    with override_settings(TASKS=DATABASE_TASKS):
        yield


@pytest.fixture
def story(db):
    story = make_story(storyteller=make_storyteller(original_language="en"), original_language="en")
    Part.objects.create(
        story=story,
        number=1,
        title_en="The first winter",
        body_en="An invented English original.",
        summary_en="What happened.",
        status=Part.Status.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(days=1),
    )
    return story


def translated_file(story, title="첫 겨울") -> SimpleUploadedFile:
    entries = polib.pofile(po.story_export(story=story, language="ko"))
    for entry in entries:
        if entry.msgctxt.endswith(":title") and "part" in entry.msgctxt:
            entry.msgstr = title
    return SimpleUploadedFile("story.po", str(entries).encode(), content_type="text/x-gettext-translation")


def import_file(client, story, upload, interface="en"):
    return client.post(f"/{interface}/translate/ko/stories/{story.slug}/import/", {"file": upload}, follow=True)


def drafts():
    return Translation.objects.filter(status=Translation.Status.DRAFT, content_type__model="part")


def test_an_import_is_queued_answered_at_once_and_its_outcome_shown_once(client, translator, story, queued):
    client.force_login(translator)
    page = import_file(client, story, translated_file(story)).content.decode()
    assert f"The file for “{story}” is being imported as drafts. Reload this page to see the result." in page
    assert not drafts().exists()
    job = PoImport.objects.get()
    assert job.status == PoImport.Status.WAITING and job.content
    assert DBTaskResult.objects.get().args_kwargs["args"] == [job.pk]

    work()

    job.refresh_from_db()
    assert job.status == PoImport.Status.DONE and job.content == ""  # the file is not kept
    assert drafts().get().draft["title"] == "첫 겨울"
    page = client.get(QUEUE.format(interface="en")).content.decode()
    assert "Imported as drafts: Part 1." in page
    assert "Imported as drafts" not in client.get(QUEUE.format(interface="en")).content.decode()


def test_a_refused_file_tells_why_in_the_translators_language(client, translator, story, queued):
    client.force_login(translator)
    upload = translated_file(story)
    Part.objects.filter(story=story).update(body_en="The original changed after export.")
    import_file(client, story, upload, interface="ko")
    work()
    assert PoImport.objects.get().status == PoImport.Status.REFUSED
    page = client.get(QUEUE.format(interface="ko")).content.decode()
    refused = PoImport.objects.get().outcome["messages"]
    assert refused and all(message in page for message in refused)
    assert "Part 1" not in refused[0] and refused[0] != "The original text changed after this file was exported."
    assert not drafts().exists()


def test_a_file_that_is_no_po_file_is_refused_at_once(client, translator, story, queued):
    client.force_login(translator)
    upload = SimpleUploadedFile("story.po", b"\xff\xfe not text", content_type="text/x-gettext-translation")
    page = import_file(client, story, upload).content.decode()
    assert "The file is not UTF-8 text." in page
    assert not PoImport.objects.exists() and not DBTaskResult.objects.exists()


def test_an_import_whose_task_failed_says_so(client, translator, story, queued, monkeypatch):
    client.force_login(translator)
    import_file(client, story, translated_file(story))

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(po, "story_import", broken)
    work()
    assert PoImport.objects.get().status == PoImport.Status.FAILED
    assert (
        f"The file for “{story}” could not be imported. Please import it again."
        in client.get(QUEUE.format(interface="en")).content.decode()
    )


def test_without_a_queue_the_outcome_is_shown_on_the_next_page_as_before(client, translator, story):
    client.force_login(translator)
    page = import_file(client, story, translated_file(story)).content.decode()
    assert "Imported as drafts: Part 1." in page
    assert "being imported" not in page
    assert tasks.apply_po_import  # run at once by the immediate backend
    assert PoImport.objects.get().reported_at is not None
