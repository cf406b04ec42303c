"""A reader acts on a campaign in a real browser: picks a country, copies the letter, shares, signs up.

In both languages, on a phone and a desktop, with JavaScript and without it. Screenshots land in screenshots/.
"""

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from advocacy.forms import MIN_FILL_SECONDS
from advocacy.models import ActionCount, Campaign, Subscriber
from tests.browser.conftest import DESKTOP, PHONE, screenshot, watch

pytestmark = pytest.mark.browser

SLUG = "stop-forced-returns"
COUNTRY = {"en": "United Kingdom", "ko": "영국"}
OFFICES = {"en": "Embassy in London", "ko": "런던 대사관"}
DEVICES = {
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "desktop": {"viewport": DESKTOP},
}


def counts() -> dict[str, int]:
    campaign = Campaign.objects.get(slug=SLUG)
    return dict(campaign.counts.values_list("kind", "count"))


def follow_share_link(page: Page, lang: str) -> str:
    """Click "Post on X" and return where our counting link sent the browser."""
    with page.expect_response(re.compile(rf"/{lang}/act/{SLUG}/go/\d+/$")) as hop:
        page.locator(".action--social a.action-button").click()
    assert hop.value.status == 302
    page.wait_for_url(re.compile(r"^(https://x\.com/|chrome-error:)"), wait_until="commit")
    return hop.value.headers["location"]


def letter_text(page: Page) -> str:
    return page.locator("pre.letter__body").inner_text()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_reader_picks_a_country_copies_the_letter_shares_and_signs_up(new_context, demo, lang, device):
    context = new_context(**DEVICES[device], permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    recorder = watch(page, demo)

    # Beside the story: the campaign's call to action, next to the text on a desktop, after it on a phone.
    page.goto(f"/{lang}/stories/dawns-story/part-1/")
    aside = page.locator(".campaign-aside")
    expect(aside).to_be_visible()
    expect(aside.locator(".cta__title")).to_have_text(getattr(Campaign.objects.get(slug=SLUG), f"title_{lang}"))
    article, box = page.locator("article.part").bounding_box(), aside.bounding_box()
    if device == "desktop":
        assert box["x"] >= article["x"] + article["width"], "the call to action sits beside the story"
        assert box["y"] < article["y"] + 200
    else:
        assert box["y"] >= article["y"] + article["height"], "the call to action follows the story"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, f"{lang}-{device}-part-with-campaign")

    aside.locator(".cta__more a").click()
    expect(page).to_have_url(re.compile(rf"/{lang}/act/{SLUG}/$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)

    # Pick a country: only its offices show, each with a ready letter or the address to paste it to.
    picker = page.locator("[data-country-select]")
    expect(picker).to_be_visible()
    expect(page.locator("details.recipients__country:visible")).to_have_count(0)
    picker.select_option(label=COUNTRY[lang])
    chosen = page.locator("details.recipients__country:visible")
    expect(chosen).to_have_count(1)
    expect(chosen).to_have_attribute("open", "")
    expect(chosen.locator(".recipient__label").first).to_have_text(OFFICES[lang])
    link = chosen.locator("a.recipient__link").first.get_attribute("href")
    to, _sep, query = link.partition("?")
    assert to == "mailto:embassy-london@example.net"
    fields = {name: unquote(value) for name, _eq, value in (pair.partition("=") for pair in query.split("&"))}
    if lang == "en":
        assert set(fields) == {"subject", "body"}
        assert fields["body"] == letter_text(page).replace("\n", "\r\n")
    else:
        # The Korean letter is too long for a safe mailto: link: the reader copies it instead.
        assert set(fields) == {"subject"}
        expect(page.locator(".letter__note")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, f"{lang}-{device}-campaign-country-chosen")

    # Copy the letter: it reaches the clipboard, and the count carries the counter's name and nothing else.
    with page.expect_request(re.compile(rf"/{lang}/act/{SLUG}/count/$")) as beacon:
        page.locator("button[data-copy^='letter-body']").click()
    assert beacon.value.response().status == 204
    expect(page.locator(".letter [data-copy-status]")).not_to_be_empty()
    assert page.evaluate("navigator.clipboard.readText()") == letter_text(page).strip()
    assert beacon.value.post_data == "kind=letter_copied"
    assert "cookie" not in {name.lower() for name in beacon.value.all_headers()}

    # Follow the share link: through our counter to X's intent page, with the post and the campaign link.
    # (The closed network cannot reach X, so the browser's last hop fails; where it was sent is what counts.)
    intent = follow_share_link(page, lang)
    shared = parse_qs(urlsplit(intent).query)
    assert shared["url"] == [f"{demo}/{lang}/act/{SLUG}/"]
    assert ("Refugees who escaped North Korea" if lang == "en" else "북한을 탈출한 난민들") in shared["text"][0]
    assert recorder.foreign_requests() == [intent]
    page.goto(f"/{lang}/act/{SLUG}/")

    # Sign up from the cached page: the script fetches a CSRF token, then the form posts as usual.
    form = page.locator("form[data-inline-subscribe]")
    expect(form).to_be_visible()
    expect(page.locator("[data-subscribe-link]")).to_be_hidden()
    form.locator("input[type=email]").fill(f"reader-{lang}-{device}@example.org")
    # A person takes longer than the form's minimum fill time, which turns away scripts that post at once.
    page.wait_for_timeout(MIN_FILL_SECONDS * 1000 + 200)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/{lang}/newsletter/sent/$"))
    expect(page.locator(".notice--success")).to_be_visible()
    screenshot(page, f"{lang}-{device}-newsletter-sent")

    # The confirmation email, in the reader's language, leads to a button that confirms.
    message = mail.outbox[-1]
    assert message.to == [f"reader-{lang}-{device}@example.org"]
    confirm = re.search(rf"{re.escape(demo)}(/{lang}/newsletter/confirm/\S+/)", message.body).group(1)
    page.goto(confirm)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".notice--success")).to_be_visible()
    assert Subscriber.objects.get(email=f"reader-{lang}-{device}@example.org").status == Subscriber.Status.CONFIRMED
    screenshot(page, f"{lang}-{device}-newsletter-confirmed")

    assert counts() == {
        ActionCount.Kind.LETTER_COPIED: 1,
        ActionCount.Kind.POST_SHARED: 1,
        ActionCount.Kind.SIGNED_UP: 1,
    }
    assert recorder.console_errors == [], "the console reported errors (a CSP violation is one)"


