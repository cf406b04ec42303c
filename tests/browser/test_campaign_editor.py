"""A campaign manager edits the demo campaign: fields by kind, the live count for X, a pasted list of recipients.

Then readers see the campaign's photo and the press strip, in both languages, on a phone and a desktop.
Screenshots land in screenshots/.
"""

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from advocacy.models import Action, Campaign, Recipient
from advocacy.sharing import x_post_length
from stories.management.commands import load_demo
from tests.advocacy.test_action_form import X_CASES
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch

pytestmark = pytest.mark.browser

SLUG = "stop-forced-returns"
EXTRA_CASES = [
    "Mixed 한글 and https://example.org/x, then x.co and 中文 🇰🇷",
    "Tabs\tstay\tinside and a zero\u200bwidth space goes",
    "Trailing spaces on lines   \n  and leading ones",
    "\u2028Line separators\u2029 and NEL\x85 break lines",
]
LIST = (
    "name,email,country,name_ko\n"
    "Embassy in Bern,embassy-bern@example.org,Switzerland,베른 대사관\n"
    "Office for Displaced People,displaced-office@example.org,International organisations,실향민 사무소\n"
)


def sign_in(page: Page) -> None:
    passwords = json.loads(Path(os.environ["DEMO_CREDENTIALS_FILE"]).read_text())[load_demo.database_identity()]
    page.goto("/admin/login/")
    page.locator("#id_username").fill("demo-campaign-manager")
    page.locator("#id_password").fill(passwords["demo-campaign-manager"])
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()


def inline_of(page: Page, kind: str):
    """The action inline whose kind menu is set to this kind."""
    index = page.evaluate(
        "kind => [...document.querySelectorAll('select[data-kind-fields]')]"
        ".filter(s => !s.name.includes('__prefix__')).findIndex(s => s.value === kind)",
        kind,
    )
    assert index >= 0, kind
    return page.locator(f"#actions-{index}"), index


def test_the_script_counts_every_post_as_the_server_does(page: Page, demo):
    page.set_viewport_size(DESKTOP)
    sign_in(page)
    campaign = Campaign.objects.get(slug=SLUG)
    page.goto(f"/admin/advocacy/campaign/{campaign.pk}/change/")
    texts = [text for text, _length in X_CASES] + EXTRA_CASES
    counted = page.evaluate("texts => texts.map(text => window.advocacyAdmin.xPostLength(text))", texts)
    assert counted == [x_post_length(text) for text in texts]


def test_a_campaign_manager_sees_the_fields_of_each_kind_and_the_live_count(new_context, demo):
    page = new_context(viewport=DESKTOP).new_page()
    recorder = watch(page, demo)
    sign_in(page)
    campaign = Campaign.objects.get(slug=SLUG)
    page.goto(f"/admin/advocacy/campaign/{campaign.pk}/change/")

    social, index = inline_of(page, "social")
    expect(social.locator(f"textarea[name='actions-{index}-post_template_en']")).to_be_visible()
    expect(social.locator(".field-subject_template_en")).to_be_hidden()
    expect(social.locator(".field-url")).to_be_hidden()
    expect(social.locator(".field-recipients")).to_be_hidden()
    expect(social.locator(".field-import_recipients")).to_be_hidden()
    # The language tabs of a hidden field go with it.
    expect(social.locator(".ui-tabs", has=page.locator(".field-subject_template_en"))).to_be_hidden()
    expect(social.locator(".ui-tabs", has=page.locator(".field-post_template_en"))).to_be_visible()
    letter, _letter_index = inline_of(page, "letter")
    expect(letter.locator(".field-recipients")).to_be_visible()
    expect(letter.locator(".field-post_template_en")).to_be_hidden()

    post = social.locator(f"textarea[name='actions-{index}-post_template_en']")
    at_limit = next(text for text, length in X_CASES if length == 280)
    over = next(text for text, length in X_CASES if length == 281)
    post.fill(over)
    count = social.locator(".x-count").first
    expect(count).to_have_text("281 of 280 characters as X counts them, with the campaign link: cut 1 character.")
    expect(count).to_have_class("help x-count x-count--over")
    # Under the field, not beside it.
    box, field = count.bounding_box(), post.bounding_box()
    assert box["y"] >= field["y"] + field["height"] and abs(box["x"] - field["x"]) < 16
    post.fill(at_limit)
    expect(count).to_contain_text("280 of 280 characters as X counts them")
    expect(count).to_have_class("help x-count")
    post.fill("읽고 행동해 주세요 https://example.org/a/long/link")
    expect(count).to_contain_text(f"{x_post_length('읽고 행동해 주세요 https://example.org/a/long/link')} of 280")
    screenshot(page, "admin-campaign-action-social-desktop")

    # Another kind chosen: its fields appear, the post's go.
    social.locator(f"select[name='actions-{index}-kind']").select_option("donate")
    expect(social.locator(".field-url")).to_be_visible()
    expect(social.locator(".field-post_template_en")).to_be_hidden()
    height = page.evaluate("document.documentElement.scrollHeight")
    screenshot(page, "admin-campaign-form-by-kind-desktop")
    recorder.assert_clean()

    # Without JavaScript every field of every action is there, and the form still saves.
    plain = new_context(viewport=DESKTOP, java_script_enabled=False).new_page()
    sign_in(plain)
    plain.goto(f"/admin/advocacy/campaign/{campaign.pk}/change/")
    expect(plain.locator(f"#actions-{index} .field-subject_template_en")).to_be_visible()
    expect(plain.locator(f"#actions-{index} .field-url")).to_be_visible()
    assert plain.evaluate("document.documentElement.scrollHeight") > height
    plain.locator("input[name=_continue]").click()
    expect(plain.locator(".messagelist .success")).to_be_visible()


