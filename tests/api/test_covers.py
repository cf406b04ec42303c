"""A story's cover in the read API: the photo the pages show, by the pages' own rule, in the language asked for
only, null otherwise, gone at the next request after a withdrawal, and at no query of its own."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone, translation

from advocacy.models import CampaignStory
from stories import services
from stories.models import Consent
from tests.advocacy.conftest import make_campaign
from tests.api.conftest import API, LANGUAGES, listed, local
from tests.api.test_api import queries
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_cover_photo import with_cover


def page_of(client, obj, language: str) -> str:
    with translation.override(language):
        url = obj.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def covers_in(api, language: str, story, campaign) -> dict:
    """The story's cover in every resource that names the story."""
    base = f"{API}{language}"
    found = {
        "stories": next(item for item in listed(api, language, "stories") if item["slug"] == story.slug)["cover"],
        "story": api.get(f"{base}/stories/{story.slug}/").json()["cover"],
        "parts": {
            item["number"]: item["story"]["cover"]
            for item in listed(api, language, "parts")
            if item["story"]["slug"] == story.slug
        },
        "part": api.get(f"{base}/stories/{story.slug}/parts/1/").json()["story"]["cover"],
        "campaign": [
            entry["cover"]
            for entry in api.get(f"{base}/campaigns/{campaign.slug}/").json()["stories"]
            if entry["slug"] == story.slug
        ],
    }
    assert found["parts"] and found["campaign"]
    return found


def every_cover(found: dict) -> list:
    return [found["stories"], found["story"], found["part"], *found["parts"].values(), *found["campaign"]]


