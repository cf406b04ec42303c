"""Printing a part or a story prints its text and nothing else, with the content warning before the text."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

PART = "/{lang}/stories/dawns-story/part-2/"
STORY = "/{lang}/stories/dawns-story/"
A4_PORTRAIT = {"width": 794, "height": 1123}
# Never on paper: the site's chrome and everything around the text.
NOT_PRINTED = [
    ".skip-link",
    "[data-quick-exit]",
    ".site-header",
    ".language-switcher",
    ".site-search",
    ".site-footer",
    ".campaign-aside",
    ".part__start",
    ".part-nav",
    ".toc",
    ".warning-gate__summary",
    ".content-warning__note",
]
WORDS = {
    "en": {"warning": "Content warning", "quick_exit": "Quick exit", "footer": "published with its teller's consent"},
    "ko": {"warning": "읽기 전 주의", "quick_exit": "바로 나가기", "footer": "동의가 유효한 동안에만"},
}


def printed_text(page: Page) -> str:
    """The text as laid out for the current media: innerText leaves out what is not displayed."""
    return page.evaluate("document.body.innerText")


def save_pdf(page: Page, name: str) -> bytes:
    SCREENSHOTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=SCREENSHOTS / f"{name}.pdf", format="A4", print_background=False)
    assert pdf.startswith(b"%PDF")
    return pdf


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("opened", [False, True], ids=["gate-closed", "gate-opened"])
def test_a_printed_part_is_its_warning_then_its_text(new_context, demo, lang, opened):
    page = new_context(viewport=A4_PORTRAIT).new_page()
    page.goto(PART.format(lang=lang))
    body = page.locator(".part__body")
    if opened:
        page.locator(".warning-gate__summary").click()
        expect(body).to_be_visible()
    else:
        expect(body).to_be_hidden()
    on_screen = printed_text(page)

    page.emulate_media(media="print")
    heading = page.get_by_role("heading", level=1)
    warning = page.locator(".content-warning")
    expect(heading).to_be_visible()
    expect(page.locator(".part__meta")).to_be_visible()
    expect(warning).to_be_visible()
    expect(warning.locator("li")).to_have_count(3)
    # The text is printed whether or not the reader opened it on screen, and the warning comes first.
    expect(body).to_be_visible()
    expect(body.locator("p").first).to_be_visible()
    assert warning.bounding_box()["y"] + warning.bounding_box()["height"] <= body.bounding_box()["y"]
    for selector in NOT_PRINTED:
        expect(page.locator(selector).first).to_be_hidden()

    text = printed_text(page)
    words = WORDS[lang]
    assert words["warning"] in text
    assert body.locator("p").last.inner_text() in text
    for word in (words["quick_exit"], words["footer"]):
        assert word in on_screen and word not in text, word

    name = f"print-{lang}-part-{'opened' if opened else 'closed'}"
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    pdf = save_pdf(page, name)
    # One page of text: no navigation, contents or campaign spilling onto a second sheet.
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1

    # Back on screen, nothing has changed for the reader.
    page.emulate_media(media="screen")
    expect(page.locator("[data-quick-exit]")).to_be_visible()
    if opened:
        expect(body).to_be_visible()
    else:
        expect(body).to_be_hidden()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_printed_story_page_is_its_title_teller_warning_and_parts(new_context, demo, lang):
    page = new_context(viewport=A4_PORTRAIT).new_page()
    page.goto(STORY.format(lang=lang))
    page.emulate_media(media="print")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".storyteller")).to_be_visible()
    expect(page.locator(".content-warning")).to_be_visible()
    expect(page.locator(".part-list__item")).to_have_count(3)
    for selector in NOT_PRINTED:
        if page.locator(selector).count():
            expect(page.locator(selector).first).to_be_hidden()
    # Everything in main that is not the story (a press strip, related stories) stays off the paper.
    assert page.evaluate(
        """() => [...document.querySelectorAll("main > :not(.story)")]
            .every((element) => getComputedStyle(element).display === "none")"""
    )
    text = printed_text(page)
    assert WORDS[lang]["quick_exit"] not in text and WORDS[lang]["footer"] not in text
    page.screenshot(path=SCREENSHOTS / f"print-{lang}-story.png", full_page=True)
    save_pdf(page, f"print-{lang}-story")
