"""The read API lists exactly what the visibility rule makes public, in each language, and nothing else."""

import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from advocacy.models import Campaign
from api.cursors import encode
from stories import services
from stories.models import Part, Story, Theme
from stories.publication import publication_batch
from tests.advocacy.conftest import make_campaign
from tests.api.conftest import API, LANGUAGES, listed, local
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_images import jpeg_with_everything, make_image


def defined(language: str) -> dict[str, set]:
    """What the definition (the public() querysets, Campaign.objects.live()) says readers may see."""
    stories = Story.objects.public(language)
    return {
        "stories": set(stories.values_list("slug", flat=True)),
        "parts": set(Part.objects.public(language).values_list("story__slug", "number")),
        "themes": set(Theme.objects.filter(stories__in=stories).values_list("slug", flat=True)),
        "campaigns": set(Campaign.objects.live(language).values_list("slug", flat=True)),
    }


def served(api, language: str) -> dict[str, set]:
    return {
        "stories": {item["slug"] for item in listed(api, language, "stories")},
        "parts": {(item["story"]["slug"], item["number"]) for item in listed(api, language, "parts")},
        "themes": {item["slug"] for item in listed(api, language, "themes")},
        "campaigns": {item["slug"] for item in listed(api, language, "campaigns")},
    }


def unapproved_part(story: Story, number: int) -> Part:
    """A part written in both languages whose translation nobody approved."""
    return Part.objects.create(
        story=story,
        number=number,
        title_en="An English part",
        title_ko="승인되지 않은 번역",
        body_en="Written in English.",
        body_ko="아직 승인되지 않은 번역 본문.",
        status=Part.Status.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(hours=2),
    )


