"""Issue 12, done when: an editor and a campaign manager build the pages through the back office, readers read them.

Through the back office in headless Chromium, an editor writes part 3 of a serial (parts 1 and 2 exist) with a
recap line, and a profile (a single piece: a story and its one part); a campaign manager builds a campaign with an
uploaded photo, a letter whose recipients are pasted as a list (two countries and a group for every reader), a
"not listed?" text and a post for X exactly at X's limit. Then a reader opens the part, the profile and the
campaign in English and Korean, and a search, on a phone and a desktop; screenshots go to the test's output dir.

Set up outside the browser, because their screens are out of scope here and tested elsewhere:
- the storyteller and their consent record (services.consent_record, through make_storyteller): recording consent
  takes a consent officer's second factor (tests/browser/test_back_office.py enrols one);
- parts 1 and 2 of the serial (make_part), which the editor's part 3 points back to;
- the Korean translations of the new part and the profile (translations.services: a translator sends a part with
  the story text it needs as one review, an editor approves it), whose workspace has its own tests.
"""

import datetime
import io
import json
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from advocacy.models import Action, Campaign, Recipient
from advocacy.sharing import X_MAX_WEIGHTED_LENGTH, x_post_length
from stories.management.commands import load_demo
from stories.models import Part, Story
from tests.browser.conftest import DESKTOP, PHONE, watch
from tests.conftest import make_part, make_story, make_storyteller
from translations import services as translations

pytestmark = pytest.mark.browser

SIZES = {"phone": PHONE, "desktop": {"width": 1280, "height": 900}}

SERIAL_SLUG = "the-lantern-keepers-story"
PROFILE_TITLE = "Meet Saebyeol, Who Mends Bicycles by the River"
PROFILE_SLUG = "meet-saebyeol-who-mends-bicycles-by-the-river"
PROFILE_KO = "강가에서 자전거를 고치는 새별 님을 만나다"
PART_TITLE = "The Winter Crossing"
PART_KO = "겨울의 강 건너기"
CAMPAIGN_TITLE = "Let the Families at the Border Stay"
CAMPAIGN_SLUG = "let-the-families-at-the-border-stay"
CAMPAIGN_KO = "국경의 가족들이 머물 수 있게 해 주세요"

LIST = (
    "name,email,country,name_ko\n"
    "Embassy office in London,letters-london@example.org,United Kingdom,런던 대사관 사무실\n"
    "Embassy office in Ottawa,letters-ottawa@example.org,Canada,오타와 대사관 사무실\n"
    "Refugee protection desk,protection-desk@example.org,International organisations,난민 보호 창구\n"
)
GROUP_EMAIL = "protection-desk@example.org"
NOT_LISTED = {
    "en": "Write to the refugee protection desk below, and share this page with a friend.",
    "ko": "아래 난민 보호 창구에 편지를 보내 주시고, 이 페이지를 지인과 나누어 주세요.",
}
CAPTION = {"en": "Lanterns lit along the river at dusk", "ko": "해 질 녘 강가에 켜진 등불"}
CREDIT = {"en": "Archive volunteers", "ko": "기록관 자원봉사자"}
# The credit became a translated field while this test was written (migration 0010): it works with either.
CREDIT_TRANSLATED = hasattr(Campaign, "photo_credit_ko")


def post_at_limit() -> str:
    """An invented post that X counts at exactly its limit, with the campaign link."""
    text = (
        "Six families who crossed the river in winter are held at the border and may be sent back within days. "
        "Their stories are in the archive, in their own words. Please read them, then write to an embassy "
        "in your country and ask that the six families may remain."
    )
    assert x_post_length(text) == X_MAX_WEIGHTED_LENGTH
    return text


