"""Campaign pages and the call to action beside each story: one visibility rule, consent respected."""

import datetime
import re
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from advocacy.models import Action, Campaign, Country, Recipient
from advocacy.views import campaign_stories
from stories import services as story_services
from stories.models import Consent, Story
from tests.advocacy.conftest import make_action, make_campaign, make_country, make_recipient
from tests.conftest import make_part, make_story, make_storyteller, sitemap_text


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


def campaign_box(html: str) -> str:
    """The call-to-action aside of a part page, or "" when there is none."""
    match = re.search(r'<aside class="campaign-aside".*?</aside>', html, re.S)
    return match.group(0) if match else ""


# -- The visibility rule ------------------------------------------------------------------------------


def test_live_means_published_started_not_ended_and_written_in_the_language(db):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    live = make_campaign(slug="live")
    last_day_today = make_campaign(slug="last-day-today", ends_on=today)
    make_campaign(slug="draft", status=Campaign.Status.DRAFT)
    make_campaign(slug="archived", status=Campaign.Status.ARCHIVED)
    make_campaign(slug="tomorrow", starts_on=today + day)
    make_campaign(slug="ended", starts_on=today - 10 * day, ends_on=today - day)
    english_only = make_campaign(slug="english-only", title_ko="")

    assert set(Campaign.objects.live("en").values_list("slug", flat=True)) == {
        "live",
        "last-day-today",
        "english-only",
    }
    assert set(Campaign.objects.live("ko").values_list("slug", flat=True)) == {"live", "last-day-today"}
    # An ended campaign leaves by itself the next day, with nobody saving anything.
    assert not Campaign.objects.live("en", today=today + day).filter(pk=last_day_today.pk).exists()
    assert live.is_live("en") and not english_only.is_live("ko")
    assert Campaign.objects.live("fr").count() == 0


@pytest.mark.parametrize("slug", ["draft", "tomorrow", "ended", "english-only"])
def test_hidden_campaign_answers_the_same_404_as_one_that_never_existed(client, db, slug):
    today = timezone.localdate()
    make_campaign(slug="draft", status=Campaign.Status.DRAFT)
    make_campaign(slug="tomorrow", starts_on=today + datetime.timedelta(days=1))
    day = datetime.timedelta(days=1)
    make_campaign(slug="ended", starts_on=today - 9 * day, ends_on=today - day)
    make_campaign(slug="english-only", title_ko="")
    hidden = client.get(f"/ko/act/{slug}/")
    missing = client.get("/ko/act/never-was/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


def test_campaign_page_shows_text_and_actions_in_order(client, campaign):
    us = make_country("US", "United States", "미국")
    gb = make_country("GB", "United Kingdom", "영국")
    washington = make_recipient(country=us, label_en="Embassy in Washington, DC", email="dc@example.org")
    london = make_recipient(country=gb, label_en="Embassy in London", email="london@example.org")
    newsletter = make_action(campaign=campaign, kind=Action.Kind.NEWSLETTER, position=4)
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE, position=2)
    letter = make_action(campaign=campaign, kind=Action.Kind.LETTER, position=0, recipients=[washington, london])
    social = make_action(campaign=campaign, kind=Action.Kind.SOCIAL, position=1)
    monthly = make_action(campaign=campaign, kind=Action.Kind.MONTHLY, position=3)

    response = client.get(url_in(campaign, "en"))
    html = response.content.decode()
    assert response.status_code == 200
    assert campaign.title_en in html and "Urgent" in html
    assert "<em>background</em>" in html
    positions = [html.index(f'id="action-{action.pk}"') for action in (letter, social, donate, monthly, newsletter)]
    assert positions == sorted(positions)
    # Countries in alphabetical order of their names, each with its offices and a prefilled letter.
    assert html.index("United Kingdom") < html.index("United States")
    mailto = re.search(r'href="(mailto:dc@example\.org\?[^"]+)"', html).group(1)
    assert "Please let them go." in unquote(mailto.replace("&amp;", "&"))
    assert "Embassy in Washington, DC" in html and "london@example.org" in html
    # Sharing and giving go through our counting links.
    assert f'href="/en/act/{campaign.slug}/go/{social.pk}/"' in html
    assert f'href="/en/act/{campaign.slug}/go/{donate.pk}/"' in html
    assert f"Read and act:\nhttp://testserver/en/act/{campaign.slug}/" in html
    # Without JavaScript the newsletter is a link to its own page.
    assert f'href="/en/newsletter/?campaign={campaign.slug}"' in html


