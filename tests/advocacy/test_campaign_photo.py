"""A campaign's photo: cleaned from its pixels like a story photo, shown atop the page, offered as share image."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from advocacy import services
from advocacy.models import Campaign
from stories import images
from stories.models import FileDeletion
from tests.advocacy.conftest import make_campaign
from tests.conftest import make_staff
from tests.stories.test_back_office import form_errors, open_form
from tests.stories.test_images import SENTINEL, assert_clean, encode, jpeg_with_everything, noise, private_files

PHOTO_URL = re.compile(r"/(?:en|ko)/act/photos/[0-9a-f]{32}/\d+\.(?:webp|jpg)")
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def manager(db):
    return make_staff("Campaign managers")


def change_url(campaign: Campaign) -> str:
    return reverse("admin:advocacy_campaign_change", args=[campaign.pk])


def upload(data: bytes, name: str = "DSC_0042 secret place.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def post_photo(client, campaign: Campaign, data: bytes | None, **fields):
    form = open_form(client, change_url(campaign))
    changes = {
        "photo_alt_en": "People holding candles outside a building at night.",
        "photo_alt_ko": "밤에 건물 밖에서 촛불을 든 사람들.",
        "photo_caption_en": "A vigil for the families, in an invented city.",
        "photo_caption_ko": "가족들을 위한 촛불 모임, 지어낸 도시에서.",
        "photo_credit_en": "Invented Photographer",
        "photo_credit_ko": "지어낸 사진가",
        **fields,
    }
    if data is not None:
        changes["photo_upload"] = upload(data)
    return form.post(client, **changes)


def page(client, campaign: Campaign, language: str = "en") -> str:
    with translation.override(language):
        url = campaign.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def fetch(client, url: str):
    return client.get(url)


def test_an_uploaded_photo_is_rebuilt_from_its_pixels_and_shown_atop_the_page_in_each_language(client, manager):
    campaign = make_campaign()
    client.force_login(manager)
    response = post_photo(client, campaign, jpeg_with_everything(noise(1800, 1200)))
    assert response.status_code == 302, form_errors(response)
    campaign.refresh_from_db()
    assert campaign.photo and len(campaign.photo_key) == 32
    widths = sorted({item["width"] for item in campaign.photo_renditions})
    assert widths == [480, 960, 1600]
    # Stored privately under random names: nothing of the upload's name, nothing of its metadata.
    for item in campaign.photo_renditions:
        assert item["name"] in private_files()
        assert re.fullmatch(r"campaign-photos/[0-9a-f]{32}\.(webp|jpg)", item["name"])
    client.logout()

    english, korean = page(client, campaign, "en"), page(client, campaign, "ko")
    assert english.index("campaign__header") < english.index('class="campaign-photo"') < english.index("campaign__body")
    assert "A vigil for the families, in an invented city." in english and "Photo: Invented Photographer" in english
    assert 'alt="People holding candles outside a building at night."' in english
    assert "가족들을 위한 촛불 모임, 지어낸 도시에서." in korean and "A vigil for the families" not in korean
    assert 'alt="밤에 건물 밖에서 촛불을 든 사람들."' in korean
    assert "사진: 지어낸 사진가" in korean and "Invented Photographer" not in korean
    urls = sorted(set(PHOTO_URL.findall(english)))
    assert len(urls) == 6
    for url in urls:
        response = fetch(client, url)
        assert response.status_code == 200 and response["Cache-Control"] == "no-cache"
        data = b"".join(response.streaming_content)
        assert SENTINEL not in data
        assert_clean(data)


def test_the_share_image_is_the_largest_jpeg_on_the_configured_site(client, manager, settings):
    campaign = make_campaign()
    assert campaign.share_image_url() == ""
    client.force_login(manager)
    assert post_photo(client, campaign, encode(noise(2000, 1000), "PNG")).status_code == 302
    campaign.refresh_from_db()
    with translation.override("en"):
        url = campaign.share_image_url()
    assert url.startswith(settings.SITE_URL.rstrip("/") + "/en/act/photos/" + campaign.photo_key + "/1600.jpg")
    client.logout()
    response = client.get(url.removeprefix(settings.SITE_URL.rstrip("/")))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG, "SVG and other drawings in markup are not accepted. Export the image as PNG and upload that."),
        (b"GIF89a" + b"\x00" * 40, "Upload a photo in JPEG, PNG or WebP format."),
        (encode(noise(400, 300), "JPEG")[:300], "This image file is damaged or incomplete."),
    ],
)
def test_a_bad_upload_gets_a_clear_field_error_and_nothing_is_saved(client, manager, data, message):
    campaign = make_campaign(title_en="Before")
    client.force_login(manager)
    before = private_files()
    response = post_photo(client, campaign, data, title_en="After")
    assert response.status_code == 200
    assert any(error.startswith(message) for error in form_errors(response)["form"]["photo_upload"])
    campaign.refresh_from_db()
    assert campaign.title_en == "Before" and not campaign.photo
    assert private_files() == before


def test_a_photo_needs_alt_text_in_some_language(client, manager):
    campaign = make_campaign()
    client.force_login(manager)
    response = post_photo(client, campaign, encode(noise(600, 400), "JPEG"), photo_alt_en="", photo_alt_ko="")
    assert response.status_code == 200
    assert form_errors(response)["form"]["photo_alt_en"] == ["Describe the photo for readers who cannot see it."]
    assert not Campaign.objects.get(pk=campaign.pk).photo


def test_a_caption_missing_in_a_language_is_left_out_never_shown_in_another(client, manager):
    campaign = make_campaign()
    client.force_login(manager)
    response = post_photo(client, campaign, encode(noise(600, 400), "JPEG"), photo_caption_ko="", photo_alt_ko="")
    assert response.status_code == 302, form_errors(response)
    client.logout()
    korean = page(client, campaign, "ko")
    assert 'class="campaign-photo"' in korean
    assert "A vigil for the families" not in korean and "People holding candles" not in korean
    assert 'alt=""' in korean


def test_a_credit_missing_in_a_language_is_left_out_never_shown_in_another(client, manager):
    campaign = make_campaign()
    client.force_login(manager)
    response = post_photo(
        client, campaign, encode(noise(600, 400), "JPEG"), photo_caption_ko="", photo_credit_ko="", photo_alt_ko=""
    )
    assert response.status_code == 302, form_errors(response)
    campaign.refresh_from_db()
    assert campaign.photo_credit_en == "Invented Photographer" and not campaign.photo_credit_ko
    client.logout()
    assert "Photo: Invented Photographer" in page(client, campaign, "en")
    korean = page(client, campaign, "ko")
    assert 'class="campaign-photo"' in korean
    # Neither the English credit nor a label with nothing after it: no caption line at all.
    assert "Invented Photographer" not in korean and "campaign-photo__credit" not in korean
    assert "campaign-photo__caption" not in korean


def test_a_new_photo_or_its_removal_takes_the_old_files_away_once_saved(
    client, manager, django_capture_on_commit_callbacks
):
    campaign = make_campaign()
    client.force_login(manager)
    assert post_photo(client, campaign, encode(noise(800, 600), "JPEG")).status_code == 302
    campaign.refresh_from_db()
    first_key, first_files = campaign.photo_key, {item["name"] for item in campaign.photo_renditions}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_photo(client, campaign, encode(noise(900, 600, seed=3), "JPEG")).status_code == 302
    campaign.refresh_from_db()
    assert campaign.photo_key != first_key
    assert not first_files & private_files()
    client.logout()
    old_url = reverse("advocacy:campaign-photo", kwargs={"key": first_key, "width": 480, "extension": "jpg"})
    assert client.get(old_url).status_code == 404
    second_files = {item["name"] for item in campaign.photo_renditions}
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_photo(client, campaign, None, photo_remove="on")
    assert response.status_code == 302, form_errors(response)
    campaign.refresh_from_db()
    assert not campaign.photo and campaign.photo_key == ""
    assert not second_files & private_files()
    assert not FileDeletion.objects.filter(name__in=first_files | second_files).exists()


def test_readers_get_the_photo_only_while_the_campaign_is_live(client, manager):
    campaign = make_campaign()
    services.campaign_photo_set(campaign=campaign, prepared=images.render(encode(noise(600, 400), "JPEG")))
    item = campaign.photo_renditions[0]
    url = reverse(
        "advocacy:campaign-photo", kwargs={"key": campaign.photo_key, "width": item["width"], "extension": "jpg"}
    )
    assert client.get(url).status_code == 200
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DRAFT)
    assert client.get(url).status_code == 404
    # Staff who may change campaigns see it in the back office, never cached.
    client.force_login(manager)
    response = client.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert client.get(url.replace(".jpg", ".gif")).status_code == 404


def test_the_page_shows_an_edited_caption_at_the_next_request_through_the_page_cache(client, db, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 300
    campaign = make_campaign(photo_alt_en="A street.", photo_caption_en="First caption.")
    services.campaign_photo_set(campaign=campaign, prepared=images.render(encode(noise(600, 400), "JPEG")))
    assert "First caption." in page(client, campaign)
    campaign.photo_caption_en = "Second caption."
    campaign.save()
    html = page(client, campaign)
    assert "Second caption." in html and "First caption." not in html


def test_deleting_a_campaign_or_a_press_mention_deletes_its_image_files(db, django_capture_on_commit_callbacks):
    from advocacy.models import PressMention

    campaign = make_campaign()
    services.campaign_photo_set(campaign=campaign, prepared=images.render(encode(noise(600, 400), "JPEG")))
    mention = services.press_mention_save(
        mention=PressMention(name="Invented Gazette", link="https://gazette.example.org/", alt_text_en="Gazette"),
        prepared=images.render(encode(noise(300, 80), "PNG")),
    )
    names = {item["name"] for item in campaign.photo_renditions} | {item["name"] for item in mention.logo_renditions}
    assert names <= private_files()
    with django_capture_on_commit_callbacks(execute=True):
        campaign.delete()
        mention.delete()
    assert not names & private_files()
    assert not FileDeletion.objects.filter(name__in=names).exists()
