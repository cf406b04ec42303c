"""axe-core on every reader page, in both languages, on a phone and a desktop: no violation at all.

axe-core is vendored (tests/browser/vendor/, its README says how and which version) and put into the page with
page.evaluate, which the site's Content Security Policy does not apply to; the page itself keeps its CSP.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from stories.views import StoryListView
from tests.browser.conftest import DESKTOP, PHONE, watch
from tests.conftest import make_part, make_story

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
CAMPAIGN = "/{lang}/act/stop-forced-returns/"
PART = "/{lang}/stories/dawns-story/part-2/"
DEVICES = {
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": DESKTOP},
}
# A word of the demo serial in each language, so the search page shows results, not only its help.
SEARCH_WORD = {"en": "river", "ko": "강"}
NO_SUCH_WORD = {"en": "zzzqqq", "ko": "쀍쀍쀍"}


def axe_source() -> str:
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, f"{AXE} is not the vendored axe-core {AXE_VERSION}"
    return source.decode()


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core's default rules (WCAG 2.x A and AA, and its best practices) on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    assert page.evaluate("axe.version") == AXE_VERSION
    return page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map((violation) => ({
                id: violation.id,
                impact: violation.impact,
                help: violation.help,
                helpUrl: violation.helpUrl,
                nodes: violation.nodes.map((node) => ({
                    target: node.target.join(" "),
                    summary: node.failureSummary,
                })),
            }));
        }"""
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core found {len(violations)} violation(s) on {what} ({page.url}):\n" + describe(
        violations
    )


# The other language's letters: Hangul on an English page; on a Korean page, a Latin word of three letters or
# more once e-mail addresses, web addresses and key names are taken out. Proper names are exempt (WCAG 3.1.2)
# when marked translate="no".
OTHER_SCRIPT = {"en": r"[\uac00-\ud7a3]", "ko": r"[A-Za-z]{3,}"}
LANG_CHECK = """([lang, pattern]) => {
    const other = new RegExp(pattern);
    const strip = (text) => text.replace(/\\S+@\\S+|https?:\\/\\/\\S+/g, "");
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const element = node.parentElement;
        // translate="no" marks a proper name (a photographer's credit, say), which WCAG 3.1.2 exempts.
        if (element.closest("kbd, script, style, [hidden], [translate=no]")) continue;
        const text = strip(node.textContent).trim();
        if (text && other.test(text) && element.closest("[lang]").lang === lang) {
            found.push(`${element.tagName.toLowerCase()}.${element.className}: ${text.slice(0, 80)}`);
        }
    }
    for (const element of document.querySelectorAll("[alt], [aria-label], [title]")) {
        for (const name of ["alt", "aria-label", "title"]) {
            const value = strip(element.getAttribute(name) || "");
            if (other.test(value) && element.closest("[lang]").lang === lang) {
                found.push(`${element.tagName.toLowerCase()}[${name}]: ${value.slice(0, 80)}`);
            }
        }
    }
    return found;
}"""


def assert_other_language_is_marked(page: Page, lang: str) -> None:
    """Text in the other language sits inside an element with its lang, so a screen reader switches voice."""
    unmarked = page.evaluate(LANG_CHECK, [lang, OTHER_SCRIPT[lang]])
    assert not unmarked, f"text in the other language without a lang attribute on {page.url}:\n" + "\n".join(unmarked)


@pytest.fixture
def korean_only_part(demo, monkeypatch):
    """A second Korean story whose part has no English text yet: a not-in-language page in English, and a
    second page of the story index in each language once a page holds one story."""
    monkeypatch.setattr(StoryListView, "paginate_by", 1)
    story = make_story(
        slug="letters-from-the-coast",
        title_en="",
        summary_en="",
        title_ko="바닷가에서 보낸 편지",
        summary_ko="시험을 위해 지어낸 이야기입니다.",
        original_language="ko",
    )
    return make_part(
        story=story,
        title_en="",
        summary_en="",
        body_en="",
        title_ko="첫 편지",
        summary_ko="바닷가 마을에서 쓴 첫 편지.",
        body_ko="바닷가 마을의 아침은 조용했습니다. 시험을 위해 지어낸 글입니다.",
    )


