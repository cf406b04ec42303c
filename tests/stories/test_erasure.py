"""Erasure: a storyteller who asks to be forgotten leaves no word, no file and no identity behind, in any
table (the audit trail's history tables too), while the trail keeps who erased them and when."""

import contextlib
import json

import pytest
from cryptography.fernet import InvalidToken
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from stories import audit, services
from stories.fields import identity_cipher
from stories.models import ConsentEvidence, Part, Story, Storyteller
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_images import encode, make_image, noise, page_html, private_files, rendition_urls
from translations import services as translation_services
from translations.models import Translation

# Invented words that appear nowhere else: every place they were written must lose them.
WORDS = ("quillonvale", "퀼론베일", "marrowind", "드레스콧")


@pytest.fixture(autouse=True)
def _english_around_each_test():
    translation.activate("en")
    yield
    translation.activate("en")


def holds_their_words(value) -> bool:
    if isinstance(value, memoryview | bytes):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return False
    texts = [value]
    if value.startswith("gAAAAA"):  # an identity field's ciphertext: read it as the site can
        with contextlib.suppress(InvalidToken, ValueError):
            texts.append(identity_cipher().decrypt(value.encode()).decode())
    return any(word in text.lower() for text in texts for word in WORDS)


def rows_holding_their_words() -> list[tuple[str, tuple]]:
    """Every row, of every table in the database, in which any of the words appears."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (our own table names)
            found += [(table, row) for row in cursor.fetchall() if any(holds_their_words(value) for value in row)]
    return found


@pytest.fixture
def told(db, editor, translator):
    """A storyteller whose words are everywhere the archive keeps words, the way staff would have put them."""
    storyteller = make_storyteller(
        consent={"covers_photos": True, "note": "Agreed at the Quillonvale meeting."},
        identity={
            "legal_name": "Marrowind Tesk",
            "caseworker_notes": "Came through 드레스콧 in the spring.",
            "identifying_terms": "Marrowind\n드레스콧",
        },
        pseudonym_en="Quillonvale Sparrow",
        pseudonym_ko="퀼론베일 참새",
        bio_en="Grew up near Quillonvale.",
        bio_ko="퀼론베일 근처에서 자랐다.",
    )
    story = make_story(
        storyteller=storyteller,
        slug="quillonvale-road",
        title_en="The Quillonvale Road",
        title_ko="퀼론베일 길",
        summary_en="Leaving Quillonvale.",
        summary_ko="퀼론베일을 떠나며.",
    )
    part = make_part(story=story, body_en="We left Quillonvale at night.", body_ko="우리는 밤에 퀼론베일을 떠났다.")
    # Edited after publication, so the trail holds several versions of the words.
    part.title_en = "Night at Quillonvale"
    services.part_save(part=part, expected_version=part.version)
    services.part_save(part=part, expected_version=part.version)
    # A part an editor deleted long ago: it lives on only in the trail.
    gone = make_part(story=story, body_en="An early Quillonvale draft.")
    gone.delete()
    # A translator's draft of the Korean title.
    translation_services.translation_save_draft(
        obj=part, language="ko", text={"title": "퀼론베일의 밤", "summary": "", "body": "퀼론베일"}, by=translator
    )
    photo = make_image(
        part,
        encode(noise(600, 400), "JPEG"),
        alt_text_en="The Quillonvale river at dawn.",
        alt_text_ko="새벽의 퀼론베일 강.",
        caption_en="Quillonvale in spring.",
        caption_ko="봄의 퀼론베일.",
    )
    evidence = ConsentEvidence.objects.create(
        consent=storyteller.effective_consent(),
        file=ContentFile(b"Signed by Marrowind Tesk.", name="form.txt"),
        description="Form signed in Quillonvale",
    )
    # The back office's own log of changes names what it changed.
    for obj in (storyteller, story, part):
        LogEntry.objects.create(
            user=editor,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj),
            action_flag=CHANGE,
            change_message=json.dumps([{"changed": {"fields": ["Title"], "name": str(obj)}}]),
        )
    files = {evidence.file.name, photo.original.name, *(item["name"] for item in photo.renditions["items"])}
    return {"storyteller": storyteller, "story": story, "part": part, "photo": photo, "files": files}


def erase_through_the_back_office(client, officer, storyteller) -> None:
    client.force_login(officer)
    changelist = reverse("admin:stories_storyteller_changelist")
    chosen = {"action": "erase_selected", ACTION_CHECKBOX_NAME: [storyteller.pk]}
    page = client.post(changelist, chosen)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    unconfirmed = client.post(changelist, {**chosen, "erase": "yes"})
    assert unconfirmed.status_code == 200 and unconfirmed.context["form"].errors["confirm"]
    assert Storyteller.objects.filter(pk=storyteller.pk).exists()
    done = client.post(changelist, {**chosen, "erase": "yes", "confirm": "on"})
    assert done.status_code == 302


def test_erasure_leaves_no_word_file_or_identity_in_any_table_and_a_tombstone_in_the_trail(
    client, told, consent_officer, django_capture_on_commit_callbacks
):
    other = make_part(story=make_story(storyteller=make_storyteller(pseudonym_en="Ember Wren")))
    storyteller, story, part = told["storyteller"], told["story"], told["part"]
    urls = []
    for language in ("en", "ko"):
        urls += rendition_urls(page_html(client, part, language))
        with translation.override(language):
            urls += [story.get_absolute_url(), part.get_absolute_url()]
    assert rows_holding_their_words()  # the check finds them while they are there
    assert told["files"] <= private_files()
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        erase_through_the_back_office(client, consent_officer, storyteller)

    assert rows_holding_their_words() == []
    assert not told["files"] & private_files()
    client.logout()
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert "quillonvale" not in client.get("/en/feed/").content.decode().lower()
    # Nobody else's words went with theirs.
    assert page_html(client, other)
    assert Storyteller.objects.filter(pseudonym_en="Ember Wren").exists()

    # The tombstones: each erased object's last row says who erased it and when, and nothing else.
    tombstone = Storyteller.history.get(id=storyteller.pk, history_type="-")
    assert tombstone.history_user == consent_officer and tombstone.history_date >= before
    assert tombstone.history_change_reason == audit.ERASED
    assert (tombstone.pseudonym_en, tombstone.pseudonym_ko, tombstone.bio_en) == ("", "", "")
    assert Story.history.filter(id=story.pk, history_type="-", history_change_reason=audit.ERASED).exists()
    assert Part.history.filter(id=part.pk, history_change_reason=audit.ERASED).exists()
    erased = {(entry.model, entry.object_id) for entry in audit.audit_entries() if entry.action == audit.ERASED}
    assert ("storyteller", storyteller.pk) in erased and ("story", story.pk) in erased
    # Who changed what and when stays in the trail, without the words.
    assert Part.history.filter(id=part.pk).count() >= 4
    client.force_login(consent_officer)
    trail = client.get(reverse("admin:stories_consent_audit"))
    assert trail.status_code == 200 and "Erased" in trail.content.decode()
    export = client.get(reverse("admin:stories_consent_audit_export")).content.decode().lower()
    assert not any(word in export for word in WORDS)


def test_only_those_allowed_to_erase_see_or_run_the_action(client, storyteller, editor, translator):
    for user in (editor, translator):
        client.force_login(user)
        changelist = reverse("admin:stories_storyteller_changelist")
        assert "erase_selected" not in client.get(changelist).content.decode()
        client.post(
            changelist,
            {"action": "erase_selected", ACTION_CHECKBOX_NAME: [storyteller.pk], "erase": "yes", "confirm": "on"},
        )
        assert Storyteller.objects.filter(pk=storyteller.pk).exists()


def test_an_erasure_that_fails_part_way_erases_nothing(told, consent_officer, monkeypatch):
    storyteller = told["storyteller"]
    original = services._set_erasing

    def fail_after_deleting(on: bool) -> None:
        original(on)
        if on:
            raise DatabaseError("the database went away")

    monkeypatch.setattr(services, "_set_erasing", fail_after_deleting)
    with pytest.raises(DatabaseError), transaction.atomic():
        services.storyteller_erase(storyteller=storyteller, erased_by=consent_officer)
    assert Storyteller.objects.filter(pk=storyteller.pk).exists()
    assert told["part"].images.count() == 1
    assert Translation.objects.filter(object_id=told["part"].pk).exists()
    assert rows_holding_their_words()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's")
def test_outside_an_erasure_the_trail_stays_append_only(told, consent_officer):
    services.storyteller_erase(storyteller=told["storyteller"], erased_by=consent_officer)
    for change in (
        lambda: Part.history.filter(id=told["part"].pk).update(history_change_reason="rewritten"),
        lambda: Part.history.filter(id=told["part"].pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()


def test_a_withdrawn_storyteller_is_erased_with_the_reason_they_gave(
    told, consent_officer, django_capture_on_commit_callbacks
):
    storyteller = told["storyteller"]
    with django_capture_on_commit_callbacks(execute=True):
        services.consent_withdraw(storyteller=storyteller, reason="Quillonvale is too close.", recorded_by=None)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.storyteller_erase(storyteller=storyteller, erased_by=consent_officer)
    assert result.storyteller_id == storyteller.pk and result.consent_records == 2
    assert rows_holding_their_words() == []
    assert not told["files"] & private_files()


def test_a_story_that_was_theirs_and_now_is_someone_elses_stays_with_its_new_teller(
    client, told, consent_officer, django_capture_on_commit_callbacks
):
    other = make_storyteller(pseudonym_en="Ember Wren")
    moved = make_story(storyteller=told["storyteller"], title_en="The Ferry", slug="the-ferry")
    part = make_part(story=moved)
    moved.storyteller = other
    services.story_save(story=moved, expected_version=moved.version)
    with django_capture_on_commit_callbacks(execute=True):
        services.storyteller_erase(storyteller=told["storyteller"], erased_by=consent_officer)
    assert Story.objects.filter(pk=moved.pk, storyteller=other).exists()
    assert part.images.count() == 0 and Part.objects.filter(pk=part.pk).exists()
    assert "The Ferry" in page_html(client, part)
    # While it was theirs, its rows in the trail held what they told: those words are gone.
    assert rows_holding_their_words() == []
