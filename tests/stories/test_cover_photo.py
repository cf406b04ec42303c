"""A story's cover photo: one of its own cleaned photos, shown on cards, lists, its page and as the share
image only while readers may see that photo; a designed text card otherwise; constant query counts; and
set by the editor in the back office, with a clear error for a bad upload."""

import datetime
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from stories import services
from stories.models import Consent, Story, StoryImage
from tests.advocacy.conftest import make_campaign
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_back_office import admin_url, form_errors, open_form
from tests.stories.test_images import encode, fetch, make_image, noise, upload
from tests.stories.test_social_cards import card

pytestmark = pytest.mark.usefixtures("in_english")

COVER_URL = re.compile(r"/(?:en|ko)/photos/([0-9a-f]{32})/\d+\.(?:webp|jpg)")


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


def with_cover(story: Story, **image_fields) -> StoryImage:
    """Give the story a cover: a cleaned photo of its first part, made its cover as the editor would."""
    part = story.parts.order_by("number").first() or make_part(story=story)
    image = make_image(part, encode(noise(1800, 1200), "JPEG"), **image_fields)
    assert image.rendition_key, "the photo was rendered"
    story.cover = image
    services.story_save(story=story)
    return image


def cover_keys(html: str) -> set[str]:
    return set(COVER_URL.findall(html))


@pytest.fixture
def covered(db):
    """A featured serial in progress with a cover of nobody identifiable, in a campaign."""
    story = make_story(is_featured=False, is_complete=False)
    make_part(story=story)
    image = with_cover(story)
    return story, image


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_cover_is_on_every_card_list_and_page_and_is_the_share_image(client, covered, language):
    story, image = covered
    part = story.parts.get()
    campaign = make_campaign(stories=[story])
    for url in (f"/{language}/", f"/{language}/stories/", url_in(story, language), url_in(campaign, language)):
        html = client.get(url).content.decode()
        assert image.rendition_key in cover_keys(html), url
        assert 'class="cover cover--text' not in html or url == url_in(story, language), url
    # The home page shows it on the story's card (in progress) and on its newest part's card.
    home = client.get(f"/{language}/").content.decode()
    cards = re.findall(r'<article class="(story-card|part-card)">(.*?)</article>', home, re.S)
    assert {kind for kind, body in cards if f"/{language}/photos/{image.rendition_key}/" in body} == {
        "story-card",
        "part-card",
    }
    # The story's page describes it with the photo's alt text in the reader's language.
    page = client.get(url_in(story, language)).content.decode()
    alt = image.alt_text_ko if language == "ko" else image.alt_text_en
    assert f'alt="{alt}"' in page
    # The share card names the largest JPEG rendition, on the configured site, and it is served by us.
    meta, [data], _html = card(client, url_in(part, language))
    path = f"/{language}/photos/{image.rendition_key}/1600.jpg"
    assert meta["og:image"] == meta["twitter:image"] == data["image"] == f"{settings.SITE_URL}{path}"
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1600", "1067")
    assert meta["og:image:type"] == "image/jpeg" and meta["og:image:alt"] == alt
    assert fetch(client, path)[:3] == b"\xff\xd8\xff"
    story_meta, _blocks, _html = card(client, url_in(story, language))
    assert story_meta["og:image"] == meta["og:image"]


def test_without_a_cover_cards_are_designed_text_cards_never_a_picture_from_elsewhere(client, db):
    story = make_story(is_complete=False, title_en="A Letter Home")
    make_part(story=story)
    for url in ("/en/", "/en/stories/"):
        html = client.get(url).content.decode()
        assert '<div class="cover cover--text cover--card" aria-hidden="true">' in html
        assert 'class="cover__title">A Letter Home</span>' in html
        assert not cover_keys(html)
        # Every image on a reader's page is one of ours.
        assert all(src.startswith("/") for src in re.findall(r'<img[^>]+src="([^"]+)"', html))


def test_a_photo_of_someone_identifiable_is_a_cover_only_while_consent_covers_photos(client, db):
    teller = make_storyteller(consent={"covers_photos": False})
    story = make_story(storyteller=teller, is_complete=False)
    make_part(story=story)
    image = with_cover(story, shows_identifiable_person=True)
    for url in ("/en/", "/en/stories/", url_in(story, "en")):
        assert image.rendition_key not in client.get(url).content.decode(), url
    meta, _blocks, _html = card(client, url_in(story.parts.get(), "en"))
    assert meta["og:image"].endswith("/static/img/share-default.png")


def test_removing_consent_to_photos_hides_the_cover_at_the_next_request(client, db):
    teller = make_storyteller(consent={"covers_photos": True})
    story = make_story(storyteller=teller, is_complete=False)
    make_part(story=story)
    image = with_cover(story, shows_identifiable_person=True)
    pages = ("/en/", "/ko/stories/", url_in(story, "en"), url_in(story.parts.get(), "ko"))
    photo = f"/en/photos/{image.rendition_key}/960.jpg"
    # Read once, so that the page cache holds every page with the cover.
    for url in pages:
        assert image.rendition_key in client.get(url).content.decode(), url
    assert client.get(photo).status_code == 200
    services.consent_record(
        storyteller=teller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=365),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
        covers_photos=False,
        covers_advocacy=True,
    )
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert image.rendition_key not in response.content.decode(), url
    assert client.get(photo).status_code == 404


