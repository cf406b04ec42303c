"""The site-wide "as seen in" strip: logos cleaned from their pixels, served by us, on the home and story pages."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from advocacy import services
from advocacy.models import PressMention
from stories import images
from tests.conftest import make_part, make_staff, make_story, make_storyteller
from tests.stories.test_back_office import form_errors, open_form
from tests.stories.test_images import assert_clean, encode, noise, private_files

LOGO_URL = re.compile(r"/(?:en|ko)/press/[0-9a-f]{32}/\d+\.(?:webp|jpg)")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><script>alert(1)</script></svg>'


def logo_png(width: int = 320, height: int = 80) -> bytes:
    """A transparent PNG with a dark mark on it, like an outlet's logo."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    for x in range(20, width - 20):
        for y in range(20, height - 20):
            image.putpixel((x, y), (20, 40, 90, 255))
    return encode(image, "PNG")


def make_mention(name: str = "The Invented Herald", **fields) -> PressMention:
    defaults = {
        "link": "https://herald.example.org/report",
        "alt_text_en": f"{name} logo",
        "alt_text_ko": "지어낸 신문 로고",
    }
    defaults.update(fields)
    return services.press_mention_save(mention=PressMention(name=name, **defaults), prepared=images.render(logo_png()))


def public_part():
    return make_part(story=make_story(storyteller=make_storyteller()))


def html_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


def strip_of(html: str) -> str:
    start = html.index('<aside class="press-strip"')
    return html[start : html.index("</aside>", start)]


def test_the_strip_is_on_the_home_story_and_part_pages_with_alt_text_in_each_language(client, db):
    part = public_part()
    make_mention()
    for language, title, alt in [
        ("en", "As seen in", "The Invented Herald logo"),
        ("ko", "언론 보도", "지어낸 신문 로고"),
    ]:
        for url in [f"/{language}/", url_in(part.story, language), url_in(part, language)]:
            strip = strip_of(html_of(client, url))
            assert title in strip and f'alt="{alt}"' in strip
            assert 'href="https://herald.example.org/report"' in strip
            # Logos come from our own origin only.
            assert len(set(LOGO_URL.findall(strip))) >= 2
            assert "herald.example.org/" not in strip.split('href="https://herald.example.org/report"', 1)[1]


def test_a_logo_without_alt_text_in_the_language_reads_as_the_outlets_name_never_another_languages_text(client, db):
    make_mention(name="Invented Weekly", alt_text_ko="")
    strip = strip_of(html_of(client, "/ko/"))
    assert 'alt="Invented Weekly"' in strip and "Invented Weekly logo" not in strip


def test_logos_are_rebuilt_from_their_pixels_served_by_us_and_only_while_shown(client, db):
    mention = make_mention()
    assert {item["name"] for item in mention.logo_renditions} <= private_files()
    urls = sorted(set(LOGO_URL.findall(html_of(client, "/en/"))))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex, noimageindex"
        data = b"".join(response.streaming_content)
        assert_clean(data)
        # The transparent background was laid on white.
        assert Image.open(__import__("io").BytesIO(data)).convert("RGB").getpixel((2, 2)) > (240, 240, 240)
    mention.is_active = False
    services.press_mention_save(mention=mention)
    assert all(client.get(url).status_code == 404 for url in urls)
    assert "press-strip" not in html_of(client, "/en/")


def test_the_strip_costs_the_same_queries_with_one_logo_or_twelve(client, db, django_assert_num_queries):
    public_part()
    make_mention()
    client.get("/en/")

    def cost() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get("/en/").status_code == 200
        return len(queries)

    one = cost()
    for number in range(11):
        make_mention(name=f"Invented Outlet {number}", position=number + 1)
    client.get("/en/")  # the write made the strip stale: one query rebuilds it
    twelve = cost()
    assert one == twelve
    assert len(set(LOGO_URL.findall(html_of(client, "/en/")))) >= 12