@pytest.fixture
def covered(db):
    """A public serial of two parts whose cover shows a recognisable person, consented to, in a campaign."""
    teller = make_storyteller(consent={"covers_photos": True})
    story = make_story(storyteller=teller, is_complete=False)
    make_part(story=story)
    make_part(story=story)
    image = with_cover(story, shows_identifiable_person=True)
    campaign = make_campaign(stories=[story])
    return story, image, campaign


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_cover_is_in_every_resource_of_the_story_as_its_page_shows_it(api, client, covered, language):
    story, image, campaign = covered
    found = covers_in(api, language, story, campaign)
    cover = found["story"]
    assert all(other == cover for other in every_cover(found))
    assert cover["language"] == language
    assert cover["alt_text"] == getattr(image, f"alt_text_{language}")
    assert cover["caption"] == getattr(image, f"caption_{language}")
    assert (cover["width"], cover["height"]) == (image.width, image.height) == (1600, 1067)
    assert [(item["format"], item["width"]) for item in cover["renditions"]] == [
        (extension, width) for extension in ("jpg", "webp") for width in (480, 960, 1600)
    ]
    # The very URLs of the story page's <picture>, in the language's own address.
    html = page_of(client, story, language)
    for item in cover["renditions"]:
        path = local(item["url"])
        assert path.startswith(f"/{language}/photos/{image.rendition_key}/")
        assert f"{path} {item['width']}w" in html
        assert item["height"] == image.rendition(width=item["width"], extension=item["format"])["height"]
    response = client.get(local(cover["renditions"][0]["url"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_the_schema_describes_the_cover(api, covered):
    schemas = api.spec["components"]["schemas"]
    for name in ("Story", "StoryDetail", "StoryRef"):
        cover = schemas[name]["properties"]["cover"]
        assert {"$ref": "#/components/schemas/Photo"} in cover["anyOf"] and {"type": "null"} in cover["anyOf"]
        assert "cover" in schemas[name]["required"]
    assert schemas["Rendition"]["properties"]["format"]["enum"] == ["webp", "jpg"]
    assert {"width", "height", "url"} <= set(schemas["Rendition"]["required"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_story_without_a_cover_says_null(api, db, language):
    story = make_story()
    make_part(story=story)
    campaign = make_campaign(stories=[story])
    assert all(cover is None for cover in every_cover(covers_in(api, language, story, campaign)))


def test_the_alt_text_is_the_language_asked_for_or_there_is_no_cover(api, client, db):
    """No alt text in Korean: no cover in Korean (as on the Korean page), never the English text instead."""
    story = make_story(is_complete=False)
    make_part(story=story)
    image = with_cover(story, alt_text_ko="", caption_ko="", credit_ko="")
    campaign = make_campaign(stories=[story])
    english = covers_in(api, "en", story, campaign)
    assert english["story"]["alt_text"] == image.alt_text_en
    assert english["story"]["caption"] == image.caption_en
    korean = covers_in(api, "ko", story, campaign)
    assert all(cover is None for cover in every_cover(korean))
    assert image.rendition_key not in page_of(client, story, "ko")
    for url in (f"{API}ko/stories/", f"{API}ko/stories/{story.slug}/", f"{API}ko/parts/"):
        body = api.get(url).content.decode()
        assert image.alt_text_en not in body and image.caption_en not in body and image.rendition_key not in body


def test_a_cover_of_someone_recognisable_needs_consent_to_photos(api, client, db):
    teller = make_storyteller(consent={"covers_photos": False})
    story = make_story(storyteller=teller)
    make_part(story=story)
    image = with_cover(story, shows_identifiable_person=True)
    campaign = make_campaign(stories=[story])
    for language in LANGUAGES:
        assert all(cover is None for cover in every_cover(covers_in(api, language, story, campaign)))
        assert image.rendition_key not in page_of(client, story, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_consent_no_longer_covering_photos_removes_the_cover_at_the_next_request(api, client, covered, language):
    story, image, campaign = covered
    detail = f"{API}{language}/stories/{story.slug}/"
    first = api.get(detail)
    assert first.json()["cover"]["renditions"]
    lists = {url: api.get(url) for url in (f"{API}{language}/stories/", f"{API}{language}/parts/")}
    services.consent_record(
        storyteller=story.storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=365),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
        covers_photos=False,
        covers_advocacy=True,
    )
    # Even to a client that revalidates the copy it holds: the new answer, never a 304.
    again = api.get(detail, if_none_match=first["ETag"])
    assert again.status_code == 200 and again.json()["cover"] is None
    for url, old in lists.items():
        response = api.get(url, if_none_match=old["ETag"])
        assert response.status_code == 200 and image.rendition_key not in response.content.decode(), url
    assert all(cover is None for cover in every_cover(covers_in(api, language, story, campaign)))
    # The photo's own address answers 404 too, as it does for the pages.
    assert client.get(local(first.json()["cover"]["renditions"][0]["url"])).status_code == 404


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_withdrawal_removes_the_story_and_its_cover_at_the_next_request(api, covered, language):
    story, image, campaign = covered
    assert covers_in(api, language, story, campaign)["story"] is not None
    services.consent_withdraw(storyteller=story.storyteller, reason="Asked us to take it down.", recorded_by=None)
    assert api.get(f"{API}{language}/stories/{story.slug}/").status_code == 404
    for url in (
        f"{API}{language}/stories/",
        f"{API}{language}/parts/",
        f"{API}{language}/campaigns/{campaign.slug}/",
    ):
        response = api.get(url)
        assert response.status_code == 200 and image.rendition_key not in response.content.decode(), url


def test_covers_cost_no_query_however_many(api, db, django_assert_max_num_queries):
    """Lists and details with a cover on every story cost what they cost without any cover."""
    stories = []
    for _number in range(2):
        story = make_story(storyteller=make_storyteller(consent={"covers_photos": True}))
        make_part(story=story)
        make_part(story=story)
        stories.append(story)
    campaign = make_campaign(stories=stories)
    slug = stories[0].slug
    urls = [
        f"{API}{language}/{path}"
        for language in LANGUAGES
        for path in (
            "stories/",
            "parts/",
            f"stories/{slug}/",
            # Part 2: the cover is a photo of part 1, whose page lists its photos (one query, however many).
            f"stories/{slug}/parts/2/",
            f"campaigns/{campaign.slug}/",
        )
    ]
    without = {url: queries(api, url) for url in urls}
    for story in stories:
        with_cover(story, shows_identifiable_person=True)
    for position in range(2, 6):
        story = make_story(storyteller=make_storyteller(consent={"covers_photos": True}))
        make_part(story=story)
        with_cover(story, shows_identifiable_person=True)
        CampaignStory.objects.create(campaign=campaign, story=story, position=position)
    for url in urls:
        with django_assert_max_num_queries(without[url]):
            response = api.get(url)
        assert response.status_code == 200
        assert f"{settings.SITE_URL}/{url.split('/')[3]}/photos/" in response.content.decode(), url
