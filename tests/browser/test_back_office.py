"""The back office works under its Content-Security-Policy: no page staff open raises a violation."""

import base64
import json
import os
from pathlib import Path

from django.conf import settings
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from stories.management.commands import load_demo
from stories.models import Part, Story, Storyteller
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch


def test_an_editor_works_through_the_admin_under_its_content_security_policy(page: Page, demo):
    passwords = json.loads(Path(os.environ["DEMO_CREDENTIALS_FILE"]).read_text())[load_demo.database_identity()]
    part = Part.objects.get(story__slug="dawns-story", number=1)
    page.set_viewport_size(DESKTOP)
    recorder = watch(page, demo)

    login = page.goto("/admin/login/")
    assert "default-src 'self'" in login.headers["content-security-policy"]
    page.locator("#id_username").fill("demo-editor")
    page.locator("#id_password").fill(passwords["demo-editor"])
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()

    page.goto("/admin/stories/part/")
    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#action-toggle").check()  # the change list's own script selects every row
    expect(page.locator(".action-counter")).to_contain_text("selected")

    page.goto(f"/admin/stories/part/{part.pk}/change/")
    # modeltranslation's language tabs, the date and time shortcuts, the story autocomplete, the photo inline.
    # (Dawn's story is a Korean original: its text has a Korean tab alone; English is the translation.)
    page.locator(".ui-tabs-nav a", has_text="KO").first.click()
    expect(page.locator(".ui-tabs-nav .ui-tabs-active").first).to_have_attribute("aria-controls", "tab_id_title_ko")
    page.locator(".datetimeshortcuts a", has_text="Today").first.click()
    page.locator(".select2-selection").first.click()
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.keyboard.press("Escape")
    page.locator(".add-row a").first.click()
    expect(page.locator(".inline-related:not(.empty-form)").last).to_be_visible()
    screenshot(page, "admin-part-change-desktop")

    page.goto("/admin/stories/story/add/")
    page.locator("#id_title_en").fill("A new invented story")
    page.locator("#id_title_en").press("Tab")  # the admin fills the slug on keyup or change
    expect(page.locator("#id_slug")).to_have_value("a-new-invented-story")  # prepopulated by the admin's script
    expect(page.locator(".selector-available").first).to_be_visible()  # the themes' two-list widget

    # A story with no Korean title yet is named by its English one in a Korean back office, marked as English.
    story = part.story
    Story.objects.filter(pk=story.pk).update(title_ko="")
    for language, marked, size in (("en", story.title_en, DESKTOP), ("ko", f"{story.title_en} (영어)", PHONE)):
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": demo}])
        page.set_viewport_size(size)
        page.goto("/admin/stories/story/")
        expect(page.locator("#result_list th.field-title_shown a", has_text=marked)).to_be_visible()
        screenshot(page, f"admin-story-list-{language}")
    # So does the part form's story picker (the language cookie still Korean, on a phone): the story shown
    # and the one the search offers, which str() names.
    page.goto(f"/admin/stories/part/{part.pk}/change/")
    expect(page.locator(".field-story .select2-selection__rendered")).to_have_text(f"{story.title_en} (영어)")
    page.locator(".field-story .select2-selection").click()
    page.locator(".select2-search__field").fill(story.title_en.split()[0])
    expect(page.locator(".select2-results__option", has_text=f"{story.title_en} (영어)")).to_be_visible()
    screenshot(page, "admin-part-story-picker-ko")
    page.keyboard.press("Escape")
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": demo}])
    page.set_viewport_size(DESKTOP)

    page.goto(f"/en/preview/parts/{part.pk}/")
    expect(page.locator(".preview-banner")).to_be_visible()

    # A consent officer's first sign-in enrols an authenticator app, from the QR code or the key.
    page.context.clear_cookies()
    page.goto("/admin/login/")
    page.locator("#id_username").fill("demo-consent-officer")
    page.locator("#id_password").fill(passwords["demo-consent-officer"])
    page.locator("input[type=submit]").click()
    expect(page.locator("#second-factor-key")).to_be_visible()
    assert page.locator("#second-factor-qr").evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    screenshot(page, "admin-second-factor-setup-desktop")
    key = page.locator("#second-factor-key").inner_text().replace(" ", "")
    page.locator("#id_token").fill(f"{totp(base64.b32decode(key)):06d}")
    page.locator("#second-factor-form input[type=submit]").click()
    # A storyteller known by an English pseudonym alone is named by it in a Korean back office, marked as
    # English, where the list showed a bare "-".
    teller = Storyteller.objects.order_by("pk").first()
    Storyteller.objects.filter(pk=teller.pk).update(pseudonym_ko="")
    for language, marked, size in (
        ("en", teller.pseudonym_en, DESKTOP),
        ("ko", f"{teller.pseudonym_en} (영어)", PHONE),
    ):
        # The interface language a staff member chose, as the language switcher's cookie keeps it.
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": demo}])
        page.set_viewport_size(size)
        page.goto("/admin/stories/storyteller/")
        expect(page.locator("#result_list")).to_be_visible()
        expect(page.locator("#result_list th.field-pseudonym_shown a", has_text=marked)).to_be_visible()
        screenshot(page, f"admin-storyteller-list-{language}")

    recorder.assert_clean()