def test_korean_campaign_page_is_in_korean_and_skips_actions_without_korean_text(client, campaign):
    letter = make_action(campaign=campaign, kind=Action.Kind.LETTER, subject_template_ko="", body_template_ko="")
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    html = client.get(url_in(campaign, "ko")).content.decode()
    assert '<html lang="ko">' in html
    assert campaign.title_ko in html and campaign.title_en not in html
    assert f'id="action-{letter.pk}"' not in html
    assert f'id="action-{donate.pk}"' in html and "지금 후원하기" in html
    assert f'hreflang="en" href="http://testserver{url_in(campaign, "en")}"' in html


def test_long_letter_is_offered_to_copy_with_each_address(client, campaign):
    office = make_recipient(email="embassy@example.org")
    make_action(
        campaign=campaign, kind=Action.Kind.LETTER, recipients=[office], body_template_ko="지금 도와주세요. " * 150
    )
    ko = client.get(url_in(campaign, "ko")).content.decode()
    assert 'class="letter__note"' in ko
    link = re.search(r'href="(mailto:embassy@example\.org[^"]*)"', ko).group(1)
    assert "body=" not in link and "subject=" in link
    en = client.get(url_in(campaign, "en")).content.decode()
    assert 'class="letter__note"' not in en
    assert "body=" in re.search(r'href="(mailto:embassy@example\.org[^"]*)"', en).group(1)


def test_an_address_broken_in_the_database_is_left_out_not_a_500(client, campaign):
    good = make_recipient(email="good@example.org")
    bad = make_recipient(email="bad@example.org")
    Recipient.objects.filter(pk=bad.pk).update(email="bad@example.org?cc=spy@example.net")
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[good, bad])
    response = client.get(url_in(campaign, "en"))
    assert response.status_code == 200
    assert "mailto:good@example.org" in response.content.decode()
    assert "spy@example.net" not in response.content.decode()


def test_countries_and_offices_need_their_names_in_english_and_korean_comes_through_review(db):
    with pytest.raises(ValidationError) as country_error:
        Country(code="FR", name_en="", name_ko="프랑스").full_clean()
    assert set(country_error.value.message_dict) == {"name_en"}
    with pytest.raises(ValidationError) as recipient_error:
        make_recipient(label_en="  ", label_ko="파리 대사관")
    assert set(recipient_error.value.message_dict) == {"label_en"}
    # Without Korean they are saved; the Korean page waits for an approved translation
    # (tests/advocacy/test_label_translations.py).
    Country(code="FR", name_en="France", name_ko="").full_clean()
    make_recipient(label_en="Embassy in Paris", label_ko="")


def test_an_office_or_country_not_written_in_a_language_is_left_out_of_its_page(client, campaign):
    # Saved before every language was required, so straight into the database, past clean().
    france = Country.objects.create(code="FR", name_en="France", name_ko="")
    paris = make_recipient(country=france, email="paris@example.org")
    english_only = make_recipient(email="english-only@example.org")
    korean_only = make_recipient(email="korean-only@example.org")
    Recipient.objects.filter(pk=english_only.pk).update(label_en="English-only office", label_ko="")
    Recipient.objects.filter(pk=korean_only.pk).update(label_en="", label_ko="한국어 공관")
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[paris, english_only, korean_only])

    pages = {code: client.get(url_in(campaign, code)).content.decode() for code in ("en", "ko")}
    for html in pages.values():
        assert re.search(r"<option value=\"\w*\">\s*</option>", html) is None
        assert '<summary class="recipients__summary"></summary>' not in html
        assert '<span class="recipient__label"></span>' not in html
    assert "paris@example.org" in pages["en"] and '<option value="FR">France</option>' in pages["en"]
    assert "english-only@example.org" in pages["en"] and "English-only office" in pages["en"]
    assert "korean-only@example.org" not in pages["en"]
    assert "paris@example.org" not in pages["ko"] and 'data-country="FR"' not in pages["ko"]
    assert "english-only@example.org" not in pages["ko"] and "English-only office" not in pages["ko"]
    assert "korean-only@example.org" in pages["ko"] and "한국어 공관" in pages["ko"]


