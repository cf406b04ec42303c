"""A reader picks a country on the demo campaign and sees its offices, every group's and the not-listed text.

With JavaScript and without it, in both languages. Screenshots land in screenshots/.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch

pytestmark = pytest.mark.browser

SLUG = "stop-forced-returns"
COUNTRY = {"en": "United Kingdom", "ko": "영국"}
GROUP = {"en": "International organisations", "ko": "국제기구"}
NOT_LISTED = {"en": "Write to the international organisations below", "ko": "아래 국제기구에 편지를 보내 주시고"}
GROUP_OFFICE = "refugee-rights-office@example.org"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_reader_sees_their_countrys_offices_and_every_group_with_and_without_javascript(new_context, demo, lang):
    page = new_context(viewport=DESKTOP).new_page()
    recorder = watch(page, demo)
    page.goto(f"/{lang}/act/{SLUG}/")

    group = page.locator("section.recipients__everyone")
    expect(group).to_have_count(1)
    expect(group).to_be_visible()
    expect(group.locator(".recipients__group-title")).to_have_text(GROUP[lang])
    expect(group.locator(".recipient__email")).to_have_text(GROUP_OFFICE)
    expect(page.locator(".recipients__not-listed")).to_be_visible()
    expect(page.locator(".recipients__not-listed")).to_contain_text(NOT_LISTED[lang])
    # Before a choice no country's offices show; the group's do.
    expect(page.locator("details.recipients__country:visible")).to_have_count(0)
    page.locator("[data-country-select]").select_option(label=COUNTRY[lang])
    expect(page.locator("details.recipients__country:visible")).to_have_count(1)
    expect(page.locator("details.recipients__country:visible summary")).to_have_text(COUNTRY[lang])
    expect(group).to_be_visible()
    # The group's office is under no country.
    expect(page.locator("details.recipients__country").filter(has_text=GROUP_OFFICE)).to_have_count(0)
    screenshot(page, f"{lang}-desktop-campaign-recipient-groups")
    recorder.assert_clean()

    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(f"/{lang}/act/{SLUG}/")
    expect(page.locator("[data-country-select]")).to_be_hidden()
    expect(page.locator("details.recipients__country")).to_have_count(5)
    expect(page.locator("section.recipients__everyone")).to_be_visible()
    expect(page.locator("section.recipients__everyone .recipient__email")).to_have_text(GROUP_OFFICE)
    expect(page.locator(".recipients__not-listed")).to_contain_text(NOT_LISTED[lang])
    screenshot(page, f"{lang}-phone-campaign-recipient-groups-no-javascript")
