"""In a browser: a Korean campaign page says which offices are not yet in Korean; a translator sends a part
with the story's and storyteller's text as one review, and a draft part holding an identifying term is held back."""

import datetime
import json
import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from advocacy.models import Action, Campaign, Country, Recipient
from stories.management.commands import load_demo
from stories.models import Part, Story, Storyteller, StorytellerIdentity
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch
from tests.browser.test_translations import sign_in

pytestmark = pytest.mark.browser

CAMPAIGN = "/act/stop-forced-returns/"


def add_english_only_office() -> None:
    country = Country(code="NO", name_en="Norway")
    country.full_clean()
    country.save()
    office = Recipient(
        label_en="Embassy in Oslo", email="oslo-embassy@example.org", kind=Recipient.Kind.EMBASSY, country=country
    )
    office.full_clean()
    office.save()
    action = Campaign.objects.get(slug="stop-forced-returns").actions.get(kind=Action.Kind.LETTER)
    action.recipients.add(office)


def test_the_korean_campaign_page_says_which_offices_are_not_yet_in_korean(page: Page, demo):
    add_english_only_office()
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        recorder = watch(page, demo)
        page.goto(f"/ko{CAMPAIGN}")
        notice = page.locator(".action--letter .language-notice")
        expect(notice).to_contain_text("수신처 1곳의 이름이 아직 한국어로 옮겨지지 않아")
        expect(page.get_by_text("Norway")).to_have_count(0)
        expect(page.get_by_text("Embassy in Oslo")).to_have_count(0)
        notice.scroll_into_view_if_needed()
        screenshot(page, f"campaign-labels-not-in-korean-ko-{size_name}")
        page.goto(f"/en{CAMPAIGN}")
        expect(page.locator(".action--letter .language-notice")).to_have_count(0)
        expect(page.locator("option", has_text="Norway")).to_have_count(1)
        screenshot(page, f"campaign-labels-en-{size_name}")
        recorder.assert_clean()


def test_a_translator_sends_a_part_with_what_it_needs_and_a_held_back_part_is_not_shown(page: Page, demo):
    teller = Storyteller.objects.create(pseudonym_en="Haneul", pseudonym_ko="하늘", bio_en="An invented bio.")
    StorytellerIdentity.objects.create(storyteller=teller, identifying_terms="Saebyeol-dong")
    from stories import services

    services.consent_record(
        storyteller=teller,
        recorded_by=None,
        decision="given",
        review_by=timezone.localdate() + datetime.timedelta(days=365),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
    )
    story = Story.objects.create(
        storyteller=teller, slug="haneul", title_en="Haneul's Story", summary_en="An invented summary.",
        status=Story.Status.PUBLISHED, original_language="en",
    )  # fmt: skip
    part = Part.objects.create(
        story=story, number=1, title_en="The night at the river", body_en="An invented body.",
        status=Part.Status.PUBLISHED, published_at=timezone.now() - datetime.timedelta(days=1),
    )  # fmt: skip
    Part.objects.create(
        story=story, number=2, title_en="A walk", body_en="We walked from Saebyeol-dong at night.",
        status=Part.Status.DRAFT,
    )  # fmt: skip
    passwords = json.loads(Path(os.environ["DEMO_CREDENTIALS_FILE"]).read_text())[load_demo.database_identity()]
    page.set_viewport_size(DESKTOP)
    sign_in(page, "demo-translator", passwords["demo-translator"], "/ko/translate/ko/?show=all")
    row = page.locator(f"#story-{story.pk}")
    expect(row).to_contain_text("보류됨")
    expect(page.get_by_text("Saebyeol-dong")).to_have_count(0)
    row.scroll_into_view_if_needed()
    screenshot(page, "workspace-held-back-ko-desktop")

    for interface, size_name, size in (("en", "desktop", DESKTOP), ("ko", "phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"/{interface}/translate/ko/part/{part.pk}/")
        expect(page.locator('input[name="storyteller-pseudonym"]')).to_have_value("하늘")
        screenshot(page, f"workspace-together-{interface}-{size_name}")
    page.locator("#id_title").fill("강가의 밤")
    page.locator("#id_body").fill("지어낸 한국어 번역.")
    page.locator("#id_story-title").fill("하늘의 이야기")
    page.locator("button[value=submit_together]").click()
    expect(page.locator(".messages")).to_contain_text("함께 검토를 요청했습니다")
    screenshot(page, "workspace-together-sent-ko-phone")