def reader_pages(lang: str, english_only_path: str) -> list[tuple[str, str, int]]:
    """Every kind of reader page: (name, path, status)."""
    korean_only_path = f"/{lang}/stories/letters-from-the-coast/part-1/"
    return [
        ("home", f"/{lang}/", 200),
        ("story index", f"/{lang}/stories/", 200),
        ("story", f"/{lang}/stories/dawns-story/", 200),
        ("part with content warnings", PART.format(lang=lang), 200),
        ("campaign", CAMPAIGN.format(lang=lang), 200),
        ("newsletter sign-up", f"/{lang}/newsletter/", 200),
        ("newsletter sent", f"/{lang}/newsletter/sent/", 200),
        ("search results", f"/{lang}/search/?q={SEARCH_WORD[lang]}", 200),
        ("search without results", f"/{lang}/search/?q={NO_SUCH_WORD[lang]}", 200),
        ("404", f"/{lang}/stories/no-such-story/", 404),
        ("not in this language", english_only_path if lang == "ko" else korean_only_path, 404),
    ]


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("device", DEVICES)
def test_every_reader_page_passes_axe(korean_only_part, new_context, demo, lang, device):
    page = new_context(**DEVICES[device]).new_page()
    recorder = watch(page, demo)

    # The Korean not-in-language page: the address of the demo's English-only part, in Korean.
    page.goto("/ko/")
    english_only = page.locator(".elsewhere a[lang=en]").first.get_attribute("href")
    english_only_in_korean = re.sub(r"^/en/", "/ko/", english_only)

    checked = []
    for name, path, status in reader_pages(lang, english_only_in_korean):
        if status == 404:
            recorder.expect_not_found(path)
        response = page.goto(path)
        assert response.status == status, path
        expect(page.locator("html")).to_have_attribute("lang", lang)
        if name == "search results":
            expect(page.locator(".search-result").first).to_be_visible()
        if name == "not in this language":
            expect(page.locator(".language-notice")).to_be_visible()
        assert_accessible(page, name)
        assert_other_language_is_marked(page, lang)
        checked.append(name)

        if name == "story index":
            # A theme, then a later page of the index.
            page.locator(".theme-filter__link").nth(1).click()
            expect(page).to_have_url(re.compile(r"\?theme="))
            assert_accessible(page, "story index filtered by a theme")
            page.goto(path)
            page.locator(".pagination a[rel=next]").click()
            expect(page).to_have_url(re.compile(r"\?page=2"))
            expect(page.locator(".pagination__status")).to_be_visible()
            assert_accessible(page, "story index, second page")
            assert_other_language_is_marked(page, lang)
            checked += ["theme filter", "later page"]

        if name == "campaign":
            # Again once the reader has picked a country and its offices are shown.
            page.locator("[data-country-select]").select_option(index=1)
            expect(page.locator("details.recipients__country:visible")).to_have_count(1)
            assert_accessible(page, "campaign with a country picked")
            checked.append("campaign with a country")

        if name == "part with content warnings":
            # Again with the story opened behind its warning, and with the keyboard's focus on the quick exit.
            expect(page.locator(".part__body")).to_be_hidden()
            page.locator(".warning-gate__summary").click()
            expect(page.locator(".part__body")).to_be_visible()
            assert_accessible(page, "part with its story opened")
            assert_other_language_is_marked(page, lang)
            page.locator("[data-quick-exit]").focus()
            assert_accessible(page, "part with the quick exit focused")
            checked.append("opened part")

    assert len(checked) == 15
    recorder.assert_clean()


def test_the_quick_exit_is_inside_a_landmark_and_first_after_the_skip_link(new_context, demo):
    page = new_context(viewport=PHONE).new_page()
    page.goto(PART.format(lang="ko"))
    button = page.locator("[data-quick-exit]")
    assert button.evaluate("(link) => link.closest('header, main, nav, footer, aside, [role]')?.tagName") == "HEADER"
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    # Its name says where it leads, in the reader's language.
    expect(button).to_have_accessible_name(re.compile("바로 나가기"))


def test_the_vendored_axe_finds_what_it_is_meant_to(new_context, demo):
    """The check can fail: on a page with a known fault, axe reports it and the message names it."""
    page = new_context(viewport=DESKTOP).new_page()
    page.goto("/en/")
    page.evaluate(
        """() => {
            const image = document.createElement("img");
            image.src = "/static/img/favicon.svg";
            document.querySelector("main").append(image);
            document.querySelector(".site-header__brand").style.color = "#bbb";
        }"""
    )
    violations = axe_violations(page)
    assert {"image-alt", "color-contrast"} <= {violation["id"] for violation in violations}, json.dumps(violations)
    with pytest.raises(AssertionError, match=r"image-alt \(critical\)"):
        assert_accessible(page, "a page with a fault")
