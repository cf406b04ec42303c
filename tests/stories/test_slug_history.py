"""A published story's address changes: the editor is warned, and the old address redirects permanently."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stories import services
from stories.models import Story, StorySlugHistory
from tests.conftest import make_part, make_story
from tests.stories.test_back_office import admin_url, open_form


def rename(story: Story, slug: str) -> Story:
    story.refresh_from_db()
    story.slug = slug
    return services.story_save(story=story)


@pytest.fixture
def serial(story):
    make_part(story=story)
    make_part(story=story)
    return story


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_old_addresses_redirect_permanently_to_the_new_ones(client, serial, language):
    old = serial.slug
    rename(serial, "river-in-winter")
    assert StorySlugHistory.objects.get(slug=old).story == serial
    response = client.get(f"/{language}/stories/{old}/")
    assert response.status_code == 301
    assert response["Location"] == f"/{language}/stories/river-in-winter/"
    response = client.get(f"/{language}/stories/{old}/part-2/")
    assert response.status_code == 301
    assert response["Location"] == f"/{language}/stories/river-in-winter/part-2/"
    assert client.get(response["Location"]).status_code == 200


def test_a_single_pieces_old_address_leads_to_the_piece(client, storyteller):
    piece = make_story(storyteller=storyteller, kind=Story.Kind.SINGLE)
    make_part(story=piece, number=1)
    old = piece.slug
    rename(piece, "meet-someone")
    assert client.get(f"/en/stories/{old}/")["Location"] == "/en/stories/meet-someone/"
    assert client.get(f"/en/stories/{old}/part-1/")["Location"] == "/en/stories/meet-someone/"


def test_a_renamed_story_renamed_again_keeps_every_old_address(client, serial):
    first = serial.slug
    rename(serial, "second-name")
    rename(serial, "third-name")
    for old in (first, "second-name"):
        assert client.get(f"/en/stories/{old}/")["Location"] == "/en/stories/third-name/"
    # Back to an old name: that address is the story's own again, not a redirect.
    rename(serial, first)
    assert not StorySlugHistory.objects.filter(slug=first).exists()
    assert client.get(f"/en/stories/{first}/").status_code == 200
    assert client.get("/en/stories/third-name/")["Location"] == f"/en/stories/{first}/"


def test_a_withdrawn_storys_old_address_is_the_plain_404(client, serial):
    old = serial.slug
    rename(serial, "new-address")
    assert client.get(f"/en/stories/{old}/").status_code == 301
    services.consent_withdraw(storyteller=serial.storyteller, reason="Asked to stop.", recorded_by=None)
    for url in (f"/en/stories/{old}/", f"/ko/stories/{old}/", f"/en/stories/{old}/part-1/", "/en/stories/new-address/"):
        assert client.get(url).status_code == 404, url


def test_an_unpublished_storys_old_address_is_not_redirected(client, serial):
    old = serial.slug
    rename(serial, "new-address")
    serial.refresh_from_db()
    for part in serial.parts.all():
        services.part_set_status(part=part, status="archived")
    assert client.get(f"/en/stories/{old}/").status_code == 404


def test_a_draft_that_was_never_published_keeps_no_old_address(storyteller):
    draft = make_story(storyteller=storyteller, status=Story.Status.DRAFT)
    rename(draft, "better-name")
    assert not StorySlugHistory.objects.exists()


def test_the_lookup_happens_only_on_the_missing_path_and_costs_one_query(client, serial, django_assert_max_num_queries):
    rename(serial, "new-address")
    with CaptureQueriesContext(connection) as found:
        client.get("/en/stories/new-address/", HTTP_CACHE_CONTROL="no-cache")
    assert not any("stories_storyslughistory" in query["sql"] for query in found.captured_queries)
    with CaptureQueriesContext(connection) as missing:
        client.get("/en/stories/no-such-story/")
    with CaptureQueriesContext(connection) as moved:
        client.get(f"/en/stories/{'story-' + str(serial.pk)}/")
    assert sum("stories_storyslughistory" in query["sql"] for query in moved.captured_queries) == 1
    assert len(moved) <= len(missing)


def test_the_admin_warns_before_changing_a_published_address(client, serial, editor):
    client.force_login(editor)
    url = admin_url("story", "change", serial.pk)
    form = open_form(client, url)
    old = serial.slug
    response = form.post(client, slug="renamed-in-admin")
    assert response.status_code == 200
    html = response.content.decode()
    assert "readers have links to its address" in html
    serial.refresh_from_db()
    assert serial.slug == old
    assert not StorySlugHistory.objects.exists()

    form = open_form(client, url)
    response = form.post(client, slug="renamed-in-admin", confirm_slug_change="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    serial.refresh_from_db()
    assert serial.slug == "renamed-in-admin"
    assert StorySlugHistory.objects.get(slug=old).story == serial


def test_the_admin_does_not_ask_about_a_draft(client, storyteller, editor):
    draft = make_story(storyteller=storyteller, status=Story.Status.DRAFT)
    client.force_login(editor)
    url = admin_url("story", "change", draft.pk)
    response = open_form(client, url).post(client, slug="draft-renamed")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.slug == "draft-renamed"


def test_the_confirmation_sits_under_the_address(client, serial, editor):
    client.force_login(editor)
    html = client.get(admin_url("story", "change", serial.pk)).content.decode()
    slug, confirm, kind = html.find('name="slug"'), html.find('name="confirm_slug_change"'), html.find('name="kind"')
    assert -1 < slug < confirm < kind
