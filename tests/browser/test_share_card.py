"""A shared link's card, rendered: read a part page's Open Graph tags and structured data in Chromium, build
the preview a chat app would show from them alone, and screenshot it; and the covers and text cards on the
home page and the story index, on a phone and a desktop, in both languages."""

import html
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from stories import services
from stories.models import Story, StoryImage
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch
from tests.conftest import approve_translations

pytestmark = pytest.mark.browser

STORY = "Dawn's Story"


def landscape() -> bytes:
    """An invented picture to stand for a cover photo: hills under a dawn sky, nobody in it."""
    width, height = 1800, 1100
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        share = y / height
        draw.line(
            [(0, y), (width, y)], fill=(round(238 - 60 * share), round(170 - 40 * share), round(120 + 50 * share))
        )
    draw.ellipse((1150, 380, 1390, 620), fill=(255, 226, 170))
    draw.polygon(
        [(0, 760), (420, 560), (900, 720), (1300, 600), (1800, 780), (1800, 1100), (0, 1100)], fill=(92, 86, 110)
    )
    draw.polygon([(0, 900), (600, 780), (1200, 920), (1800, 840), (1800, 1100), (0, 1100)], fill=(48, 52, 70))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def give_cover(story: Story) -> StoryImage:
    part = story.parts.order_by("number").first()
    image = services.story_image_save(
        image=StoryImage(
            part=part,
            original=SimpleUploadedFile("dawn.jpg", landscape(), content_type="image/jpeg"),
            alt_text_en="Low hills under a pale dawn sky.",
            alt_text_ko="옅은 새벽 하늘 아래 낮은 언덕.",
            shows_identifiable_person=False,
        )
    )
    approve_translations(image)
    story.cover = image
    services.story_save(story=story)
    return image


def share_tags(page: Page) -> dict:
    """The tags a crawler reads, as the browser parsed them."""
    tags = page.eval_on_selector_all(
        "meta[property^='og:'], meta[name^='twitter:']",
        "nodes => nodes.map(node => [node.getAttribute('property') || node.getAttribute('name'), node.content])",
    )
    return dict(tags)


PREVIEW = """<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 24px; background: #e9edf1; font-family: system-ui, "Noto Sans CJK KR", sans-serif; }}
.bubble {{ max-width: 520px; background: #fff; border-radius: 14px; overflow: hidden;
  box-shadow: 0 1px 3px rgba(0,0,0,.2); }}
.bubble p.msg {{ margin: 0; padding: 12px 14px; color: #1a73e8; word-break: break-all; }}
.card {{ border-top: 1px solid #dde2e7; }}
.card img {{ display: block; width: 100%; aspect-ratio: 1.91 / 1; object-fit: cover; }}
.card .text {{ padding: 10px 14px 14px; }}
.site {{ color: #5f6b76; font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }}
.title {{ font-weight: 700; font-size: 17px; margin: 4px 0; color: #111; }}
.desc {{ color: #3b4650; font-size: 14px; margin: 0; }}
</style></head><body><div class="bubble"><p class="msg">{url}</p><div class="card">
<img src="{image}" alt="{alt}"><div class="text"><div class="site">{site}</div><div class="title">{title}</div>
<p class="desc">{description}</p></div></div></div></body></html>"""


def preview_of(tags: dict, language: str) -> str:
    """The link preview a messaging app draws, from the share tags alone."""
    values = {
        "url": tags["og:url"],
        "image": tags["og:image"],
        "alt": tags.get("og:image:alt", ""),
        "site": tags["og:site_name"],
        "title": tags["og:title"],
        "description": tags.get("og:description", ""),
    }
    return PREVIEW.format(lang=language, **{key: html.escape(value) for key, value in values.items()})


def show_preview(page: Page, server: str, document: str) -> None:
    """Open the stand-in app's preview at an address the browser routes to it, never to the site.

    On the site's origin, where the photos load (from about:blank this Chromium showed none), but without the
    site's response headers: its policy against inline styles is the site's, not this stand-in's.
    """
    address = f"{server}/share-card-preview-stand-in/"
    page.route(address, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document))
    page.goto(address)
    page.unroute(address)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_shared_part_link_renders_as_a_card_with_its_cover(page: Page, demo, language):
    story = Story.objects.get(title_en=STORY)
    cover = give_cover(story)
    part = story.parts.get(number=2)
    with translation.override(language):
        url = part.get_absolute_url()
    page.set_viewport_size(DESKTOP)
    recorder = watch(page, demo)
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    tags = share_tags(page)
    [block] = page.locator("script[type='application/ld+json']").all_text_contents()
    data = json.loads(block)
    # The page's own requests stayed on the site and nothing broke the policy: the data block ran nothing.
    recorder.assert_clean()

    assert tags["og:url"] == f"{demo}{url}"
    assert tags["og:image"] == f"{demo}/{language}/photos/{cover.rendition_key}/1600.jpg"
    assert tags["twitter:card"] == "summary_large_image"
    assert data["@type"] == "Article" and data["position"] == 2
    assert data["isPartOf"]["@type"] == "CreativeWorkSeries"
    assert data["isPartOf"]["url"] == f"{demo}{story.get_absolute_url().replace('/en/', f'/{language}/', 1)}"
    if language == "ko":
        assert re.search(r"[가-힣]", tags["og:title"]) and tags["og:locale"] == "ko_KR"
    response = page.request.get(tags["og:image"])
    assert response.status == 200 and response.headers["content-type"] == "image/jpeg"

    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        show_preview(page, demo, preview_of(tags, language))
        image = page.locator(".card img")
        expect(image).to_be_visible()
        page.wait_for_function("document.querySelector('.card img').complete")
        assert page.eval_on_selector(".card img", "img => img.naturalWidth") == 1600
        expect(page.locator(".title")).to_have_text(tags["og:title"])
        screenshot(page, f"share-card-{language}-{name}")


def test_a_link_without_a_cover_shows_the_sites_own_card(page: Page, demo):
    story = Story.objects.live("en").exclude(title_en=STORY).order_by("pk").first()
    page.set_viewport_size(PHONE)
    page.goto(story.get_absolute_url())
    tags = share_tags(page)
    assert tags["og:image"] == f"{demo}/static/img/share-default.png"
    show_preview(page, demo, preview_of(tags, "en"))
    page.wait_for_function("document.querySelector('.card img').complete")
    assert page.eval_on_selector(".card img", "img => img.naturalWidth") == 1200
    screenshot(page, "share-card-default-phone")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_covers_and_text_cards_on_the_lists(page: Page, demo, language):
    story = Story.objects.get(title_en=STORY)
    give_cover(story)
    story_path = story.get_absolute_url().replace("/en/", f"/{language}/", 1)
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        recorder = watch(page, demo)
        for path, label in ((f"/{language}/", "home"), (f"/{language}/stories/", "index")):
            page.goto(path)
            expect(page.locator(".cover").first).to_be_visible()
            # Every photo on the list is one of ours, loaded in full.
            page.wait_for_load_state("load")
            for img in page.locator("img.cover__img").all():
                img.scroll_into_view_if_needed()
                page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
            screenshot(page, f"covers-{label}-{language}-{name}")
        # The story's page shows the cover whole, described by its alt text in the reader's language.
        page.goto(story_path)
        cover = page.locator("img.story__cover-img")
        expect(cover).to_have_attribute(
            "alt", "옅은 새벽 하늘 아래 낮은 언덕." if language == "ko" else "Low hills under a pale dawn sky."
        )
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cover.element_handle())
        screenshot(page, f"covers-story-{language}-{name}")
        recorder.assert_clean()