def test_a_withdrawal_hides_the_cover_everywhere_at_the_next_request(client, covered):
    story, image = covered
    campaign = make_campaign(stories=[story])
    pages = ("/en/", "/ko/", "/en/stories/", url_in(campaign, "en"))
    for url in pages:
        assert image.rendition_key in client.get(url).content.decode(), url
    services.consent_withdraw(storyteller=story.storyteller, reason="Asked to stop", recorded_by=None)
    for url in pages:
        assert image.rendition_key not in client.get(url).content.decode(), url
    assert client.get(url_in(story, "en")).status_code == 404
    assert client.get(f"/en/photos/{image.rendition_key}/960.jpg").status_code == 404


def test_a_cover_must_be_one_of_the_storys_own_photos(covered):
    story, _image = covered
    other = make_story()
    make_part(story=other)
    foreign = with_cover(other)
    story.cover = foreign
    with pytest.raises(ValidationError) as refused:
        services.story_save(story=story)
    assert "cover" in refused.value.message_dict


def _home_and_index_queries(client, django_assert_max_num_queries, budgets: dict[str, int] | None):
    counts = {}
    for url in ("/en/", "/en/stories/", "/ko/", "/ko/stories/"):
        with django_assert_max_num_queries(budgets[url] if budgets else 100) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured)
    return counts


def test_covers_cost_no_query_however_many_stories_have_one(client, db, django_assert_max_num_queries, settings):
    # Pages are counted as rendered, not served from the page cache.
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    story = make_story(is_complete=False, is_featured=True)
    make_part(story=story)
    with_cover(story)
    one = _home_and_index_queries(client, django_assert_max_num_queries, None)
    for n in range(8):
        story = make_story(is_complete=False)
        make_part(story=story)
        if n % 2:
            with_cover(story)
    # Each of the many stories on these pages, with or without a cover: the counts of one story.
    _home_and_index_queries(client, django_assert_max_num_queries, one)
    html = client.get("/en/stories/").content.decode()
    assert len(cover_keys(html)) == 5


# --- The back office ------------------------------------------------------------------------------


def test_the_editor_picks_a_cover_from_the_storys_photos(client, editor, covered):
    story, image = covered
    second = make_image(story.parts.get(), encode(noise(900, 600, seed=3), "JPEG"))
    client.force_login(editor)
    url = admin_url("story", "change", story.pk)
    form = open_form(client, url)
    response = client.get(url)
    choices = [value for value, _label in response.context["adminform"].form.fields["cover"].choices if value]
    assert {int(str(value)) for value in choices} == {image.pk, second.pk}
    form.data["cover"] = str(second.pk)
    response = client.post(url, form.data)
    assert response.status_code == 302, form_errors(response)
    story.refresh_from_db()
    assert story.cover_id == second.pk


def test_a_photo_of_another_story_cannot_be_picked(client, editor, covered):
    story, image = covered
    other = make_story()
    make_part(story=other)
    foreign = make_image(other.parts.get(), encode(noise(900, 600), "JPEG"))
    client.force_login(editor)
    url = admin_url("story", "change", story.pk)
    form = open_form(client, url)
    form.data["cover"] = str(foreign.pk)
    response = client.post(url, form.data)
    assert response.status_code == 200
    assert "cover" in form_errors(response)["form"]
    story.refresh_from_db()
    assert story.cover_id == image.pk


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "Upload a photo in JPEG, PNG or WebP format."),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "This image file is damaged or incomplete."),
        (b"", "The submitted file is empty."),
    ],
)
def test_a_bad_cover_upload_gets_a_clear_error_and_nothing_is_saved(client, editor, covered, data, message):
    story, image = covered
    client.force_login(editor)
    url = admin_url("story", "change", story.pk)
    form = open_form(client, url)
    form.data["title_en"] = "A title that must not be saved"
    photos = StoryImage.objects.count()
    response = client.post(url, {**form.data, "cover_upload": upload(data), "cover_alt_text": "A field at dusk."})
    assert response.status_code == 200
    errors = form_errors(response)["form"]
    assert any(message in error for error in errors["cover_upload"]), errors
    assert message in response.content.decode()
    story.refresh_from_db()
    assert StoryImage.objects.count() == photos
    assert story.cover_id == image.pk and story.title_en != "A title that must not be saved"


def test_a_cover_upload_needs_its_alt_text(client, editor, covered):
    story, _image = covered
    client.force_login(editor)
    url = admin_url("story", "change", story.pk)
    form = open_form(client, url)
    photos = StoryImage.objects.count()
    response = client.post(url, {**form.data, "cover_upload": upload(encode(noise(900, 600), "JPEG"))})
    assert response.status_code == 200
    assert "cover_alt_text" in form_errors(response)["form"]
    assert StoryImage.objects.count() == photos


def test_a_good_cover_upload_is_cleaned_added_to_part_one_and_made_the_cover(client, editor, covered):
    story, _image = covered
    client.force_login(editor)
    url = admin_url("story", "change", story.pk)
    form = open_form(client, url)
    response = client.post(
        url,
        {
            **form.data,
            "cover_upload": upload(encode(noise(1200, 800, seed=11), "JPEG")),
            "cover_alt_text": "An empty road between fields.",
            "cover_shows_identifiable_person": "",
        },
    )
    assert response.status_code == 302, form_errors(response)
    story.refresh_from_db()
    cover = story.cover
    assert cover.part.number == 1 and cover.part.story_id == story.pk
    assert cover.alt_text_en == "An empty road between fields." and not cover.shows_identifiable_person
    assert cover.rendition_key and cover.processing == StoryImage.Processing.READY
    # Shown in the original language at once; in Korean once its alt text is translated and approved.
    assert cover.rendition_key in client.get("/en/stories/").content.decode()
    assert cover.rendition_key not in client.get("/ko/stories/").content.decode()