def test_body_is_rendered_and_cleaned_on_save_not_per_request(client, monkeypatch, db):
    campaign = make_campaign(body_en="Hi <script>alert(1)</script>[x](javascript:alert(2)) **bold**")
    assert "<strong>bold</strong>" in campaign.body_html_en
    assert "script" not in campaign.body_html_en and "javascript:" not in campaign.body_html_en

    def fail(*args, **kwargs):
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr("archive.richtext.render_markdown", fail)
    assert "<strong>bold</strong>" in client.get(url_in(campaign, "en")).content.decode()


# -- Stories behind a campaign: consent to advocacy use -------------------------------------------------


def test_campaign_page_lists_only_stories_whose_tellers_consented_to_advocacy(client, db):
    consenting = make_story(title_en="Consented story", title_ko="동의한 이야기")
    make_part(story=consenting)
    no_advocacy = make_story(
        title_en="Reading only", title_ko="읽기만", storyteller=make_storyteller(consent={"covers_advocacy": False})
    )
    make_part(story=no_advocacy)
    english_only = make_story(
        title_en="English consent", title_ko="영어만", storyteller=make_storyteller(consent={"covers_korean": False})
    )
    make_part(story=english_only)
    unpublished = make_story(title_en="No public part", title_ko="공개 안 됨")
    unlinked = make_story(title_en="Not linked", title_ko="연결 안 됨")
    make_part(story=unlinked)
    campaign = make_campaign(stories=[english_only, no_advocacy, consenting, unpublished])

    en = client.get(url_in(campaign, "en")).content.decode()
    assert "Stories behind this campaign" in en
    assert "Consented story" in en and "English consent" in en
    assert en.index("English consent") < en.index("Consented story")  # the editors' order
    for title in ("Reading only", "No public part", "Not linked"):
        assert title not in en
    ko = client.get(url_in(campaign, "ko")).content.decode()
    assert "동의한 이야기" in ko
    assert "영어만" not in ko and "읽기만" not in ko


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_campaign_pages_stories_are_those_the_definition_allows_in_the_editors_order(db, language):
    """The page's prepared query (``CAMPAIGN_STORIES``, the fast form) shows what ``public_for_advocacy`` allows."""
    consenting = make_story()
    make_part(story=consenting)
    no_advocacy = make_story(storyteller=make_storyteller(consent={"covers_advocacy": False}))
    make_part(story=no_advocacy)
    english_only = make_story(storyteller=make_storyteller(consent={"covers_korean": False}))
    make_part(story=english_only)
    lapsed = make_story(
        storyteller=make_storyteller(consent={"review_by": timezone.localdate() - datetime.timedelta(days=1)})
    )
    make_part(story=lapsed)
    scheduled = make_story()
    make_part(story=scheduled, published_at=timezone.now() + datetime.timedelta(hours=1))
    unpublished = make_story()
    second = make_story()
    make_part(story=second)
    stories = [english_only, no_advocacy, lapsed, consenting, scheduled, unpublished, second]
    campaign = make_campaign(stories=stories)
    # Linked to another campaign as well: it must not show here twice or in the other's order.
    make_campaign(stories=[second, consenting])

    with translation.override(language):
        shown = campaign_stories(campaign, language)
    allowed = set(Story.objects.public_for_advocacy(language).values_list("pk", flat=True))
    assert [story.pk for story in shown] == [story.pk for story in stories if story.pk in allowed]
    assert {story.pk for story in shown} == {consenting.pk, second.pk} | (
        {english_only.pk} if language == "en" else set()
    )


