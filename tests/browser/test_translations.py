"""Korean readers meet untranslated parts with a notice, and a translator drafts and submits an update."""

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from stories.management.commands import load_demo
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch

pytestmark = pytest.mark.browser

PROFILE = "/stories/the-teacher-who-kept-counting/part-1/"


def test_korean_reader_hits_an_untranslated_part_and_follows_the_notice(page: Page, demo):
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        recorder = watch(page, demo)
        recorder.expect_not_found(f"/ko{PROFILE}")

        page.goto("/ko/stories/dawns-story/part-1/")
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(page.get_by_role("heading", level=1)).to_contain_text("겨울의 강")

        # A link someone shared to the Korean address of a part that is still in review.
        page.goto(f"/ko{PROFILE}")
        notice = page.locator(".language-notice")
        expect(notice).to_contain_text("이 편은 아직 한국어로 읽을 수 없습니다.")
        expect(page.get_by_text("Arithmetic")).to_have_count(0)  # no English text under the Korean label
        screenshot(page, f"translation-notice-ko-{size_name}")

        notice.get_by_role("link", name=re.compile("영어로 읽기")).click()
        expect(page).to_have_url(re.compile(rf"/en{PROFILE}$"))
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Arithmetic")
        screenshot(page, f"translation-notice-followed-en-{size_name}")

        page.goto("/ko/")
        elsewhere = page.locator(".elsewhere")
        expect(elsewhere).to_contain_text("영어로만 제공")
        expect(elsewhere.locator("a[lang=en]")).to_have_count(1)
        screenshot(page, f"home-with-untranslated-ko-{size_name}")
        recorder.assert_clean()


def sign_in(page: Page, username: str, password: str, next_url: str) -> None:
    page.goto(f"/admin/login/?next={next_url}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()


def test_translator_drafts_and_submits_an_update_of_a_stale_translation(page: Page, demo):
    """A translator working in the Korean interface brings Dawn's updated original into English."""
    # The demo's passwords are kept per database: this test's is the one the live server reads.
    passwords = json.loads(Path(os.environ["DEMO_CREDENTIALS_FILE"]).read_text())[load_demo.database_identity()]
    page.set_viewport_size(DESKTOP)
    recorder = watch(page, demo)
    sign_in(page, "demo-translator", passwords["demo-translator"], "/ko/translate/")

    expect(page.get_by_role("heading", level=1)).to_have_text("번역 작업 공간")
    expect(page.locator("progress").first).to_be_visible()
    # Each language lists its newest stories that still need work, not every story.
    into_english = page.locator("section.progress-section", has=page.locator("#progress-en"))
    expect(into_english.locator(".progress-list__item", has_text="새벽의 이야기")).to_have_count(1)
    screenshot(page, "workspace-dashboard-ko-desktop")

    page.get_by_role("link", name="영어로 번역").first.click()
    # The queue opens on the stories that need work; the whole list is one link away.
    expect(page.locator(".queue-filter [aria-current=page]")).to_have_text("작업이 필요한 이야기")
    dawn = page.locator("section.queue-story", has_text="새벽의 이야기")
    screenshot(page, "workspace-queue-ko-desktop")
    stale_row = dawn.locator("tr", has_text="1편")
    expect(stale_row).to_contain_text("수정 필요")
    stale_row.get_by_role("link").click()

    changes = page.locator(".changes")
    expect(changes).to_be_visible()
    expect(changes.locator("ins")).not_to_have_count(0)
    expect(page.locator(".source__text").first).to_have_attribute("lang", "ko")
    screenshot(page, "workspace-edit-ko-desktop")

    body = page.get_by_label("본문")
    body.fill(body.input_value() + " Its thin, high sound still comes back on nights when I cannot sleep.")
    page.get_by_role("button", name="초안 저장").click()
    expect(page.locator(".messages")).to_contain_text("초안을 저장했습니다")
    expect(page.locator(".workspace-status")).to_contain_text("초안")

    page.get_by_role("button", name="검토 요청").click()
    expect(page.locator(".messages")).to_contain_text("검토를 요청했습니다")
    expect(page.locator(".workspace-status")).to_contain_text("검토 중")
    # A translator never gets the editor's approve button.
    expect(page.get_by_role("button", name="승인")).to_have_count(0)
    page.set_viewport_size(PHONE)
    screenshot(page, "workspace-edit-ko-phone")

    # The same page in the English interface.
    page.goto(page.url.replace("/ko/translate/", "/en/translate/"))
    expect(page.locator(".workspace-status")).to_contain_text("In review")
    screenshot(page, "workspace-edit-en-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "workspace-edit-en-desktop")
    recorder.assert_clean()