@pytest.fixture
def archive(db):
    """Stories in every state the rule distinguishes, with themes and campaigns."""
    family = Theme.objects.create(slug="family", name_en="Family", name_ko="가족")
    crossing = Theme.objects.create(slug="crossing", name_en="Crossing", name_ko="국경을 넘어")
    Theme.objects.create(slug="unused", name_en="Unused", name_ko="쓰이지 않음")
    public = make_story()
    public.themes.add(family)
    for _number in range(3):
        make_part(story=public)
    # Published but the Korean translation of its second part is not approved: one part in Korean.
    mixed = make_story()
    mixed.themes.add(crossing)
    make_part(story=mixed)
    unapproved_part(mixed, 2)
    # A part scheduled for tomorrow, after one that is live.
    scheduled = make_story()
    make_part(story=scheduled)
    make_part(story=scheduled, published_at=timezone.now() + datetime.timedelta(days=1))
    # Consent whose review date lapsed yesterday: nothing of theirs.
    lapsed = make_story(
        storyteller=make_storyteller(consent={"review_by": timezone.localdate() - datetime.timedelta(days=1)})
    )
    lapsed.themes.add(crossing)
    make_part(story=lapsed)
    # Consent that covers English only.
    english_only = make_story(storyteller=make_storyteller(consent={"covers_korean": False}))
    make_part(story=english_only)
    # A draft story and a draft part of a public story.
    make_part(story=make_story(status=Story.Status.DRAFT))
    make_part(story=public, status=Part.Status.DRAFT)
    campaign = make_campaign(stories=[public])
    make_campaign(status=Campaign.Status.DRAFT)
    make_campaign(ends_on=timezone.localdate() - datetime.timedelta(days=1))
    make_campaign(title_ko="")
    return {
        "public": public,
        "mixed": mixed,
        "scheduled": scheduled,
        "lapsed": lapsed,
        "english_only": english_only,
        "campaign": campaign,
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_lists_hold_exactly_what_the_definition_makes_public(api, archive, language):
    assert served(api, language) == defined(language)
    assert served(api, language)["stories"]


def test_the_states_the_rule_distinguishes(api, archive):
    english, korean = served(api, "en"), served(api, "ko")
    assert (archive["mixed"].slug, 2) in english["parts"] and (archive["mixed"].slug, 2) not in korean["parts"]
    assert (archive["scheduled"].slug, 2) not in english["parts"]
    assert archive["lapsed"].slug not in english["stories"] | korean["stories"]
    assert archive["english_only"].slug in english["stories"] and archive["english_only"].slug not in korean["stories"]
    assert "unused" not in english["themes"]
    assert api.get(f"{API}ko/stories/{archive['mixed'].slug}/parts/2/").status_code == 404
    assert api.get(f"{API}en/stories/{archive['scheduled'].slug}/parts/2/").status_code == 404
    assert api.get(f"{API}en/stories/{archive['lapsed'].slug}/").status_code == 404


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_withdrawal_is_gone_at_the_next_request(api, archive, language):
    story = archive["public"]
    detail = f"{API}{language}/stories/{story.slug}/"
    part = f"{API}{language}/stories/{story.slug}/parts/1/"
    first = api.get(detail)
    assert first.status_code == 200 and api.get(part).status_code == 200
    before = {url: api.get(url) for url in (f"{API}{language}/stories/", f"{API}{language}/parts/")}
    services.consent_withdraw(storyteller=story.storyteller, reason="Asked us to take it down.", recorded_by=None)
    # Even to a client that revalidates what it holds: never a 304.
    assert api.get(detail, if_none_match=first["ETag"]).status_code == 404
    assert api.get(part).status_code == 404
    for url, old in before.items():
        again = api.get(url, if_none_match=old["ETag"], if_modified_since=old["Last-Modified"])
        assert again.status_code == 200
        assert story.slug not in again.content.decode()
    assert served(api, language) == defined(language)
    assert story.slug not in served(api, language)["stories"]
    assert api.get(f"{API}{language}/campaigns/{archive['campaign'].slug}/").json()["stories"] == []


def test_a_scheduled_part_appears_when_due_without_any_write(api, archive, monkeypatch):
    story = archive["scheduled"]
    url = f"{API}en/stories/{story.slug}/parts/2/"
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(minutes=1)
    part = story.parts.get(number=2)
    with publication_batch():
        part.published_at = start + datetime.timedelta(seconds=10)
        part.save()
    monkeypatch.setattr(timezone, "now", lambda: start)
    assert api.get(url).status_code == 404
    listing = api.get(f"{API}en/parts/")
    assert api.get(f"{API}en/parts/", if_modified_since=listing["Last-Modified"]).status_code == 304
    # The clock passes its publication time, with no write at all.
    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(seconds=11))
    assert api.get(url).status_code == 200
    again = api.get(f"{API}en/parts/", if_modified_since=listing["Last-Modified"])
    assert again.status_code == 200 and f'"{story.slug}"' in again.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_are_in_the_language_asked_for_and_say_so(api, archive, language):
    story = archive["public"]
    part = story.parts.get(number=1)
    data = api.get(f"{API}{language}/stories/{story.slug}/parts/1/").json()
    assert data["language"] == language
    assert data["body_html"] == getattr(part, f"body_html_{language}") and data["body_html"]
    assert data["title"] == getattr(part, f"title_{language}")
    assert data["is_translation"] is (language != story.original_language)
    assert data["storyteller"] == {
        "language": language,
        "pseudonym": getattr(story.storyteller, f"pseudonym_{language}"),
        "bio": None,
    }
    assert data["next"]["number"] == 2 and data["previous"] is None
    detail = api.get(f"{API}{language}/stories/{story.slug}/").json()
    assert [entry["number"] for entry in detail["parts"]] == [1, 2, 3]
    assert detail["storyteller"]["bio"] == getattr(story.storyteller, f"bio_{language}")
    assert detail["themes"] == [{"slug": "family", "name": {"en": "Family", "ko": "가족"}[language]}]


