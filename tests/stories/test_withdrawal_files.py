"""A withdrawal reaches the files: a storyteller's photos, originals and renditions, are deleted from
storage once it commits, a store that refuses is recorded and retried, and no old photo URL comes back."""

import datetime
import io
import logging

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from stories import services
from stories.models import Consent, FileDeletion, StoryImage
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_images import encode, fetch, make_image, noise, page_html, private_files, rendition_urls

# Korean pages activate Korean for the thread: every test here starts, and leaves, in English.
pytestmark = pytest.mark.usefixtures("in_english")


def give_consent_again(storyteller) -> None:
    services.consent_record(
        storyteller=storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=200),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
        covers_photos=True,
    )


def withdraw(storyteller) -> None:
    services.consent_withdraw(storyteller=storyteller, reason="Asked to take everything down.", recorded_by=None)


def test_a_withdrawal_deletes_every_original_and_rendition_once_it_commits(
    client, photo_part, django_capture_on_commit_callbacks
):
    storyteller = photo_part.story.storyteller
    before = private_files()
    first = make_image(photo_part, encode(noise(700, 500), "JPEG"), shows_identifiable_person=True)
    second = make_image(make_part(story=photo_part.story), encode(noise(500, 300), "PNG"))
    other = make_image(
        make_part(story=make_story(storyteller=make_storyteller(consent={"covers_photos": True}))),
        encode(noise(500, 300), "WEBP"),
    )
    theirs = set()
    for image in (first, second):
        theirs |= {image.original.name, *(item["name"] for item in image.renditions["items"])}
    assert theirs <= private_files()

    with django_capture_on_commit_callbacks() as callbacks:
        withdraw(storyteller)
        # Until the withdrawal commits, the files stay: a rollback must not leave photos without files.
        assert theirs <= private_files()
    assert set(FileDeletion.objects.values_list("name", flat=True)) == theirs
    for callback in callbacks:
        callback()

    assert private_files() == before | {other.original.name, *(item["name"] for item in other.renditions["items"])}
    assert not FileDeletion.objects.exists()
    assert list(StoryImage.objects.filter(part__story__storyteller=storyteller)) == []
    assert StoryImage.objects.filter(pk=other.pk).exists()


def test_after_consent_is_given_again_old_photo_urls_never_answer_and_a_new_upload_gets_new_names(
    client, photo_part, django_capture_on_commit_callbacks
):
    storyteller = photo_part.story.storyteller
    image = make_image(photo_part, encode(noise(700, 500), "JPEG"))
    old_urls = []
    for language in ("en", "ko"):
        old_urls += rendition_urls(page_html(client, photo_part, language))
    for url in old_urls:
        fetch(client, url)
    old_names = {image.original.name, *(item["name"] for item in image.renditions["items"])}

    with django_capture_on_commit_callbacks(execute=True):
        withdraw(storyteller)
    with django_capture_on_commit_callbacks(execute=True):
        give_consent_again(storyteller)

    # The part is public again, in both languages, without its photo: it needs a fresh upload.
    for language in ("en", "ko"):
        assert rendition_urls(page_html(client, photo_part, language)) == []
    for url in old_urls:
        assert client.get(url).status_code == 404, url

    fresh = make_image(photo_part, encode(noise(700, 500), "JPEG"))
    new_urls = rendition_urls(page_html(client, photo_part))
    assert new_urls and not set(new_urls) & set(old_urls)
    assert fresh.rendition_key != image.rendition_key
    assert not {fresh.original.name, *(item["name"] for item in fresh.renditions["items"])} & old_names
    for url in old_urls:
        assert client.get(url).status_code == 404, url


def test_a_store_that_refuses_to_delete_keeps_the_withdrawal_and_is_retried_and_reported_by_privacy_audit(
    client, photo_part, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    storyteller = photo_part.story.storyteller
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    names = {image.original.name, *(item["name"] for item in image.renditions["items"])}
    url = rendition_urls(page_html(client, photo_part))[0]

    def refuse(self, name):
        raise PermissionError(13, "Permission denied", name)

    with monkeypatch.context() as patch:
        patch.setattr(FileSystemStorage, "delete", refuse)
        with (
            caplog.at_level(logging.WARNING, logger="stories.files"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            withdraw(storyteller)
        # The withdrawal stands; the files are still there, recorded, and the failure was logged.
        assert storyteller.effective_consent().decision == Consent.Decision.WITHDRAWN
        assert client.get(url).status_code == 404
        assert names <= private_files()
        assert set(FileDeletion.objects.values_list("name", flat=True)) == names
        assert set(FileDeletion.objects.values_list("attempts", flat=True)) == {1}
        assert "PermissionError" in FileDeletion.objects.first().last_error
        assert any(record.levelno == logging.ERROR for record in caplog.records)
        # The scheduled audit tries again and reports, with a failing exit status, while the store refuses.
        with pytest.raises(CommandError, match="could not be deleted"):
            call_command("privacy_audit", stdout=(out := io.StringIO()))
        assert f"FOUND {len(names)} stored file(s)" in out.getvalue()
        assert set(FileDeletion.objects.values_list("attempts", flat=True)) == {2}

    call_command("privacy_audit", stdout=io.StringIO())
    assert not names & private_files()
    assert not FileDeletion.objects.exists()


def test_files_recorded_by_a_withdrawal_whose_process_died_before_deleting_them_are_deleted_by_privacy_audit(
    photo_part, django_capture_on_commit_callbacks
):
    image = make_image(photo_part, encode(noise(600, 400), "PNG"))
    names = {image.original.name, *(item["name"] for item in image.renditions["items"])}
    with django_capture_on_commit_callbacks(execute=False):
        withdraw(photo_part.story.storyteller)
    assert names <= private_files()
    call_command("privacy_audit", stdout=io.StringIO())
    assert not names & private_files()
    assert not FileDeletion.objects.exists()


def test_a_withdrawal_that_rolls_back_deletes_nothing(photo_part, django_capture_on_commit_callbacks):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    names = {image.original.name, *(item["name"] for item in image.renditions["items"])}
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        withdraw(photo_part.story.storyteller)
        raise RuntimeError("something after the withdrawal failed")
    assert callbacks == []
    assert names <= private_files()
    assert StoryImage.objects.filter(pk=image.pk).exists()
    assert not FileDeletion.objects.exists()