def test_a_campaign_manager_pastes_a_list_of_recipients_previews_it_and_saves_it(new_context, demo):
    page = new_context(viewport=DESKTOP).new_page()
    recorder = watch(page, demo)
    sign_in(page)
    letter = Action.objects.get(campaign__slug=SLUG, kind=Action.Kind.LETTER)
    before = letter.recipients.count()
    page.goto(f"/admin/advocacy/recipient/import/?action={letter.pk}")
    page.locator("#id_text").fill(LIST + "Nowhere office,nowhere@example.org,Atlantis,어디에도 없는 곳\n")
    page.locator("input[name=preview]").click()
    expect(page.locator(".recipient-import__row--error")).to_have_count(1)
    expect(page.locator(".recipient-import__row--error")).to_contain_text("No country or group is called “Atlantis”")
    expect(page.locator("input[name=confirm]")).to_have_count(0)
    screenshot(page, "admin-recipient-import-errors-desktop")
    assert not Recipient.objects.filter(email="embassy-bern@example.org").exists()

    # The same preview open in a second tab, as after a double click or a reload.
    second = page.context.new_page()
    for tab in (page, second):
        tab.goto(f"/admin/advocacy/recipient/import/?action={letter.pk}")
        tab.locator("#id_text").fill(LIST)
        tab.locator("input[name=preview]").click()
        expect(tab.locator(".recipient-import__table tbody tr")).to_have_count(2)
    expect(page.locator(".recipient-import__table")).to_contain_text("New recipient")
    screenshot(page, "admin-recipient-import-preview-desktop")
    page.locator("input[name=confirm]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("2 new recipients saved. 2 recipients added")
    assert letter.recipients.count() == before + 2
    # Confirmed again from the other tab: nothing is saved twice.
    second.locator("input[name=confirm]").click()
    expect(second.locator(".messagelist .warning")).to_contain_text("Nothing was saved")
    assert letter.recipients.count() == before + 2
    assert Recipient.objects.filter(email="displaced-office@example.org", group__isnull=False).count() == 1
    recorder.assert_clean()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_readers_see_the_campaign_photo_and_the_press_strip(new_context, demo, lang):
    caption = {"en": "Candles left by readers", "ko": "독자들이 놓고 간 촛불"}[lang]
    strip_title = {"en": "As seen in", "ko": "언론 보도"}[lang]
    for name, size in [("desktop", DESKTOP), ("phone", PHONE)]:
        page = new_context(viewport=size).new_page()
        recorder = watch(page, demo)
        page.goto(f"/{lang}/act/{SLUG}/")
        photo = page.locator(".campaign-photo__img")
        expect(photo).to_be_visible()
        assert photo.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
        expect(page.locator(".campaign-photo__caption")).to_contain_text(caption)
        screenshot(page, f"{lang}-{name}-campaign-photo")

        page.goto(f"/{lang}/")
        strip = page.locator(".press-strip")
        expect(strip.locator(".press-strip__title")).to_have_text(strip_title)
        expect(strip.locator("img")).to_have_count(4)
        for logo in strip.locator("img").all():
            logo.scroll_into_view_if_needed()
            assert logo.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
            assert "/press/" in logo.evaluate("image => image.currentSrc")
        strip.scroll_into_view_if_needed()
        screenshot(page, f"{lang}-{name}-home-press-strip")
        page.goto(f"/{lang}/stories/dawns-story/part-1/")
        expect(page.locator(".press-strip img")).to_have_count(4)
        recorder.assert_clean()
