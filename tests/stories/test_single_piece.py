"""Single pieces (a profile, an essay): one part, read at the story's address, never numbered."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from stories import services
from stories.models import Part, Story
from tests.conftest import make_part, make_story

TITLE_EN = "Meet Haneul, who teaches the night class"
TITLE_KO = "야간 교실에서 가르치는 하늘 님을 만나다"


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


def part_one_url(story: Story, language: str) -> str:
    return f"/{language}/stories/{story.slug}/part-1/"


@pytest.fixture
def piece(storyteller):
    story = make_story(storyteller=storyteller, kind=Story.Kind.SINGLE, title_en=TITLE_EN, title_ko=TITLE_KO)
    return make_part(
        story=story,
        number=1,
        title_en=TITLE_EN,
        title_ko=TITLE_KO,
        body_en="Every evening she unlocks the classroom at seven.",
        body_ko="그는 매일 저녁 일곱 시에 교실 문을 엽니다.",
    )


@pytest.mark.parametrize(
    ("language", "body"),
    [("en", "Every evening she unlocks the classroom at seven."), ("ko", "그는 매일 저녁 일곱 시에 교실 문을 엽니다.")],
)
def test_the_story_address_shows_the_piece_itself_without_part_numbering(client, piece, language, body):
    story = piece.story
    url = url_in(story, language)
    assert url == f"/{language}/stories/{story.slug}/"
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert body in html
    title = getattr(story, f"title_{language}")
    assert re.search(r'<h1 class="part__title">\s*' + re.escape(title) + r"\s*</h1>", html)
    assert f"<title>{title}" in html
    for numbered in ("Part 1", "1편", 'class="toc"', 'class="part-nav"', "part-1/", 'class="part-list"'):
        assert numbered not in html, numbered


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_old_part_one_address_redirects_permanently_to_the_piece(client, piece, language):
    response = client.get(part_one_url(piece.story, language))
    assert response.status_code == 301
    assert response["Location"] == f"/{language}/stories/{piece.story.slug}/"


def test_a_part_and_its_links_name_the_story_address(piece):
    assert url_in(piece, "en") == url_in(piece.story, "en")
    assert url_in(piece, "ko") == url_in(piece.story, "ko")
    assert str(piece) == TITLE_EN


def test_a_serial_is_unchanged(client, story):
    first = make_part(story=story)
    assert url_in(first, "en") == part_one_url(story, "en")
    html = client.get(url_in(first, "en")).content.decode()
    assert "Part 1" in html
    assert client.get(url_in(story, "en")).status_code == 200


def test_a_single_piece_costs_no_more_queries_than_a_part_page(client, piece, story):
    serial = [make_part(story=story) for _ in range(3)]
    client.get(url_in(piece.story, "en"))  # warm what a first request loads once per process
    client.get(url_in(serial[1], "en"))
    with CaptureQueriesContext(connection) as single:
        assert client.get(url_in(piece.story, "en"), HTTP_CACHE_CONTROL="no-cache").status_code == 200
    with CaptureQueriesContext(connection) as part_page:
        assert client.get(url_in(serial[1], "en"), HTTP_CACHE_CONTROL="no-cache").status_code == 200
    assert len(single) <= len(part_page)


def test_a_withdrawn_single_piece_disappears_at_once(client, piece):
    url = url_in(piece.story, "en")
    assert client.get(url).status_code == 200
    services.consent_withdraw(storyteller=piece.story.storyteller, reason="Asked to stop.", recorded_by=None)
    assert client.get(url).status_code == 404
    assert client.get(part_one_url(piece.story, "en")).status_code == 404


def test_a_single_piece_has_one_part_only(piece, story):
    second = Part(story=piece.story, number=2, title_en="More", body_en="Text.")
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert "number" in error.value.message_dict
    make_part(story=story)
    make_part(story=story)
    story.kind = Story.Kind.SINGLE
    with pytest.raises(ValidationError) as error:
        services.story_save(story=story)
    assert "kind" in error.value.message_dict


def test_lists_feed_sitemap_api_and_search_link_the_piece_and_never_number_it(client, piece):
    story_url = url_in(piece.story, "en")
    home = client.get("/en/").content.decode()
    assert f'href="{story_url}"' in home
    assert part_one_url(piece.story, "en") not in home
    assert "Serial in progress" not in client.get("/en/stories/").content.decode()

    feed = client.get("/en/feed/").content.decode()
    assert f"<title>{TITLE_EN}</title>" in feed
    assert f"http://testserver{story_url}" in feed or f"{story_url}" in feed
    assert "part-1" not in feed and "Part 1" not in feed

    index = client.get("/sitemap.xml").content.decode()
    sections = re.findall(r"<loc>[^<]*?(/sitemap-[a-z]+-\d+\.xml)</loc>", index)
    pages = "".join(client.get(section).content.decode() for section in sections)
    assert story_url in pages
    assert "part-1/" not in pages

    part = client.get(f"/api/v1/en/stories/{piece.story.slug}/parts/1/")
    if part.status_code == 200:
        data = part.json()
        assert data["url"].endswith(story_url)
    story = client.get(f"/api/v1/en/stories/{piece.story.slug}/").json()
    assert story["kind"] == "single"
    assert story["parts"][0]["url"].endswith(story_url)

    results = client.get("/en/search/", {"q": "classroom"}).content.decode()
    assert f'<a href="{story_url}">' in results
    assert "Part 1" not in results


@pytest.mark.parametrize("default", ["en", "ko"])
def test_new_storytellers_and_stories_start_in_the_one_default_original_language(client, db, settings, default):
    from django.contrib.auth import get_user_model

    from stories.models import Storyteller
    from tests.stories.test_back_office import admin_url, open_form

    settings.DEFAULT_ORIGINAL_LANGUAGE = default
    assert Storyteller().original_language == default
    assert Story().original_language == default
    client.force_login(get_user_model().objects.create_superuser("chief", password="not-a-real-password-1"))
    for model in ("storyteller", "story"):
        form = open_form(client, admin_url(model, "add"))
        assert form.data["original_language"] == default, model


def test_the_demo_shows_a_profile_as_a_single_piece(client, db, tmp_path, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(tmp_path / "credentials.json"))
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    profile = Story.objects.get(slug="meet-willow")
    assert profile.is_single and profile.parts.count() == 1
    for language, title in [("en", "Meet Willow, Who Cooks for the Newcomers"), ("ko", "버들 님을 만나다")]:
        html = client.get(f"/{language}/stories/meet-willow/").content.decode()
        assert title in html
        assert "<hr>" in html  # the writer's section break
        assert 'class="toc"' not in html
        assert client.get(f"/{language}/stories/meet-willow/part-1/").status_code == 301