def test_withdrawn_consent_removes_the_story_from_the_campaign_page(client, db):
    story = make_story(title_en="Soon withdrawn")
    make_part(story=story)
    campaign = make_campaign(stories=[story])
    assert "Soon withdrawn" in client.get(url_in(campaign, "en")).content.decode()
    story_services.consent_record(
        storyteller=story.storyteller, decision=Consent.Decision.WITHDRAWN, recorded_by=None, note="Asked us to."
    )
    html = client.get(url_in(campaign, "en")).content.decode()
    assert "Soon withdrawn" not in html and "Stories behind this campaign" not in html


# -- Beside the story -------------------------------------------------------------------------------------


def test_part_page_shows_the_storys_live_campaigns_in_the_editors_order(client, part):
    second = make_campaign(title_en="Second campaign", priority=9)
    first = make_campaign(title_en="First campaign", priority=1)
    make_campaign(title_en="Unlinked campaign")
    first.story_links.create(story=part.story, position=0)
    second.story_links.create(story=part.story, position=1)
    donate = make_action(campaign=first, kind=Action.Kind.DONATE)
    letter = make_action(campaign=first, kind=Action.Kind.LETTER)

    box = campaign_box(client.get(url_in(part, "en")).content.decode())
    assert box.index("First campaign") < box.index("Second campaign")
    assert "Unlinked campaign" not in box
    assert f'href="/en/act/{first.slug}/go/{donate.pk}/"' in box and "Donate now" in box
    assert f'href="/en/act/{first.slug}/#action-{letter.pk}"' in box


def test_part_page_falls_back_to_the_featured_campaign(client, part, now):
    today = timezone.localdate()
    make_campaign(title_en="Featured but draft", is_featured=True, status=Campaign.Status.DRAFT, priority=50)
    make_campaign(title_en="Featured low", is_featured=True, priority=1)
    make_campaign(title_en="Featured high", is_featured=True, priority=5)
    day = datetime.timedelta(days=1)
    ended = make_campaign(title_en="Linked but ended", starts_on=today - 9 * day, ends_on=today - day)
    ended.story_links.create(story=part.story)

    box = campaign_box(client.get(url_in(part, "en")).content.decode())
    assert "Featured high" in box
    for title in ("Featured low", "Featured but draft", "Linked but ended"):
        assert title not in box


def test_no_live_or_featured_campaign_means_no_box(client, part):
    make_campaign(title_en="Only unlinked")
    assert campaign_box(client.get(url_in(part, "en")).content.decode()) == ""


def test_a_story_without_advocacy_consent_is_not_tied_to_its_campaigns(client, db):
    story = make_story(storyteller=make_storyteller(consent={"covers_advocacy": False}))
    part = make_part(story=story)
    make_campaign(title_en="Tied to the story", stories=[story])
    make_campaign(title_en="Site-wide appeal", is_featured=True)
    box = campaign_box(client.get(url_in(part, "en")).content.decode())
    assert "Site-wide appeal" in box and "Tied to the story" not in box


def test_sidebar_follows_the_reading_language(client, part):
    campaign = make_campaign(title_en="English campaign", title_ko="", stories=[part.story])
    make_campaign(title_en="Featured", title_ko="추천 캠페인", is_featured=True)
    assert "English campaign" in campaign_box(client.get(url_in(part, "en")).content.decode())
    ko_box = campaign_box(client.get(url_in(part, "ko")).content.decode())
    assert "추천 캠페인" in ko_box and campaign.slug not in ko_box


# -- Caching, headers and query budgets ---------------------------------------------------------------


def test_campaign_page_is_safe_to_cache_and_share(client, campaign):
    make_action(campaign=campaign, kind=Action.Kind.NEWSLETTER)
    response = client.get(url_in(campaign, "en"))
    html = response.content.decode()
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    # The inline form carries an empty token field, filled by our script from an uncached endpoint.
    assert 'name="csrfmiddlewaretoken" value=""' in html
    assert re.search(r'name="csrfmiddlewaretoken" value="[^"]+"', html) is None
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert "X-Robots-Tag" not in response  # a campaign is meant to be found
    assert " style=" not in html and "<style" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert '<script src="/static/js/advocacy.js" defer>' in scripts
    # Every script is a file of ours; none is inline. The one data block is structured data, never executed.
    scripts = [tag for tag in scripts if tag != '<script type="application/ld+json">']
    assert len(scripts) == html.count("<script") - 1
    assert all(re.fullmatch(r'<script src="/static/js/[\w.-]+\.js" defer>', tag) for tag in scripts)
    assert html.count("<script") == len(scripts) + 1 == html.count("</script>")


