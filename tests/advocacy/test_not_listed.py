"""The "your country is not listed?" text beside the letter's country menu, editable per campaign."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from advocacy.demo import load_demo_campaigns
from advocacy.models import Action, Campaign
from stories.models import ProtectedTerm
from tests.advocacy.conftest import make_action, make_campaign, make_country, make_recipient

DEFAULTS = {
    "en": "You can still help: send the letter to the nearest embassy or consulate of the same government",
    "ko": "그래도 도울 수 있습니다. 가장 가까운 곳에 있는 그 정부의 대사관이나 영사관에 편지를 보내시거나",
}
TITLES = {"en": "Your country is not listed?", "ko": "사시는 나라가 목록에 없나요?"}


def page(client, campaign, language: str) -> str:
    with translation.override(language):
        url = campaign.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def not_listed_block(html: str) -> str:
    """From the not-listed text to the first country's offices."""
    start = html.index('<div class="recipients__not-listed">')
    return html[start : html.index("<details", start)]


def with_letter(**fields) -> Campaign:
    campaign = make_campaign(**fields)
    office = make_recipient(country=make_country("GB", "United Kingdom", "영국"), email="london@example.org")
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[office])
    return campaign


@pytest.mark.parametrize("language", ["en", "ko"])
def test_an_empty_text_shows_the_standard_sentence_in_the_readers_language(client, db, language):
    html = page(client, with_letter(), language)
    block = not_listed_block(html)
    assert TITLES[language] in block and DEFAULTS[language] in block
    other = "ko" if language == "en" else "en"
    assert DEFAULTS[other] not in html
    # Beside the country menu, and shown without JavaScript (outside the hidden menu paragraph).
    assert html.index("data-country-select") < html.index("recipients__not-listed") < html.index("data-country=")


def test_the_campaigns_own_text_is_rendered_once_on_save_and_shown_in_each_language(client, db, monkeypatch):
    campaign = with_letter(
        not_listed_en="Live in **Norway**? Write to the [embassy in Oslo](https://example.org/oslo).",
        not_listed_ko="**노르웨이**에 사시나요? [오슬로 대사관](https://example.org/oslo)에 편지를 보내 주세요.",
    )
    assert campaign.not_listed_html_en.startswith("<p>Live in <strong>Norway</strong>?")
    assert '<a href="https://example.org/oslo"' in campaign.not_listed_html_ko

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered during a request")

    monkeypatch.setattr("archive.richtext.render_markdown", no_rendering)
    monkeypatch.setattr("advocacy.models.render_markdown", no_rendering)
    english, korean = page(client, campaign, "en"), page(client, campaign, "ko")
    assert "Live in <strong>Norway</strong>?" in not_listed_block(english)
    assert "<strong>노르웨이</strong>에 사시나요?" in not_listed_block(korean)
    assert DEFAULTS["en"] not in english and DEFAULTS["ko"] not in korean
    assert "노르웨이" not in english and "Norway" not in korean


def test_a_text_in_one_language_only_leaves_the_other_with_its_standard_sentence(client, db):
    campaign = with_letter(not_listed_en="Live in Norway? Write to the embassy in Oslo.")
    assert "Live in Norway?" in page(client, campaign, "en")
    korean = page(client, campaign, "ko")
    assert "Live in Norway?" not in korean and DEFAULTS["ko"] in korean


def test_markup_in_the_text_is_cleaned(db):
    campaign = with_letter(not_listed_en="Hi <script>alert(1)</script>[x](javascript:alert(2))")
    assert "<script" not in campaign.not_listed_html_en and "javascript:" not in campaign.not_listed_html_en


def test_a_save_limited_to_the_text_saves_its_rendering_too(db):
    campaign = with_letter()
    campaign.not_listed_en = "Write to *us*."
    campaign.save(update_fields=["not_listed_en"])
    campaign.refresh_from_db()
    assert campaign.not_listed_html_en == "<p>Write to <em>us</em>.</p>"


def test_editing_the_text_shows_at_the_next_request(client, db):
    campaign = with_letter(not_listed_en="First version of the hint.")
    assert "First version of the hint." in page(client, campaign, "en")
    assert "First version of the hint." in page(client, campaign, "en")  # now from the page cache
    campaign.not_listed_en = "Second version of the hint."
    campaign.full_clean()
    campaign.save()
    html = page(client, campaign, "en")
    assert "Second version of the hint." in html and "First version of the hint." not in html


def test_the_text_is_public_text_the_guard_checks(db):
    ProtectedTerm.objects.create(term="Lantern House")
    campaign = with_letter()
    campaign.not_listed_ko = "Lantern House 근처에 사시나요?"
    with pytest.raises(ValidationError) as error:
        campaign.full_clean()
    assert "campaign text for an unlisted country (Korean)" in " ".join(error.value.messages)


def test_a_campaign_without_a_country_menu_shows_no_hint(client, db):
    campaign = make_campaign(not_listed_en="Live in Norway?")
    make_action(campaign=campaign, kind=Action.Kind.DONATE)
    html = page(client, campaign, "en")
    assert "recipients__not-listed" not in html and "Live in Norway?" not in html


def test_the_demo_campaign_has_its_own_text_in_both_languages(db):
    campaign = load_demo_campaigns()
    assert campaign.not_listed_html_en and campaign.not_listed_html_ko
