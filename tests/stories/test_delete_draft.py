"""Editors delete a part created by mistake, only while it is a draft that was never published."""

import pytest
from django.core.exceptions import ValidationError

from stories import audit, services
from stories.models import Part
from tests.conftest import make_part
from tests.stories.test_back_office import admin_url


@pytest.fixture
def draft(story):
    return make_part(story=story, status=Part.Status.DRAFT, published_at=None, title_en="Pasted twice by mistake")


def test_an_editor_deletes_a_draft_that_was_never_published(client, editor, draft):
    client.force_login(editor)
    change = client.get(admin_url("part", "change", draft.pk)).content.decode()
    assert admin_url("part", "delete", draft.pk) in change
    assert client.get(admin_url("part", "delete", draft.pk)).status_code == 200
    response = client.post(admin_url("part", "delete", draft.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Part.objects.filter(pk=draft.pk).exists()
    # The trail keeps the part's creation and names who deleted it.
    entries = [entry for entry in audit.audit_entries() if entry.model == "part" and entry.object_id == draft.pk]
    actions = {entry.action for entry in entries}
    assert {"created", "deleted"} <= actions
    assert any(entry.action == "deleted" and entry.who == editor.get_username() for entry in entries)


@pytest.mark.parametrize("status", [Part.Status.PUBLISHED, Part.Status.ARCHIVED])
def test_a_published_or_archived_part_cannot_be_deleted(client, editor, story, status):
    part = make_part(story=story)
    if status == Part.Status.ARCHIVED:
        services.part_set_status(part=part, status=status)
    client.force_login(editor)
    assert admin_url("part", "delete", part.pk) not in client.get(admin_url("part", "change", part.pk)).content.decode()
    assert client.post(admin_url("part", "delete", part.pk), {"post": "yes"}).status_code == 403
    assert Part.objects.filter(pk=part.pk).exists()


def test_a_part_once_published_then_set_back_to_draft_stays(client, editor, story):
    part = make_part(story=story)
    services.part_set_status(part=part, status=Part.Status.DRAFT)
    part.refresh_from_db()
    assert part.status == Part.Status.DRAFT
    assert not services.part_may_be_deleted(part)
    client.force_login(editor)
    assert client.post(admin_url("part", "delete", part.pk), {"post": "yes"}).status_code == 403
    with pytest.raises(ValidationError):
        services.part_delete_draft(part=part, deleted_by=editor)
    assert Part.objects.filter(pk=part.pk).exists()


def test_parts_are_not_deleted_in_bulk_nor_from_the_storys_page(client, editor, draft):
    client.force_login(editor)
    changelist = client.get(admin_url("part", "changelist")).content.decode()
    assert 'value="delete_selected"' not in changelist
    story_page = client.get(admin_url("story", "change", draft.story.pk)).content.decode()
    assert 'name="parts-0-DELETE"' not in story_page


def test_a_translator_cannot_delete_a_draft(client, draft):
    from tests.conftest import make_staff

    client.force_login(make_staff("Translators"))
    assert client.post(admin_url("part", "delete", draft.pk), {"post": "yes"}).status_code == 403
    assert Part.objects.filter(pk=draft.pk).exists()
