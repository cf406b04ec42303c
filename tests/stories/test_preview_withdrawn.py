"""Staff previews follow consent too: nothing of a storyteller who withdrew is previewed, in any language."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from stories import services
from stories.models import Consent, Part
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_images import encode, make_image, noise


def preview_url(part: Part, language: str) -> str:
    with translation.override(language):
        return reverse("stories:part-preview", kwargs={"pk": part.pk})


@pytest.fixture
def draft(db):
    storyteller = make_storyteller(consent={"covers_photos": True})
    return make_part(story=make_story(storyteller=storyteller), status=Part.Status.DRAFT, published_at=None)


@pytest.mark.parametrize("role", ["editor", "translator", "consent_officer"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_nobody_previews_the_parts_of_a_storyteller_who_withdrew(client, request, draft, role, language):
    client.force_login(request.getfixturevalue(role))
    assert client.get(preview_url(draft, language)).status_code == 200

    services.consent_withdraw(storyteller=draft.story.storyteller, reason="Asked to be taken down.", recorded_by=None)

    response = client.get(preview_url(draft, language))
    assert response.status_code == 404
    assert draft.title_en not in response.content.decode()
    assert draft.title_ko not in response.content.decode()


def test_the_published_parts_of_a_storyteller_who_withdrew_are_not_previewed_either(client, editor, draft):
    published = make_part(story=draft.story)
    client.force_login(editor)
    services.consent_withdraw(storyteller=draft.story.storyteller, reason="Withdrawn.", recorded_by=None)

    assert client.get(preview_url(published, "en")).status_code == 404


def test_consent_given_again_after_a_withdrawal_brings_the_preview_back(client, editor, draft):
    client.force_login(editor)
    storyteller = draft.story.storyteller
    services.consent_withdraw(storyteller=storyteller, reason="Withdrawn.", recorded_by=None)
    assert client.get(preview_url(draft, "en")).status_code == 404

    services.consent_record(
        storyteller=storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=365),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
    )

    assert client.get(preview_url(draft, "en")).status_code == 200


def test_a_consent_past_its_review_date_still_lets_staff_preview(client, editor, db):
    # Only a withdrawal stops work on a story; a lapsed review hides it from readers, not from its editors.
    storyteller = make_storyteller(consent={"review_by": timezone.localdate() - datetime.timedelta(days=1)})
    part = make_part(story=make_story(storyteller=storyteller))
    client.force_login(editor)

    assert client.get(preview_url(part, "en")).status_code == 200


def test_staff_get_no_photo_of_a_storyteller_who_withdrew(client, editor, draft):
    image = make_image(draft, encode(noise(600, 400), "JPEG"))
    url = f"/en/photos/{image.rendition_key}/480.jpg"
    client.force_login(editor)
    assert client.get(url).status_code == 200

    services.consent_withdraw(storyteller=draft.story.storyteller, reason="Withdrawn.", recorded_by=None)

    assert client.get(url).status_code == 404