def test_campaign_page_is_served_from_the_page_cache(client, campaign, django_assert_num_queries):
    url = url_in(campaign, "en")
    client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


def queries_for(client, url: str) -> int:
    cache.clear()  # measure the page as rendered, not as served from the page cache
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


@pytest.mark.parametrize("size", [1, 30])
def test_page_query_counts_do_not_grow_with_campaign_data(client, db, django_assert_max_num_queries, size):
    stories = []
    for _ in range(size):
        story = make_story()
        make_part(story=story)
        stories.append(story)
    linked_part = stories[0].parts.get()
    unlinked_part = make_part()
    # What the reading page costs by itself, with no campaign anywhere (the stories app's budget).
    reading_page = queries_for(client, url_in(linked_part, "en"))

    featured = make_campaign(is_featured=True)
    make_action(campaign=featured, kind=Action.Kind.DONATE)
    campaign = make_campaign(stories=stories)
    countries = [make_country(f"A{chr(65 + n % 26)}", f"Country {n}", f"나라 {n}") for n in range(min(size, 26))]
    recipients = [make_recipient(country=countries[n % len(countries)]) for n in range(size)]
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=recipients)
    for kind in (Action.Kind.SOCIAL, Action.Kind.DONATE, Action.Kind.MONTHLY, Action.Kind.NEWSLETTER):
        for _ in range(size if kind == Action.Kind.DONATE else 1):
            make_action(campaign=campaign, kind=kind)
    for n in range(size):
        other = make_campaign(priority=n)
        other.story_links.create(story=stories[0], position=n)
        make_action(campaign=other, kind=Action.Kind.DONATE)

    # The campaign page: the campaign with its actions and the other language's alternate, the offices, the stories.
    with django_assert_max_num_queries(3):
        assert client.get(url_in(campaign, "en")).status_code == 200
    # Beside a story the call to action costs two queries, linked campaigns or the featured one alike.
    for part in (linked_part, unlinked_part):
        cache.clear()
        with django_assert_max_num_queries(reading_page + 2):
            assert client.get(url_in(part, "en")).status_code == 200


def test_unknown_or_malformed_campaign_urls_answer_404_not_500(client, campaign):
    letter = make_action(campaign=campaign, kind=Action.Kind.LETTER)
    other = make_campaign()
    donate = make_action(campaign=other, kind=Action.Kind.DONATE)
    for url in (
        "/en/act/no-such-campaign/",
        f"/en/act/{campaign.slug}/go/{letter.pk}/",  # a letter has nothing to redirect to
        f"/en/act/{campaign.slug}/go/{donate.pk}/",  # another campaign's action
        f"/en/act/{campaign.slug}/go/999999/",
        "/en/act/no-such-campaign/go/1/",
    ):
        assert client.get(url).status_code == 404, url


def test_sitemap_lists_live_campaigns_only_in_their_languages(client, db):
    live = make_campaign()
    english_only = make_campaign(title_ko="", kicker_ko="", summary_ko="", body_ko="")
    ended = make_campaign(
        ends_on=timezone.localdate() - datetime.timedelta(days=1),
        starts_on=timezone.localdate() - datetime.timedelta(days=5),
    )
    draft = make_campaign(status=Campaign.Status.DRAFT)
    sitemap = sitemap_text(client)
    assert f"http://testserver{url_in(live, 'en')}" in sitemap
    assert f"http://testserver{url_in(live, 'ko')}" in sitemap
    assert f"http://testserver{url_in(english_only, 'en')}" in sitemap
    assert f"http://testserver{url_in(english_only, 'ko')}" not in sitemap
    for hidden in (ended, draft):
        assert hidden.slug not in sitemap
