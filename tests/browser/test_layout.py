"""Layout on a phone and a desktop: a compact header, a quick exit that never rests on text or the next-part
link, the campaign's actions beside its letter on wide screens, and the weight of a part page."""

import gzip
import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, SCREENSHOTS, screenshot, watch

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 900}
DEVICES = {
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "desktop": {"viewport": WIDE},
}
PART = "/{lang}/stories/dawns-story/part-2/"
CAMPAIGN = "/{lang}/act/stop-forced-returns/"
# What a reader reads: a line of text, a link, a heading, a button. The quick exit must rest on none of them.
TEXT = "main :is(p, li, a, h1, h2, h3, dt, dd, label, button, select, input, figcaption), footer p"

BOXES = """([selector, exitSelector]) => {
    const exit = document.querySelector(exitSelector).getBoundingClientRect();
    const overlaps = [];
    for (const element of document.querySelectorAll(selector)) {
        const box = element.getBoundingClientRect();
        if (!box.width || !box.height || getComputedStyle(element).visibility === "hidden") continue;
        if (box.bottom <= 0 || box.top >= innerHeight) continue;  // off screen
        const apart =
            box.right <= exit.left || box.left >= exit.right || box.bottom <= exit.top || box.top >= exit.bottom;
        if (!apart) {
            overlaps.push(`${element.tagName.toLowerCase()}.${element.className}: ${element.textContent.trim()}`);
        }
    }
    return overlaps;
}"""


def covered_by_quick_exit(page: Page, selector: str = TEXT) -> list[str]:
    return page.evaluate(BOXES, [selector, "[data-quick-exit]"])


def intersect(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def boxes(page: Page, selector: str) -> list[dict]:
    """The boxes of the visible elements matching the selector."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((element) => element.getClientRects().length)
            .map((element) => element.getBoundingClientRect().toJSON())""",
        selector,
    )


def one_row(row: list[dict]) -> bool:
    """Whether the boxes sit side by side on one line: every vertical span overlaps every other."""
    return all(a["top"] < b["bottom"] and b["top"] < a["bottom"] for a in row for b in row)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_phone_header_takes_two_rows_and_links_to_search(new_context, demo, lang):
    page = new_context(**DEVICES["phone"]).new_page()
    recorder = watch(page, demo)
    page.goto(PART.format(lang=lang))
    header = page.locator(".site-header")
    # The name and the languages on one row, the sections and search on the next; nothing else.
    first_row = boxes(page, ".site-header__brand, .language-switcher li")
    second_row = boxes(page, ".site-nav li")
    assert len(first_row) == 3 and len(second_row) == 3
    assert one_row(first_row) and one_row(second_row), (first_row, second_row)
    assert min(box["top"] for box in second_row) >= max(box["bottom"] for box in first_row) - 4
    assert header.bounding_box()["height"] <= 100, header.bounding_box()
    expect(page.locator(".site-header .site-search")).to_be_hidden()
    search = page.locator(".site-nav").get_by_role("link", name="Search" if lang == "en" else "검색")
    expect(search).to_be_visible()
    search.click()
    expect(page).to_have_url(re.compile(rf"/{lang}/search/$"))
    expect(page.locator("main input[type=search]")).to_be_visible()
    recorder.assert_clean()


def test_the_desktop_header_keeps_its_search_box_on_one_row(new_context, demo):
    page = new_context(**DEVICES["desktop"]).new_page()
    page.goto(PART.format(lang="en"))
    expect(page.locator(".site-header .site-search input")).to_be_visible()
    expect(page.locator(".site-nav__search")).to_be_hidden()
    assert page.locator(".site-header").bounding_box()["height"] <= 70


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_on_a_phone_the_quick_exit_never_rests_on_the_text_or_the_next_part_link(new_context, demo, lang):
    page = new_context(**DEVICES["phone"]).new_page()
    recorder = watch(page, demo)
    page.goto(PART.format(lang=lang))
    page.locator(".warning-gate__summary").click()
    button = page.locator("[data-quick-exit]")
    next_link = page.locator(".part-nav a[rel=next]")
    expect(next_link).to_be_visible()

    # The end of the part: the last paragraph, then the next-part link, each brought to the bottom of the screen
    # as far as scrolling into view goes (a jump link, Tab, or a reader stopping there).
    for target in (page.locator(".part__body p").last, next_link):
        target.evaluate("(element) => element.scrollIntoView({block: 'end'})")
        expect(target).to_be_in_viewport()
        assert not intersect(target.bounding_box(), button.bounding_box()), (target, button.bounding_box())
    page.screenshot(path=SCREENSHOTS / f"{lang}-phone-part-next-link-above-quick-exit.png", animations="disabled")

    # Reached with the keyboard, the link is scrolled clear of the bar too.
    page.evaluate("window.scrollTo(0, 0)")
    next_link.focus()
    assert not intersect(next_link.bounding_box(), button.bounding_box())

    # At the very end of the page nothing is under it, and the link can be tapped (no element on top of it).
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert covered_by_quick_exit(page) == []
    next_link.scroll_into_view_if_needed()
    next_link.click(trial=True)
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    recorder.assert_clean()