def test_copying_the_letter_works_with_the_network_gone(new_context, demo):
    context = new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"/en/act/{SLUG}/")
    context.set_offline(True)
    page.locator("button[data-copy^='letter-body']").click()
    expect(page.locator(".letter [data-copy-status]")).not_to_be_empty()
    assert page.evaluate("navigator.clipboard.readText()") == letter_text(page).strip()
    assert "Your Excellency," in page.evaluate("navigator.clipboard.readText()")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_campaign_works_without_javascript(new_context, demo, lang):
    context = new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    recorder = watch(page, demo)
    page.goto(f"/{lang}/act/{SLUG}/")

    # Every country is listed; the reader opens theirs. Copy buttons and the country menu need a script.
    expect(page.locator("[data-country-select]")).to_be_hidden()
    expect(page.locator("[data-copy-tools]").first).to_be_hidden()
    countries = page.locator("details.recipients__country")
    expect(countries).to_have_count(5)
    page.locator("summary", has_text=COUNTRY[lang]).click()
    expect(page.locator("details[open] .recipient__label").first).to_have_text(OFFICES[lang])
    screenshot(page, f"{lang}-phone-campaign-no-javascript")

    # Sharing is counted by the server on the way to X.
    assert follow_share_link(page, lang).startswith("https://x.com/intent/post?text=")
    page.goto(f"/{lang}/act/{SLUG}/")

    # The newsletter is a link to its own page, which carries a real CSRF token.
    expect(page.locator("form[data-inline-subscribe]")).to_be_hidden()
    page.locator("[data-subscribe-link] a").click()
    expect(page).to_have_url(re.compile(rf"/{lang}/newsletter/\?campaign={SLUG}$"))
    page.locator("input[type=email]").fill(f"no-script-{lang}@example.org")
    page.wait_for_timeout(MIN_FILL_SECONDS * 1000 + 200)
    page.locator("form.subscribe-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/{lang}/newsletter/sent/$"))
    assert Subscriber.objects.filter(email=f"no-script-{lang}@example.org").exists()
    assert counts() == {ActionCount.Kind.POST_SHARED: 1, ActionCount.Kind.SIGNED_UP: 1}
    assert recorder.console_errors == []
