"""A reader on a real browser: following a serial, switching language, using the keyboard, on phone and desktop."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch

pytestmark = pytest.mark.browser

STORY = "Dawn's Story"
STORY_KO = "새벽의 이야기"
PARTS = [
    (1, "The River in Winter"),
    (2, "A Promise That Was a Lie"),
    (3, "The Decision to Go South"),
]
PARTS_KO = {1: "겨울의 강", 2: "거짓이었던 약속", 3: "남쪽으로 가기로 한 결심"}


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def korean_part_heading(number: int) -> re.Pattern:
    # The word for "part" comes from the Korean catalogue, so only the story, number and title are pinned down;
    # the space before the dash is a no-break space, which keeps the dash off the start of a line.
    return re.compile(rf"^{STORY_KO}: \D*{number}\D*\u00a0— {PARTS_KO[number]}$")


def test_reader_follows_the_serial_by_next_links_and_switches_language(desktop_page, demo):
    page = desktop_page
    recorder = watch(page, demo)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/en/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator(".featured").get_by_role("link", name=STORY).click()
    expect(heading(page)).to_have_text(STORY)
    page.locator(".part-list").get_by_role("link", name=f"Part 1 — {PARTS[0][1]}").click()

    for number, title in PARTS:
        expect(page).to_have_url(re.compile(rf"/en/stories/dawns-story/part-{number}/$"))
        expect(heading(page)).to_have_text(f"{STORY}: Part {number} — {title}")
        # The warning is read before the testimony, not after it.
        warning = page.locator(".content-warning")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("Human trafficking")
        # The body waits until the reader chooses to read on; the choice holds for the rest of the serial.
        # The note says the story is hidden only while it is.
        hidden_note = warning.get_by_text("The story stays hidden until you choose to continue.")
        if number == 1:
            expect(page.locator(".part__body")).to_be_hidden()
            expect(hidden_note).to_be_visible()
            page.get_by_text("Continue to the story").click()
        expect(page.locator(".part__body")).to_be_visible()
        expect(hidden_note).to_be_hidden()
        expect(warning).to_contain_text("leave at any time with Quick exit")
        assert warning.bounding_box()["y"] < page.locator(".part__body").bounding_box()["y"]
        if number > 1:
            previous_title = PARTS[number - 2][1]
            expect(page.locator(".part-nav a[rel=prev]")).to_contain_text(f"Part {number - 1} — {previous_title}")
        if number < len(PARTS):
            page.locator(".part-nav").get_by_role("link", name=re.compile(r"^Next part")).click()

    # Part 4 is scheduled, so the last public part offers no way forward.
    expect(page.locator(".part-nav a[rel=next]")).to_have_count(0)

    page.locator(".language-switcher").get_by_role("link", name="한국어").click()
    expect(page).to_have_url(re.compile(r"/ko/stories/dawns-story/part-3/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(heading(page)).to_have_text(korean_part_heading(3))
    expect(page.locator(".content-warning")).to_contain_text("인신매매")
    # Korean wraps between words, never inside one.
    expect(page.locator(".part__body p").first).to_have_css("word-break", "keep-all")

    page.locator(".language-switcher").get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/en/stories/dawns-story/part-3/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading(page)).to_have_text(f"{STORY}: Part 3 — {PARTS[2][1]}")

    recorder.assert_clean()


def test_skip_link_is_the_first_focus_stop_and_moves_focus_to_main(desktop_page, demo):
    page = desktop_page
    recorder = watch(page, demo)
    page.goto("/en/stories/dawns-story/part-2/")

    page.keyboard.press("Tab")
    skip_link = page.locator(".skip-link")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    expect(skip_link).to_have_text("Skip to main content")
    screenshot(page, "en-desktop-focus-skip-link")

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # The next Tab continues inside the main content, not back in the header.
    page.keyboard.press("Tab")
    expect(page.locator("main a").first).to_be_focused()

    recorder.assert_clean()


def test_keyboard_focus_is_shown_with_an_outline(desktop_page, demo):
    page = desktop_page
    recorder = watch(page, demo)
    page.goto("/en/stories/dawns-story/part-2/")

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    # After the skip link, the quick exit: a reader in danger reaches it with the second key press.
    expect(page.locator(".quick-exit")).to_be_focused()
    page.keyboard.press("Tab")
    brand = page.locator(".site-header__brand")
    expect(brand).to_be_focused()
    expect(brand).to_have_css("outline-style", "solid")
    expect(brand).to_have_css("outline-width", "3px")

    next_link = page.locator(".part-nav a[rel=next]")
    for _ in range(30):
        page.keyboard.press("Tab")
        if next_link.evaluate("link => link === document.activeElement"):
            break
    expect(next_link).to_be_focused()
    expect(next_link).to_have_css("outline-style", "solid")
    expect(next_link).to_have_css("outline-width", "3px")
    screenshot(page, "en-desktop-focus-next-part")

    recorder.assert_clean()


PAGES = [
    ("home", "/{lang}/", 200),
    ("story", "/{lang}/stories/dawns-story/", 200),
    ("part", "/{lang}/stories/dawns-story/part-2/", 200),
    ("404", "/{lang}/stories/no-such-story/", 404),
]


DEVICES = {
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "desktop": {"viewport": DESKTOP},
}


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("device", DEVICES)
def test_pages_render_for_readers_on_phone_and_desktop(new_context, demo, lang, device):
    page = new_context(**DEVICES[device]).new_page()
    recorder = watch(page, demo)

    for name, path, status in PAGES:
        url = path.format(lang=lang)
        if status == 404:
            recorder.expect_not_found(url)
        response = page.goto(url)
        assert response.status == status, url
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(heading(page)).to_be_visible()
        expect(page.locator(".language-switcher")).to_be_visible()
        if name == "part":
            expect(page.locator(".part-nav a[rel=prev]")).to_be_visible()
            expect(page.locator(".part-nav a[rel=next]")).to_be_visible()
        # Nothing is wider than the screen: a phone reader never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), url
        screenshot(page, f"{lang}-{device}-{name}")

    recorder.assert_clean()
