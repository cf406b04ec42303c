"""A reader who must hide the page at once, and a reader who decides whether to read past a content warning.

The neutral destination (settings.QUICK_EXIT_URL) is intercepted with route(), which answers with a tiny local
page, so the tests never reach the internet; every request to it is still recorded and checked.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, PageWatch, screenshot, watch

pytestmark = pytest.mark.browser

STORY_URL = "/{lang}/stories/dawns-story/"
PART_URL = "/{lang}/stories/dawns-story/part-2/"
# Somewhere the reader was before the archive, on another site.
ELSEWHERE = "https://elsewhere.example/news"
NEUTRAL_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Weather</title></head>'
    "<body><h1>Weather today</h1></body></html>"
)
DEVICES = {
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "desktop": {"viewport": DESKTOP},
}


def neutral_url() -> str:
    return settings.QUICK_EXIT_URL


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class NeutralSite:
    """Stand in for the neutral site and for the site the reader came from, and note what reached them."""

    def __init__(self, target: Page | BrowserContext) -> None:
        self.requests: list[tuple[str, dict]] = []
        for site in (origin(neutral_url()), origin(ELSEWHERE)):
            target.route(lambda url, site=site: url.startswith(f"{site}/"), self.answer)

    def answer(self, route: Route) -> None:
        self.requests.append((route.request.url, route.request.headers))
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL_PAGE)

    def assert_reached_without_referrer(self) -> None:
        urls = [url for url, _headers in self.requests]
        assert neutral_url() in urls, urls
        for url, headers in self.requests:
            # Nothing of the story's address travels with the reader.
            assert "referer" not in {name.lower() for name in headers}, url


def assert_clean_but_for_the_exit(recorder: PageWatch) -> None:
    """Everything the page asked for came from the site, except the neutral page the reader left for."""
    left_for = {origin(neutral_url()), origin(ELSEWHERE)}
    foreign = recorder.foreign_requests()
    assert neutral_url() in foreign
    assert all(origin(url) in left_for for url in foreign), foreign
    recorder.request_urls = [url for url in recorder.request_urls if url not in foreign]
    recorder.assert_clean()


def exit_button(page: Page):
    return page.locator("a.quick-exit")


def assert_left(page: Page) -> None:
    expect(page).to_have_url(neutral_url())
    expect(page.get_by_role("heading", name="Weather today")).to_be_visible()


def test_quick_exit_button_leaves_and_back_does_not_return_to_the_story(desktop_page, demo):
    page = desktop_page
    neutral = NeutralSite(page)
    recorder = watch(page, demo)
    page.goto(ELSEWHERE)
    page.goto(PART_URL.format(lang="en"))
    button = exit_button(page)
    expect(button).to_be_visible()
    expect(button).to_be_in_viewport()
    expect(button).to_have_attribute("href", neutral_url())
    expect(button).to_have_attribute("aria-keyshortcuts", "Escape")
    # The page alone asks nothing of the neutral site.
    assert [url for url in recorder.foreign_requests() if origin(url) == origin(neutral_url())] == []

    button.click()
    assert_left(page)

    # The story's history entry was replaced: Back goes to the page before it, not to the archive.
    page.go_back()
    expect(page).to_have_url(ELSEWHERE)
    neutral.assert_reached_without_referrer()
    assert_clean_but_for_the_exit(recorder)


def test_escape_leaves_and_back_does_not_return_to_the_story(desktop_page, demo):
    page = desktop_page
    neutral = NeutralSite(page)
    recorder = watch(page, demo)
    page.goto(ELSEWHERE)
    page.goto(PART_URL.format(lang="en"))
    expect(exit_button(page)).to_have_attribute("aria-keyshortcuts", "Escape")

    page.keyboard.press("Escape")
    assert_left(page)

    page.go_back()
    expect(page).to_have_url(ELSEWHERE)
    neutral.assert_reached_without_referrer()
    assert_clean_but_for_the_exit(recorder)


def test_back_into_an_earlier_archive_page_leaves_again(desktop_page, demo):
    page = desktop_page
    NeutralSite(page)
    recorder = watch(page, demo)
    page.goto(STORY_URL.format(lang="en"))
    page.locator(".part-list").get_by_role("link", name=re.compile(r"^Part 2 — ")).click()
    expect(page).to_have_url(re.compile(r"/en/stories/dawns-story/part-2/$"))

    exit_button(page).click()
    assert_left(page)

    # Back reaches the story page the reader saw first; it leaves again at once, replacing its entry too.
    page.go_back()
    assert_left(page)
    # So the tab's history now holds no archive page: before it lies only the tab's blank start.
    page.go_back()
    expect(page).to_have_url("about:blank")
    page.go_forward()
    assert_left(page)
    assert_clean_but_for_the_exit(recorder)

    # A reader who comes back on purpose is let in.
    page.goto(STORY_URL.format(lang="en"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dawn's Story")
    expect(exit_button(page)).to_be_visible()


def test_escape_while_typing_in_a_form_field_does_not_leave(desktop_page, demo):
    page = desktop_page
    NeutralSite(page)
    recorder = watch(page, demo)
    page.goto("/en/newsletter/")
    field = page.get_by_label("Your email address")
    field.fill("reader@example.org")

    field.press("Escape")
    # Leaving blanks the page within the key press, so a page still whole and here has not left.
    expect(page).to_have_url(re.compile(r"/en/newsletter/$"))
    expect(field).to_be_focused()
    expect(exit_button(page)).to_be_visible()
    assert [url for url in recorder.foreign_requests() if origin(url) == origin(neutral_url())] == []

    # Out of the field, Escape leaves again.
    page.locator("h1").click()
    page.keyboard.press("Escape")
    assert_left(page)
    assert_clean_but_for_the_exit(recorder)


def test_without_javascript_the_quick_exit_is_a_plain_link_to_the_neutral_site(new_context, demo):
    context = new_context(java_script_enabled=False, viewport=PHONE, is_mobile=True, has_touch=True)
    neutral = NeutralSite(context)
    page = context.new_page()
    recorder = watch(page, demo)
    page.goto(PART_URL.format(lang="ko"))
    button = exit_button(page)
    expect(button).to_be_visible()
    expect(button).to_be_in_viewport()
    # Escape needs the script, so the page does not claim it.
    expect(button).not_to_have_attribute("aria-keyshortcuts", "Escape")

    button.tap()
    assert_left(page)
    neutral.assert_reached_without_referrer()
    assert_clean_but_for_the_exit(recorder)


def test_without_javascript_the_reader_still_chooses_to_continue(new_context, demo):
    page = new_context(java_script_enabled=False, viewport=DESKTOP).new_page()
    recorder = watch(page, demo)
    page.goto(PART_URL.format(lang="en"))
    body = page.locator(".part__body")
    expect(body).to_be_hidden()
    page.get_by_text("Continue to the story").click()
    expect(body).to_be_visible()
    recorder.assert_clean()


def test_the_story_waits_behind_its_warning_until_the_reader_continues(desktop_page, demo):
    page = desktop_page
    recorder = watch(page, demo)
    page.goto(PART_URL.format(lang="en"))
    warning = page.locator(".content-warning")
    body = page.locator(".part__body")
    gate = page.locator(".warning-gate__summary")
    expect(warning).to_be_visible()
    expect(warning.get_by_role("heading", name="Content warning")).to_be_visible()
    expect(warning).to_contain_text("Human trafficking")
    expect(body).to_be_hidden()
    expect(gate).to_have_text("Continue to the story", use_inner_text=True)
    # The rest of the page stays in reach: the reader can move on without reading.
    expect(page.locator(".part-nav a[rel=next]")).to_be_visible()

    # A keyboard reader opens it like a button.
    gate.focus()
    requests_before = len(recorder.request_urls)
    page.keyboard.press("Enter")
    expect(body).to_be_visible()
    expect(gate).to_have_text("Hide the story", use_inner_text=True)
    assert warning.bounding_box()["y"] < body.bounding_box()["y"]
    # The choice stays in the browser.
    assert len(recorder.request_urls) == requests_before

    # It is remembered in this tab for this story: a reload and the next part open at once.
    page.reload()
    expect(body).to_be_visible()
    page.locator(".part-nav a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"/part-3/$"))
    expect(body).to_be_visible()

    # Folding it again is remembered too.
    gate.click()
    expect(body).to_be_hidden()
    page.reload()
    expect(body).to_be_hidden()
    recorder.assert_clean()


def test_quick_exit_forgets_the_remembered_choice(desktop_page, demo):
    page = desktop_page
    NeutralSite(page)
    recorder = watch(page, demo)
    page.goto(PART_URL.format(lang="en"))
    page.get_by_text("Continue to the story").click()
    expect(page.locator(".part__body")).to_be_visible()

    exit_button(page).click()
    assert_left(page)

    page.goto(PART_URL.format(lang="en"))
    expect(page.locator(".part__body")).to_be_hidden()
    assert page.evaluate("JSON.stringify(Object.keys(sessionStorage))") == "[]"
    assert_clean_but_for_the_exit(recorder)


def test_quick_exit_stays_clear_of_the_text_on_a_phone(new_context, demo):
    page = new_context(**DEVICES["phone"]).new_page()
    recorder = watch(page, demo)
    page.goto(PART_URL.format(lang="ko"))
    button = exit_button(page)
    expect(button).to_be_in_viewport()
    box = button.bounding_box()
    # A comfortable target for a thumb, inside the screen.
    assert box["height"] >= 44 and box["width"] >= 44
    assert box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]

    # At the very end of the page, the last line of text is above the button, not under it.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(button).to_be_in_viewport()
    last_line = page.locator(".site-footer p").last.bounding_box()
    button_box = button.bounding_box()
    assert last_line["y"] + last_line["height"] <= button_box["y"], (last_line, button_box)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=SCREENSHOTS / "ko-phone-quick-exit-page-end.png", animations="disabled")
    recorder.assert_clean()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("device", DEVICES)
def test_warning_gate_screenshots(new_context, demo, lang, device):
    page = new_context(**DEVICES[device]).new_page()
    recorder = watch(page, demo)
    page.goto(PART_URL.format(lang=lang))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    button = exit_button(page)
    expect(button).to_be_visible()
    expect(button).to_be_in_viewport()
    if lang == "ko":
        expect(button).not_to_contain_text("Quick exit")
    body = page.locator(".part__body")
    expect(body).to_be_hidden()
    SCREENSHOTS.mkdir(exist_ok=True)
    if device == "desktop":
        # The second key press reaches the quick exit, and shows where the focus is.
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(button).to_be_focused()
        expect(button).to_have_css("outline-style", "solid")
        page.screenshot(path=SCREENSHOTS / f"{lang}-{device}-quick-exit-focus.png", animations="disabled")
        page.locator("h1").click()
    page.screenshot(path=SCREENSHOTS / f"{lang}-{device}-warning-collapsed-viewport.png", animations="disabled")
    screenshot(page, f"{lang}-{device}-warning-collapsed")

    page.locator(".warning-gate__summary").click()
    expect(body).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, f"{lang}-{device}-warning-expanded")
    recorder.assert_clean()