def small_jpeg(path: Path) -> Path:
    """A small JPEG drawn here: a dusk gradient with a row of warm lights."""
    image = Image.new("RGB", (960, 540))
    pixels = image.load()
    for y in range(540):
        for x in range(960):
            pixels[x, y] = (40 + y // 6, 50 + y // 8, 110 - y // 8)
    for n in range(12):
        cx = 60 + n * 78
        for y in range(380, 400):
            for x in range(cx - 8, cx + 8):
                pixels[x, y] = (250, 200, 90)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def sign_in(page: Page, username: str) -> None:
    passwords = json.loads(Path(os.environ["DEMO_CREDENTIALS_FILE"]).read_text())[load_demo.database_identity()]
    page.context.clear_cookies()
    page.goto("/admin/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(passwords[username])
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()


def pick(page: Page, field: str, search: str, within: str = "") -> None:
    """Choose in an autocomplete (select2) field by typing part of the name."""
    page.locator(f"{within} .field-{field} .select2-selection".strip()).click()
    page.locator(".select2-dropdown .select2-search__field").fill(search)
    page.locator(".select2-results__option", has_text=search).first.click()


def fill_in(page: Page, field_id: str, language: str, value: str) -> None:
    """Open a field's tab in the language (modeltranslation) and type in it."""
    page.locator(f"a[href='#tab_{field_id}_{language}']").click()
    page.locator(f"#{field_id}_{language}").fill(value)


def fill_ko(page: Page, field_id: str, value: str) -> None:
    fill_in(page, field_id, "ko", value)


def publication_time(page: Page) -> None:
    when = timezone.localtime(timezone.now() - datetime.timedelta(hours=1))
    page.locator("#id_published_at_0").fill(when.strftime("%Y-%m-%d"))
    page.locator("#id_published_at_1").fill(when.strftime("%H:%M:%S"))


def saved(page: Page) -> None:
    expect(page.locator(".errornote")).to_have_count(0)
    expect(page.locator(".messagelist .success")).to_be_visible()


def shoot(page: Page, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=out / f"{name}.png", full_page=True, animations="disabled")


def build_part_with_recap(page: Page, story: Story, first: Part, second: Part) -> Part:
    sign_in(page, "demo-editor")
    page.goto("/admin/stories/part/add/")
    pick(page, "story", "The Lantern Keeper")
    page.locator("#id_number").fill("3")
    page.locator("#id_title_en").fill(PART_TITLE)
    page.locator("#id_summary_en").fill("The ice holds for one night, and the family crosses together.")
    page.locator("#id_body_en").fill(
        "The river froze late that year.\n\n"
        "We waited for three nights in a shed that smelled of diesel, counting lanterns on the far bank.\n\n"
        "On the fourth night my mother tied our wrists together with a scarf, and we walked."
    )
    page.locator("#id_recap_en").fill(
        f"Read [part one]({first.get_absolute_url()}) and [part two]({second.get_absolute_url()}) of her story, "
        "which tell of the lantern shop her father kept and the winter the family decided to leave."
    )
    page.locator("#id_status").select_option("published")
    publication_time(page)
    page.locator("input[name=_continue]").click()
    saved(page)
    return Part.objects.get(story=story, number=3)


def build_profile(page: Page, storyteller) -> Part:
    page.goto("/admin/stories/story/add/")
    page.locator("#id_title_en").fill(PROFILE_TITLE)
    page.locator("#id_title_en").press("Tab")
    expect(page.locator("#id_slug")).to_have_value(PROFILE_SLUG)
    page.locator("#id_summary_en").fill("A repairer of bicycles, and of the afternoons of the people who ride them.")
    page.locator("#id_kind").select_option("single")
    pick(page, "storyteller", storyteller.pseudonym_en)
    page.locator("#id_original_language").select_option("en")
    page.locator("#id_status").select_option("published")
    page.locator("input[name=_save]").click()
    saved(page)
    story = Story.objects.get(slug=PROFILE_SLUG)

    page.goto("/admin/stories/part/add/")
    pick(page, "story", PROFILE_TITLE)
    page.locator("#id_number").fill("1")
    page.locator("#id_title_en").fill(PROFILE_TITLE)
    page.locator("#id_body_en").fill(
        "Her stall opens at eight, under the bridge, with a pump, a box of spokes and a kettle.\n\n"
        "Riders stop for a new chain and stay for tea."
    )
    page.locator("#id_status").select_option("published")
    publication_time(page)
    page.locator("input[name=_continue]").click()
    saved(page)
    return Part.objects.get(story=story, number=1)


def build_campaign(page: Page, photo: Path, post: str) -> Campaign:
    sign_in(page, "demo-campaign-manager")
    page.goto("/admin/advocacy/campaign/add/")
    page.locator("#id_kicker_en").fill("Urgent")
    fill_ko(page, "id_kicker", "긴급")
    page.locator("#id_title_en").fill(CAMPAIGN_TITLE)
    page.locator("#id_title_en").press("Tab")
    expect(page.locator("#id_slug")).to_have_value(CAMPAIGN_SLUG)
    fill_ko(page, "id_title", CAMPAIGN_KO)
    page.locator("#id_byline_en").fill("The archive's editors")
    fill_ko(page, "id_byline", "기록관 편집진")
    page.locator("#id_summary_en").fill("Families who crossed in winter are held at the border. Ask that they stay.")
    fill_ko(
        page, "id_summary", "겨울에 강을 건넌 가족들이 국경에 붙잡혀 있습니다. 머물 수 있게 해 달라고 요청해 주세요."
    )
    page.locator("#id_body_en").fill("Six families wait to hear whether they will be sent back.")
    fill_ko(page, "id_body", "여섯 가족이 강제로 돌려보내질지 기다리고 있습니다.")
    page.locator("#id_not_listed_en").fill(NOT_LISTED["en"])
    fill_ko(page, "id_not_listed", NOT_LISTED["ko"])
    page.locator("#id_photo_upload").set_input_files(photo)
    page.locator("#id_photo_alt_en").fill("Small lights in a row along a dark riverbank")
    fill_ko(page, "id_photo_alt", "어두운 강둑을 따라 줄지어 놓인 작은 불빛들")
    page.locator("#id_photo_caption_en").fill(CAPTION["en"])
    fill_ko(page, "id_photo_caption", CAPTION["ko"])
    if CREDIT_TRANSLATED:
        fill_in(page, "id_photo_credit", "en", CREDIT["en"])
        fill_ko(page, "id_photo_credit", CREDIT["ko"])
    else:
        page.locator("#id_photo_credit").fill(CREDIT["en"])
    page.locator("#id_status").select_option("published")

    add_action = page.locator("#actions-group .add-row a")
    add_action.click()
    page.locator("select[name='actions-0-kind']").select_option("letter")
    # A row added after Korean tabs were opened opens on Korean: the English tab is chosen first.
    fill_in(page, "id_actions-0-subject_template", "en", "Please let the families stay")
    fill_ko(page, "id_actions-0-subject_template", "가족들이 머물 수 있게 해 주십시오")
    fill_in(
        page,
        "id_actions-0-body_template",
        "en",
        "Dear Sir or Madam,\n\nPlease ask that the families at the border are not sent back.\n\n[Your name]",
    )
    fill_ko(
        page,
        "id_actions-0-body_template",
        "관계자께,\n\n국경의 가족들이 강제로 돌려보내지지 않도록 요청해 주십시오.\n\n[이름]",
    )
    add_action.click()
    page.locator("select[name='actions-1-kind']").select_option("social")
    page.locator("a[href='#tab_id_actions-1-post_template_en']").click()
    box = page.locator("#id_actions-1-post_template_en")
    count = page.locator("#actions-1 .x-count").first
    # One character over the limit: the count says what to cut.
    box.fill(post + "!")
    expect(count).to_have_text(
        f"{X_MAX_WEIGHTED_LENGTH + 1} of {X_MAX_WEIGHTED_LENGTH} characters as X counts them, "
        "with the campaign link: cut 1 character."
    )
    expect(count).to_have_class("help x-count x-count--over")
    # Exactly at the limit: it fits, nothing to cut.
    box.fill(post)
    expect(count).to_contain_text(f"{X_MAX_WEIGHTED_LENGTH} of {X_MAX_WEIGHTED_LENGTH} characters as X counts them")
    expect(count).not_to_contain_text("cut")
    expect(count).to_have_class("help x-count")
    fill_ko(
        page,
        "id_actions-1-post_template",
        "겨울에 강을 건넌 가족들이 머물기를 바랍니다. 이야기를 읽고 편지를 보내 주세요.",
    )
    # Shown beside the serial and the profile.
    for row, story in enumerate(["The Lantern Keeper", PROFILE_TITLE]):
        page.locator("#story_links-group .add-row a").click()
        pick(page, "story", story, within=f"#story_links-{row}")
    page.locator("input[name=_continue]").click()
    saved(page)
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    assert campaign.story_links.count() == 2
    assert campaign.photo_key and campaign.actions.get(kind=Action.Kind.SOCIAL).post_template_en == post

    # The recipients, pasted as a list, previewed, then saved at once.
    letter = campaign.actions.get(kind=Action.Kind.LETTER)
    page.goto(f"/admin/advocacy/recipient/import/?action={letter.pk}")
    page.locator("#id_text").fill(LIST)
    page.locator("input[name=preview]").click()
    expect(page.locator(".recipient-import__table tbody tr")).to_have_count(3)
    expect(page.locator(".recipient-import__row--error")).to_have_count(0)
    assert not letter.recipients.exists()
    page.locator("input[name=confirm]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("3 new recipients saved")
    assert letter.recipients.count() == 3
    desk = Recipient.objects.get(email=GROUP_EMAIL)
    assert desk.group is not None and desk.country is None
    return campaign


def translate(part: Part, texts: dict) -> None:
    """A translator sends the part (with the story text it needs) for review as one; an editor approves it."""
    users = get_user_model().objects
    translations.translation_submit_together(
        part=part, language="ko", texts=texts, by=users.get(username="demo-translator")
    )
    translations.translation_approve(obj=part, language="ko", by=users.get(username="demo-editor"))


def test_an_editor_builds_a_part_a_profile_and_a_campaign_and_readers_read_them(
    new_context, demo, output_path, tmp_path
):
    out = Path(output_path)
    storyteller = make_storyteller(pseudonym_en="Lantern Keeper", pseudonym_ko="등불지기")
    serial = make_story(
        storyteller=storyteller,
        slug=SERIAL_SLUG,
        title_en="The Lantern Keeper's Story",
        title_ko="등불지기의 이야기",
        summary_en="A daughter of a lantern maker tells how her family left in winter.",
        summary_ko="등불 만드는 집의 딸이 가족이 겨울에 떠난 이야기를 들려줍니다.",
    )
    first = make_part(
        story=serial,
        title_en="The Shop by the Bridge",
        title_ko="다리 옆 가게",
        summary_en="The lamp shop by the bridge.",
        summary_ko="다리 옆 등 가게.",
        body_en="My father mended lamps in a shop by the bridge, and the whole street came to him.",
        body_ko="아버지는 다리 옆 가게에서 등을 고치셨고, 온 동네 사람들이 아버지를 찾아왔습니다.",
    )
    second = make_part(
        story=serial,
        title_en="The Last Autumn",
        title_ko="마지막 가을",
        summary_en="The autumn before leaving.",
        summary_ko="떠나기 전 가을.",
        body_en="That autumn the shop stayed dark, and my mother began to sew money into our coats.",
        body_ko="그해 가을 가게는 불이 꺼진 채였고, 어머니는 우리 외투에 돈을 꿰매 넣기 시작하셨습니다.",
    )

    page = new_context(viewport=DESKTOP).new_page()
    recorder = watch(page, demo)
    part = build_part_with_recap(page, serial, first, second)
    profile = build_profile(page, make_storyteller(pseudonym_en="Saebyeol", pseudonym_ko="새별"))
    build_campaign(page, small_jpeg(tmp_path / "lanterns.jpg"), post_at_limit())
    recorder.assert_clean()

    assert part.is_public("en") and not part.is_public("ko")
    translate(
        part,
        {
            "part": {
                "title": PART_KO,
                "summary": "하룻밤 얼음이 버텨 주고, 가족은 함께 강을 건넙니다.",
                "body": (
                    "그해에는 강이 늦게 얼었습니다.\n\n"
                    "넷째 날 밤, 어머니는 스카프로 우리 손목을 함께 묶었고, 우리는 걸었습니다."
                ),
                "recap": (
                    f"그가 들려준 [1편](/ko/stories/{SERIAL_SLUG}/part-1/)과 "
                    f"[2편](/ko/stories/{SERIAL_SLUG}/part-2/)은 "
                    "아버지의 등불 가게와 가족이 떠나기로 한 겨울을 이야기합니다."
                ),
            }
        },
    )
    translate(
        profile,
        {
            "part": {"title": PROFILE_KO, "body": "그의 자전거 수리 노점은 아침 여덟 시에 다리 아래에서 문을 엽니다."},
            "story": {"title": PROFILE_KO, "summary": "자전거를 고치고, 타는 이들의 오후도 돌보는 사람."},
        },
    )
    assert part.is_public("ko") and profile.is_public("ko")

    for lang in ("en", "ko"):
        for size_name, size in SIZES.items():
            reader = new_context(viewport=size).new_page()
            recorder = watch(reader, demo)

            # The part: its recap, with links to the earlier parts, instead of the generic links.
            reader.goto(f"/{lang}/stories/{SERIAL_SLUG}/part-3/")
            recap = reader.locator(".part__recap")
            expect(recap).to_be_visible()
            expect(recap.locator("a")).to_have_count(2)
            expect(recap.locator("a").nth(0)).to_have_attribute("href", f"/{lang}/stories/{SERIAL_SLUG}/part-1/")
            expect(recap.locator("a").nth(1)).to_have_attribute("href", f"/{lang}/stories/{SERIAL_SLUG}/part-2/")
            expect(recap).to_contain_text({"en": "lantern shop", "ko": "등불 가게"}[lang])
            expect(reader.locator("nav.part__start")).to_have_count(0)
            expect(reader.locator(".part__title")).to_contain_text({"en": PART_TITLE, "ko": PART_KO}[lang])
            expect(reader.locator(".toc__item")).to_have_count(3)
            campaign_title = {"en": CAMPAIGN_TITLE, "ko": CAMPAIGN_KO}[lang]
            expect(reader.get_by_role("link", name=campaign_title)).to_be_visible()
            shoot(reader, out, f"{lang}-{size_name}-part-with-recap")
            recap.locator("a").nth(1).click()
            expect(reader).to_have_url(f"{demo}/{lang}/stories/{SERIAL_SLUG}/part-2/")

            # The profile: at the story's address, its own title, no numbering, contents or previous/next.
            reader.goto(f"/{lang}/stories/{PROFILE_SLUG}/")
            title = {"en": PROFILE_TITLE, "ko": PROFILE_KO}[lang]
            expect(reader.locator("h1.part__title")).to_have_text(title)
            expect(reader.locator(".part__body")).to_contain_text({"en": "Riders stop", "ko": "다리 아래"}[lang])
            for absent in (".toc", ".part-nav", ".part__kicker", ".part__start"):
                expect(reader.locator(absent)).to_have_count(0)
            assert ("Part 1" if lang == "en" else "1편") not in reader.locator("main").inner_text()
            expect(reader.get_by_role("link", name=campaign_title)).to_be_visible()
            shoot(reader, out, f"{lang}-{size_name}-profile")
            response = reader.goto(f"/{lang}/stories/{PROFILE_SLUG}/part-1/")
            assert response.url == f"{demo}/{lang}/stories/{PROFILE_SLUG}/"

            # The campaign: its photo with caption and credit, the not-listed text, a country and the group.
            reader.goto(f"/{lang}/act/{CAMPAIGN_SLUG}/")
            photo = reader.locator(".campaign-photo__img")
            expect(photo).to_be_visible()
            assert photo.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
            assert "/media/" in photo.evaluate("image => image.currentSrc") or demo in photo.evaluate(
                "image => image.currentSrc"
            )
            expect(reader.locator(".campaign-photo__caption")).to_contain_text(CAPTION[lang])
            expect(reader.locator(".campaign-photo__credit")).to_contain_text(
                CREDIT[lang if CREDIT_TRANSLATED else "en"]
            )
            expect(reader.locator(".recipients__not-listed")).to_contain_text(NOT_LISTED[lang])
            group = reader.locator("section.recipients__everyone")
            expect(group).to_be_visible()
            expect(group.locator(".recipient__email")).to_have_text(GROUP_EMAIL)
            expect(reader.locator("details.recipients__country:visible")).to_have_count(0)
            reader.locator("[data-country-select]").select_option(label={"en": "United Kingdom", "ko": "영국"}[lang])
            shown = reader.locator("details.recipients__country:visible")
            expect(shown).to_have_count(1)
            expect(shown).to_contain_text("letters-london@example.org")
            expect(reader.locator("details.recipients__country").filter(has_text=GROUP_EMAIL)).to_have_count(0)
            expect(group).to_be_visible()
            shoot(reader, out, f"{lang}-{size_name}-campaign")

            # Search finds the new part by a word of its text, in the reader's language.
            reader.goto(f"/{lang}/search/?q=" + {"en": "lanterns", "ko": "등불"}[lang])
            expect(reader.locator(".search-result").first).to_be_visible()
            expect(
                reader.locator(".search-result__title a", has_text={"en": PART_TITLE, "ko": PART_KO}[lang])
            ).to_have_count(1)
            shoot(reader, out, f"{lang}-{size_name}-search")
            recorder.assert_clean()
            reader.context.close()