def test_bodies_are_the_stored_html_never_rendered_per_request(api, archive, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr("archive.richtext.render_markdown", refuse)
    story = archive["public"]
    Part.objects.filter(story=story, number=1).update(body_html_en="<p>Stored <em>once</em>.</p>")
    assert api.get(f"{API}en/stories/{story.slug}/parts/1/").json()["body_html"] == "<p>Stored <em>once</em>.</p>"


def test_an_untranslated_text_is_missing_not_replaced(api, db):
    story = make_story(summary_ko="")
    make_part(story=story, summary_ko="")
    data = api.get(f"{API}ko/stories/{story.slug}/").json()
    assert data["summary"] is None and data["parts"][0]["summary"] is None


def test_cursors_are_stable_when_an_earlier_item_is_withdrawn(api, db):
    stories = [make_story() for _ in range(5)]
    for story in stories:
        make_part(story=story)
    first = api.get(f"{API}en/stories/?limit=2").json()
    assert [item["slug"] for item in first["items"]] == [stories[4].slug, stories[3].slug]
    services.consent_withdraw(storyteller=stories[4].storyteller, reason="Withdrawn.", recorded_by=None)
    second = api.get(local(first["next"])).json()
    assert [item["slug"] for item in second["items"]] == [stories[2].slug, stories[1].slug]
    third = api.get(local(second["next"])).json()
    assert [item["slug"] for item in third["items"]] == [stories[0].slug]
    assert third["next"] is None and third["next_cursor"] is None


def test_the_theme_filter(api, archive):
    slugs = {item["slug"] for item in api.get(f"{API}en/stories/?theme=crossing").json()["items"]}
    assert slugs == {archive["mixed"].slug}
    assert api.get(f"{API}en/stories/?theme=unused").status_code == 404


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("xx/stories/", 400, "invalid_request"),
        ("EN/stories/", 400, "invalid_request"),
        ("en/stories/?cursor=not-a-cursor", 400, "invalid_cursor"),
        ("en/stories/?cursor=WyJ4Il0", 400, "invalid_cursor"),
        ("en/parts/?cursor=WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwxXQ", 400, "invalid_cursor"),
        ("en/themes/?cursor=" + "A" * 500, 400, "invalid_request"),
        ("en/themes/?cursor=" + encode(("\x00",)), 400, "invalid_cursor"),
        ("en/campaigns/?cursor=" + encode((2**70, "2026-01-01", 1)), 400, "invalid_cursor"),
        ("en/stories/?limit=100000000", 400, "invalid_request"),
        ("en/stories/?limit=0", 400, "invalid_request"),
        ("en/stories/?limit=ten", 400, "invalid_request"),
        ("en/stories/?theme=%00", 404, "not_found"),
        ("en/stories/no-such-story/", 404, "not_found"),
        ("en/stories/bad%20slug/", 404, "not_found"),
        ("en/stories/no-such-story/parts/1/", 404, "not_found"),
        ("en/stories/no-such-story/parts/99999999999999999999/", 400, "invalid_request"),
        ("en/campaigns/no-such-campaign/", 404, "not_found"),
        ("en/nothing-here/", 404, "not_found"),
    ],
)
def test_bad_input_gets_a_clear_json_error(api, archive, url, status, code):
    response = api.get(API + url)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]


def test_errors_speak_the_language_asked_for(api, db):
    assert (
        api.get(f"{API}ko/stories/no-such-story/").json()["detail"]
        == "이 주소의 이야기는 이 언어로 공개되어 있지 않습니다."
    )


