"""Share cards: Open Graph and Twitter card tags and JSON-LD on story, part and campaign pages, in both
languages, escaped for each context, on the configured site's URLs, and never anything private."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from PIL import Image

from stories import covers
from stories.models import Story
from tests.advocacy.conftest import make_campaign
from tests.conftest import make_part, make_story, make_storyteller

# The policy as it stood before structured data was added: the data block needs nothing more.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HOSTILE = "</script><script>alert(\"x\")</script><!-- & 'q' <b>"


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


class _Head(HTMLParser):
    """The share tags and data blocks of a page, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.blocks: list[str] = []
        self._in_block = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and (attrs.get("property") or attrs.get("name")):
            self.meta.setdefault(attrs.get("property") or attrs["name"], []).append(attrs.get("content"))
        if tag == "script" and attrs.get("type") == "application/ld+json":
            self._in_block = True
            self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_block = False

    def handle_data(self, data):
        if self._in_block:
            self.blocks[-1] += data


def card(client, url: str, **headers) -> tuple[dict[str, str], list[dict], str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    html = response.content.decode()
    parser = _Head()
    parser.feed(html)
    meta = {}
    for name, values in parser.meta.items():
        assert len(values) == 1, name
        meta[name] = values[0]
    return meta, [json.loads(block) for block in parser.blocks], html


@pytest.fixture
def serial(db):
    teller = make_storyteller(
        pseudonym_en="Mira",
        pseudonym_ko="미라",
        identity={"legal_name": "SENTINELLEGALNAME", "caseworker_notes": "SENTINELNOTES"},
    )
    story = make_story(storyteller=teller, title_en="Crossing the River", title_ko="강을 건너며")
    parts = [make_part(story=story, number=n) for n in (1, 2, 3)]
    return story, parts


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_part_is_an_article_in_its_series_at_its_position(client, serial, language):
    story, parts = serial
    part = parts[1]
    meta, blocks, _html = card(client, url_in(part, language))
    with translation.override(language):
        title = covers.part_title(part)
        site = "Testimony archive" if language == "en" else "증언 기록관"
    assert meta["og:type"] == "article"
    assert meta["og:title"] == meta["twitter:title"] == title
    assert ("강을 건너며" if language == "ko" else "Crossing the River") in title
    assert meta["og:url"] == f"{settings.SITE_URL}{url_in(part, language)}"
    assert meta["og:site_name"] == site
    assert meta["og:locale"] == {"en": "en_US", "ko": "ko_KR"}[language]
    summary = part.summary_ko if language == "ko" else part.summary_en
    assert meta["og:description"] == meta["twitter:description"] == summary
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["article:published_time"] == part.published_at.isoformat()
    [data] = blocks
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Article"
    assert data["headline"] == title
    assert data["position"] == 2
    assert data["inLanguage"] == language
    assert data["url"] == meta["og:url"]
    assert data["isPartOf"] == {
        "@type": "CreativeWorkSeries",
        "name": "강을 건너며" if language == "ko" else "Crossing the River",
        "url": f"{settings.SITE_URL}{url_in(story, language)}",
    }
    # The pseudonym the page shows, and only that.
    assert data["author"] == {"@type": "Person", "name": "미라" if language == "ko" else "Mira"}
    assert data["publisher"]["name"] == site


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_story_is_the_series_with_its_parts_in_order(client, serial, language):
    story, parts = serial
    meta, [data], _html = card(client, url_in(story, language))
    assert meta["og:type"] == "website"
    assert meta["og:url"] == f"{settings.SITE_URL}{url_in(story, language)}"
    assert data["@type"] == "CreativeWorkSeries"
    assert data["name"] == meta["og:title"] == ("강을 건너며" if language == "ko" else "Crossing the River")
    assert [(item["@type"], item["position"]) for item in data["hasPart"]] == [("Article", n) for n in (1, 2, 3)]
    assert [item["url"] for item in data["hasPart"]] == [f"{settings.SITE_URL}{url_in(p, language)}" for p in parts]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_campaign_is_a_web_page_about_its_stories(client, serial, language):
    story, _parts = serial
    campaign = make_campaign(stories=[story])
    meta, [data], _html = card(client, url_in(campaign, language))
    assert data["@type"] == "WebPage"
    assert data["name"] == meta["og:title"] == (campaign.title_ko if language == "ko" else campaign.title_en)
    assert data["about"] == [
        {
            "@type": "CreativeWorkSeries",
            "name": "강을 건너며" if language == "ko" else "Crossing the River",
            "url": f"{settings.SITE_URL}{url_in(story, language)}",
        }
    ]
    assert meta["og:url"] == f"{settings.SITE_URL}{url_in(campaign, language)}"


def test_without_a_cover_the_share_image_is_the_sites_own_default(client, serial):
    _story, parts = serial
    meta, [data], _html = card(client, url_in(parts[0], "en"))
    default = f"{settings.SITE_URL}/static/{covers.DEFAULT_SHARE_IMAGE}"
    assert meta["og:image"] == meta["twitter:image"] == data["image"] == default
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1200", "630")
    assert meta["og:image:type"] == "image/png"
    assert meta["og:image:alt"] == meta["twitter:image:alt"] == "Testimony archive"
    # The file is ours, committed under static/, of the size the tags announce.
    with Image.open(Path(settings.BASE_DIR) / "static" / covers.DEFAULT_SHARE_IMAGE) as image:
        assert image.format == "PNG" and image.size == covers.DEFAULT_SHARE_IMAGE_SIZE


def test_a_hostile_title_cannot_break_out_of_an_attribute_or_the_data_block(client, db):
    story = make_story(title_en=HOSTILE, summary_en=f"Summary {HOSTILE}")
    part = make_part(story=story, title_en=HOSTILE, summary_en=HOSTILE)
    campaign = make_campaign(stories=[story], title_en=HOSTILE, summary_en=HOSTILE)
    for url in (url_in(part, "en"), url_in(story, "en"), url_in(campaign, "en")):
        meta, [data], html = card(client, url)
        # Parsed back, every value is exactly the text, whole: nothing ended early or was added.
        assert HOSTILE in meta["og:title"] and HOSTILE in meta["og:description"]
        assert HOSTILE in (data.get("headline") or data["name"])
        block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
        assert "<" not in block and ">" not in block and "&" not in block
        assert "\\u003c/script\\u003e" in block
        # The hostile markup never appears as markup anywhere on the page.
        assert '<script>alert("x")' not in html
        assert html.count("<script") == html.count("</script>")


def test_the_policy_is_unchanged_and_forbids_inline_execution(client, serial):
    _story, parts = serial
    for url in (url_in(parts[0], "en"), url_in(parts[0].story, "ko")):
        response = client.get(url)
        assert response["Content-Security-Policy"] == POLICY == settings.CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in POLICY and "unsafe-eval" not in POLICY and "'sha" not in POLICY
        # The data block is the only script element that is not a file of ours; browsers never run it.
        tags = re.findall(r"<script[^>]*>", response.content.decode())
        assert [tag for tag in tags if "src=" not in tag] == ['<script type="application/ld+json">']


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_urls_come_from_the_configured_site_never_the_host_header(client, serial, host):
    _story, parts = serial
    meta, [data], _html = card(client, url_in(parts[0], "en"), host=host)
    for value in (meta["og:url"], meta["og:image"], data["url"], data["isPartOf"]["url"], data["publisher"]["url"]):
        assert value.startswith(f"{settings.SITE_URL}/"), value
        assert host not in value


def test_nothing_private_reaches_the_cards(client, serial):
    story, parts = serial
    for url in (url_in(parts[0], "en"), url_in(story, "ko"), url_in(make_campaign(stories=[story]), "en")):
        html = client.get(url).content.decode()
        head = html.split("</head>", 1)[0]
        assert "SENTINEL" not in html
        assert "identity" not in head and "legal" not in head


def test_a_staff_preview_has_no_share_card(client, editor):
    part = make_part(status="draft", published_at=None)
    client.force_login(editor)
    html = client.get(f"/en/preview/parts/{part.pk}/").content.decode()
    assert "og:title" not in html and "application/ld+json" not in html


def test_a_withdrawn_story_has_no_card_at_the_next_request(client, serial):
    from stories import services

    story, parts = serial
    assert client.get(url_in(parts[0], "en")).status_code == 200
    services.consent_withdraw(storyteller=story.storyteller, reason="Asked to stop", recorded_by=None)
    for url in (url_in(parts[0], "en"), url_in(story, "en")):
        response = client.get(url)
        assert response.status_code == 404
        assert b"og:title" not in response.content and b"Crossing" not in response.content
    assert Story.objects.live("en").filter(pk=story.pk).count() == 0


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_campaign_with_its_own_photo_shares_that_photo(client, serial, language):
    from advocacy import services as advocacy_services
    from stories import images
    from tests.stories.test_images import encode, noise

    story, _parts = serial
    campaign = make_campaign(
        stories=[story], photo_alt_en="Candles in a row on a step.", photo_alt_ko="계단 위에 줄지어 놓인 촛불."
    )
    advocacy_services.campaign_photo_set(campaign=campaign, prepared=images.render(encode(noise(2000, 1000), "JPEG")))
    meta, [data], _html = card(client, url_in(campaign, language))
    path = f"/{language}/act/photos/{campaign.photo_key}/1600.jpg"
    assert meta["og:image"] == meta["twitter:image"] == data["image"] == f"{settings.SITE_URL}{path}"
    assert (meta["og:image:width"], meta["og:image:height"], meta["og:image:type"]) == ("1600", "800", "image/jpeg")
    assert meta["og:image:alt"] == (
        "계단 위에 줄지어 놓인 촛불." if language == "ko" else "Candles in a row on a step."
    )
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_single_piece_is_an_article_of_its_own_at_its_storys_address(client, db, language):
    story = make_story(kind=Story.Kind.SINGLE, title_en="Notes from a Night Class", title_ko="야간 수업의 기록")
    make_part(story=story, number=1)
    meta, [data], _html = card(client, url_in(story, language))
    title = "야간 수업의 기록" if language == "ko" else "Notes from a Night Class"
    assert data["@type"] == "Article" and data["headline"] == meta["og:title"] == title
    assert "isPartOf" not in data and "position" not in data
    assert meta["og:url"] == data["url"] == f"{settings.SITE_URL}{url_in(story, language)}"