def test_a_changed_or_added_logo_shows_at_the_next_request_through_the_page_cache(client, db, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 300
    public_part()
    mention = make_mention(alt_text_en="First words")
    assert 'alt="First words"' in html_of(client, "/en/")
    assert 'alt="First words"' in html_of(client, "/en/")  # served from the cache
    mention.alt_text_en = "Second words"
    services.press_mention_save(mention=mention)
    assert 'alt="Second words"' in html_of(client, "/en/")
    make_mention(name="Invented Daily", alt_text_en="A newcomer")
    assert 'alt="A newcomer"' in html_of(client, "/en/")
    PressMention.objects.get(name="Invented Daily").delete()
    assert "A newcomer" not in html_of(client, "/en/")


@pytest.fixture
def manager(db):
    return make_staff("Campaign managers")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG, "SVG and other drawings in markup are not accepted."),
        (b"\xef\xbb\xbf  <?xml version='1.0'?>" + SVG, "SVG and other drawings in markup are not accepted."),
        (b"%PDF-1.7 not a logo", "Upload a photo in JPEG, PNG or WebP format."),
    ],
)
def test_the_back_office_refuses_svg_and_other_files_with_a_field_error(client, manager, data, message):
    client.force_login(manager)
    form = open_form(client, reverse("admin:advocacy_pressmention_add"))
    response = form.post(
        client,
        name="Invented Review",
        link="https://review.example.org/",
        alt_text_en="Invented Review",
        logo_upload=SimpleUploadedFile("logo.svg", data, content_type="image/svg+xml"),
    )
    assert response.status_code == 200
    assert any(message in error for error in form_errors(response)["form"]["logo_upload"])
    assert not PressMention.objects.exists()


def test_a_campaign_manager_adds_a_mention_with_its_logo_in_the_back_office(client, manager):
    client.force_login(manager)
    form = open_form(client, reverse("admin:advocacy_pressmention_add"))
    response = form.post(client, name="Invented Review", link="https://review.example.org/", alt_text_en="")
    assert form_errors(response)["form"]["logo_upload"] == ["Upload the outlet's logo."]
    response = form.post(
        client,
        name="Invented Review",
        link="review.example.org/piece",
        alt_text_en="Invented Review",
        logo_upload=SimpleUploadedFile("logo.png", encode(noise(300, 90), "PNG"), content_type="image/png"),
    )
    assert response.status_code == 302, form_errors(response)
    mention = PressMention.objects.get()
    assert mention.link == "https://review.example.org/piece" and mention.logo
    change = client.get(reverse("admin:advocacy_pressmention_change", args=[mention.pk])).content.decode()
    preview = re.search(r'<img class="advocacy-admin__preview" src="([^"]+)"', change).group(1)
    assert client.get(preview).status_code == 200


def test_the_demo_has_a_campaign_photo_and_a_press_strip_loaded_once(client, db, tmp_path, monkeypatch):
    from django.core.management import call_command

    from advocacy.models import Campaign

    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(tmp_path / "credentials.json"))
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    files = private_files()
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    assert private_files() == files
    campaign = Campaign.objects.get(slug="stop-forced-returns")
    assert campaign.photo and campaign.photo_caption_ko and campaign.share_image_url()
    assert PressMention.objects.shown().count() == 4
    # Invented outlets at reserved addresses only.
    assert all(".example.com/" in link for link in PressMention.objects.values_list("link", flat=True))
    for language, alt in [("en", "Riverbend Weekly"), ("ko", "리버벤드 위클리")]:
        assert f'alt="{alt}"' in strip_of(html_of(client, f"/{language}/"))
        campaign_page = html_of(client, f"/{language}/act/{campaign.slug}/")
        assert 'class="campaign-photo"' in campaign_page
        assert getattr(campaign, f"photo_caption_{language}") in campaign_page
        # The credit too, in the reader's language only.
        credit = {"en": "Photo: Archive volunteer", "ko": "사진: 기록관 자원봉사자"}[language]
        assert f'<span class="campaign-photo__credit">{credit}</span>' in campaign_page
    assert "Archive volunteer" not in html_of(client, f"/ko/act/{campaign.slug}/")