def test_only_reading(api, archive):
    response = api.client.post(f"{API}en/stories/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_cors_is_open_for_reading_the_api_only(api, archive):
    response = api.get(f"{API}en/stories/")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert api.head(f"{API}en/stories/")["Access-Control-Allow-Origin"] == "*"
    preflight = api.client.options(
        f"{API}en/stories/", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" not in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in api.client.get("/en/stories/")


def test_etag_and_last_modified_answer_304_until_something_changes(api, archive):
    url = f"{API}en/stories/{archive['public'].slug}/"
    first = api.get(url)
    assert first["Cache-Control"] == "no-cache"
    assert api.get(url, if_none_match=first["ETag"]).status_code == 304
    assert api.get(url, if_modified_since=first["Last-Modified"]).status_code == 304
    assert api.head(url, if_none_match=first["ETag"]).status_code == 304
    story = archive["public"]
    story.title_en = "A new title"
    story.save()
    changed = api.get(url, if_none_match=first["ETag"])
    assert changed.status_code == 200 and changed.json()["title"] == "A new title"
    assert changed["ETag"] != first["ETag"]
    assert api.get(url, if_modified_since=first["Last-Modified"]).status_code == 200 or (
        changed["Last-Modified"] == first["Last-Modified"]
    )


def test_the_rate_limit_lives_in_the_shared_cache(api, archive, settings):
    settings.API_RATE_LIMIT = (3, 60)
    cache.clear()
    for _attempt in range(3):
        assert api.get(f"{API}en/themes/").status_code == 200
    limited = api.get(f"{API}en/themes/")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited["Access-Control-Allow-Origin"] == "*"
    # The count is in the shared cache, not in this process: emptying the cache lifts the limit.
    cache.clear()
    assert api.get(f"{API}en/themes/").status_code == 200


def test_responses_are_never_kept_by_the_page_cache(api, archive, settings):
    assert settings.PUBLIC_PAGE_CACHE_SECONDS > 0
    story = archive["public"]
    url = f"{API}en/stories/{story.slug}/"
    assert api.get(url).status_code == 200
    assert api.get(url).status_code == 200
    services.consent_withdraw(storyteller=story.storyteller, reason="Withdrawn.", recorded_by=None)
    assert api.get(url).status_code == 404


def queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


def grow(archive) -> None:
    """More of everything each endpoint shows."""
    for story in (archive["public"], *(make_story() for _ in range(4))):
        story.themes.add(*Theme.objects.all())
        for _number in range(3):
            make_part(story=story)
    for _campaign in range(4):
        make_campaign(stories=[archive["public"]])


def test_query_count_of_every_endpoint_does_not_grow_with_the_data(api, archive, django_assert_max_num_queries):
    story = archive["public"].slug
    urls = [
        f"{API}{language}/{path}"
        for language in LANGUAGES
        for path in (
            "stories/",
            "stories/?theme=family",
            "parts/",
            "themes/",
            "campaigns/",
            f"stories/{story}/",
            f"stories/{story}/parts/2/",
            f"campaigns/{archive['campaign'].slug}/",
        )
    ]
    before = {url: queries(api, url) for url in urls}
    grow(archive)
    for url in urls:
        with django_assert_max_num_queries(before[url]):
            assert api.get(url).status_code == 200
    assert max(before.values()) <= 8, before


def test_the_schema_is_valid_openapi_and_every_answer_matched_it(api, archive):
    for language in LANGUAGES:
        served(api, language)
    assert api.validated > 8
    assert set(api.spec["paths"]) >= {
        "/api/v1/{language}/stories/",
        "/api/v1/{language}/stories/{slug}/",
        "/api/v1/{language}/stories/{slug}/parts/{number}/",
        "/api/v1/{language}/parts/",
        "/api/v1/{language}/themes/",
        "/api/v1/{language}/campaigns/",
        "/api/v1/{language}/campaigns/{slug}/",
    }
    assert settings.SITE_URL


def test_signed_in_staff_get_exactly_what_readers_get(api, archive, editor):
    urls = [f"{API}en/stories/", f"{API}en/parts/", f"{API}en/stories/{archive['scheduled'].slug}/"]
    anonymous = {url: api.get(url) for url in urls}
    for response in anonymous.values():
        # A reader's request reads no session and sets no cookie.
        assert "Cookie" not in response.get("Vary", "") and not response.cookies
    api.client.force_login(editor)
    for url in urls:
        assert api.get(url).content == anonymous[url].content
    assert api.get(f"{API}en/stories/{archive['scheduled'].slug}/parts/2/").status_code == 404


def test_a_part_with_photos_costs_one_query_for_them_however_many(api, db, django_assert_max_num_queries):
    part = make_part(story=make_story(storyteller=make_storyteller(consent={"covers_photos": True})))
    make_image(part, jpeg_with_everything())
    url = f"{API}en/stories/{part.story.slug}/parts/1/"
    before = queries(api, url)
    for _photo in range(3):
        make_image(part, jpeg_with_everything())
    with django_assert_max_num_queries(before):
        photos = api.get(url).json()["photos"]
    assert len(photos) == 4 and all(photo["renditions"] and photo["language"] == "en" for photo in photos)
    assert all(rendition["url"].startswith(f"{settings.SITE_URL}/en/photos/") for rendition in photos[0]["renditions"])
