"""The part form follows a photo the task worker is processing, without a reload, under the admin's CSP."""

import json
import os
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from stories import services
from stories.management.commands import load_demo
from stories.models import Part, StoryImage
from tests.background.test_queue import DATABASE_TASKS, work
from tests.browser.conftest import DESKTOP, screenshot, watch
from tests.stories.test_images import encode, noise


def test_the_part_form_shows_a_photo_waiting_then_its_clean_copy_without_a_reload(page: Page, demo, settings):
    settings.TASKS = DATABASE_TASKS  # production's queue: nothing runs until the worker below
    passwords = json.loads(Path(os.environ["DEMO_CREDENTIALS_FILE"]).read_text())[load_demo.database_identity()]
    part = Part.objects.get(story__slug="dawns-story", number=1)
    image = services.story_image_save(
        image=StoryImage(
            part=part,
            original=SimpleUploadedFile("river.jpg", encode(noise(1600, 1200), "JPEG")),
            alt_text_ko="새벽의 강.",
            shows_identifiable_person=False,
        )
    )
    assert image.processing == StoryImage.Processing.WAITING
    page.set_viewport_size(DESKTOP)
    recorder = watch(page, demo)
    page.goto("/admin/login/")
    page.locator("#id_username").fill("demo-editor")
    page.locator("#id_password").fill(passwords["demo-editor"])
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()

    page.goto(f"/admin/stories/part/{part.pk}/change/")
    waiting = page.locator(f'[data-photo="{image.pk}"]')
    expect(waiting).to_have_attribute("data-state", "waiting")
    expect(waiting).to_contain_text("Waiting to be processed. Readers see it once it is ready.")
    page.locator("#id_title_ko").fill("편집 중인 제목")  # an edit in progress, which a reload would lose
    screenshot(page, "admin-photo-waiting-desktop")

    work()

    ready = page.locator(f'img[data-photo="{image.pk}"]')
    expect(ready).to_have_attribute("data-state", "ready", timeout=15_000)
    assert ready.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    expect(page.locator("#id_title_ko")).to_have_value("편집 중인 제목")
    screenshot(page, "admin-photo-ready-desktop")
    recorder.assert_clean()