@pytest.mark.parametrize("path", [PART, CAMPAIGN])
def test_on_a_desktop_the_quick_exit_sits_beside_the_column_at_every_scroll(new_context, demo, path):
    page = new_context(**DEVICES["desktop"]).new_page()
    page.goto(path.format(lang="ko"))
    if page.locator(".warning-gate__summary").count():
        page.locator(".warning-gate__summary").click()
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height, WIDE["height"] // 2):
        page.evaluate(f"window.scrollTo(0, {top})")
        assert covered_by_quick_exit(page) == [], top
        assert covered_by_quick_exit(page, "main *") == [], top


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_campaigns_actions_stand_beside_the_letter_on_wide_screens(new_context, demo, lang):
    desktop = new_context(**DEVICES["desktop"]).new_page()
    desktop.goto(CAMPAIGN.format(lang=lang))
    letter = desktop.locator(".action--letter").bounding_box()
    side = desktop.locator(".campaign__side")
    expect(side.locator(".action")).to_have_count(4)
    side_box = side.bounding_box()
    assert side_box["x"] >= letter["x"] + letter["width"], (letter, side_box)
    # Beside it, not below: the two columns share the same stretch of the page.
    assert side_box["y"] < letter["y"] + letter["height"] and letter["y"] < side_box["y"] + side_box["height"]
    # Together they fill the column the header sits in, up to the page's width.
    main = desktop.locator(".site-main").bounding_box()
    assert side_box["x"] + side_box["width"] > main["x"] + main["width"] - 40

    phone = new_context(**DEVICES["phone"]).new_page()
    phone.goto(CAMPAIGN.format(lang=lang))
    letter = phone.locator(".action--letter").bounding_box()
    first_side_action = phone.locator(".campaign__side .action").first.bounding_box()
    # One column: the other actions follow the letter, at its width.
    assert first_side_action["y"] >= letter["y"] + letter["height"]
    assert abs(first_side_action["width"] - letter["width"]) < 1
    assert phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


TEXT_TYPES = {"document", "stylesheet", "script"}


def test_a_part_page_stays_light(new_context, demo):
    """Measure what a reader downloads for a part (HTML, CSS, JS, images), raw and gzip-compressed."""
    page = new_context(**DEVICES["phone"]).new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(PART.format(lang="en"), wait_until="networkidle")
    weight: dict[str, dict[str, int]] = {}
    for response in responses:
        kind = response.request.resource_type
        if response.headers.get("content-type", "").startswith("image/"):
            kind = "image"  # the icon is fetched as "other"
        body = response.body()
        sizes = weight.setdefault(kind, {"files": 0, "bytes": 0, "gzip": 0})
        sizes["files"] += 1
        sizes["bytes"] += len(body)
        # Text is served compressed (whitenoise's .gz files in production); images are compressed already.
        sizes["gzip"] += len(gzip.compress(body, 9)) if kind in TEXT_TYPES else len(body)
    total = {key: sum(sizes[key] for sizes in weight.values()) for key in ("files", "bytes", "gzip")}
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "part-page-weight.json").write_text(json.dumps({"by_type": weight, "total": total}, indent=2))
    print("part page weight:", json.dumps({"by_type": weight, "total": total}))

    assert set(weight) <= {"document", "stylesheet", "script", "image"}, weight  # no fonts, no third parties
    assert weight["document"]["files"] == 1
    # The budget: HTML, CSS and JavaScript in 30 kB on the wire (14 kB when this was written), 100 kB unpacked;
    # the demo part has no photo, so its images are the icon alone.
    text = {key: sum(weight[kind][key] for kind in TEXT_TYPES if kind in weight) for key in ("bytes", "gzip")}
    assert text["gzip"] <= 30_000, weight
    assert text["bytes"] <= 100_000, weight
    assert weight.get("image", {"bytes": 0})["bytes"] <= 150_000, weight


SCREENS = {"home": "/{lang}/", "part": PART, "campaign": CAMPAIGN}


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("device", DEVICES)
def test_layout_screenshots(new_context, demo, lang, device):
    page = new_context(**DEVICES[device]).new_page()
    recorder = watch(page, demo)
    for name, path in SCREENS.items():
        page.goto(path.format(lang=lang))
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        screenshot(page, f"layout-{lang}-{device}-{name}")
        page.screenshot(path=SCREENSHOTS / f"layout-{lang}-{device}-{name}-screen.png", animations="disabled")
    recorder.assert_clean()
