"""The visibility rule: whatever is not public is hidden everywhere, and looks like it never existed."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from stories import services
from stories.models import Consent, Part, Story
from tests.conftest import make_part, make_story, make_storyteller, sitemap_pages

NEVER_EXISTED = {
    "en": "/en/stories/never-existed/part-1/",
    "ko": "/ko/stories/never-existed/part-1/",
}


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


def public_surfaces(client, language: str) -> str:
    """Return the text of every listing a reader can reach: home, index, feed, sitemap."""
    pages = [f"/{language}/", f"/{language}/stories/", f"/{language}/feed/", *sitemap_pages(client)]
    return "\n".join(client.get(page).content.decode() for page in pages)


def assert_hidden_everywhere(client, part: Part, language: str) -> None:
    url = url_in(part, language)
    response = client.get(url)
    assert response.status_code == 404
    never = client.get(NEVER_EXISTED[language])
    assert response.content == never.content, "a hidden page must look exactly like one that never existed"
    assert not Part.objects.public(language).filter(pk=part.pk).exists()
    assert not part.is_public(language)
    assert url not in public_surfaces(client, language)
    assert part.title_en not in public_surfaces(client, language)


def hide_by_withdrawal(part, now):
    services.consent_record(
        storyteller=part.story.storyteller,
        decision=Consent.Decision.WITHDRAWN,
        recorded_by=None,
        note="Asked for the story to come down.",
        recorded_at=now,
    )


def hide_by_review_date(part, now):
    consent = part.story.storyteller.effective_consent()
    consent.review_by = timezone.localdate(now) - datetime.timedelta(days=1)
    consent.save()


def hide_by_web_scope(part, now):
    services.consent_record(
        storyteller=part.story.storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate(now) + datetime.timedelta(days=30),
        covers_web=False,
        covers_english=True,
        covers_korean=True,
        recorded_at=now,
    )


def hide_by_status(status):
    def hide(part, now):
        part.status = status
        part.save()

    return hide


def hide_by_schedule(part, now):
    part.published_at = now + datetime.timedelta(hours=1)
    part.save()


def hide_by_story_status(status):
    def hide(part, now):
        story = part.story
        story.status = status
        story.save()

    return hide


HIDING_CASES = {
    "draft": hide_by_status(Part.Status.DRAFT),
    "in_review": hide_by_status(Part.Status.IN_REVIEW),
    "archived": hide_by_status(Part.Status.ARCHIVED),
    "scheduled": hide_by_schedule,
    "story_draft": hide_by_story_status(Story.Status.DRAFT),
    "story_archived": hide_by_story_status(Story.Status.ARCHIVED),
    "withdrawn_consent": hide_by_withdrawal,
    "past_review_date": hide_by_review_date,
    "scope_without_web": hide_by_web_scope,
}


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("case", sorted(HIDING_CASES))
def test_hidden_part_is_hidden_everywhere(client, part, now, case, language):
    assert client.get(url_in(part, language)).status_code == 200
    HIDING_CASES[case](part, now)
    assert_hidden_everywhere(client, part, language)
    # With its only part hidden, the story page is gone too.
    story_response = client.get(url_in(part.story, language))
    assert story_response.status_code == 404


def assert_only_elsewhere(client, part: Part, hidden_in: str, shown_in: str) -> None:
    """Hidden in one language, public in another: readers get a notice pointing to the other version."""
    assert not Part.objects.public(hidden_in).filter(pk=part.pk).exists()
    response = client.get(url_in(part, hidden_in))
    assert response.status_code == 404
    html = response.content.decode()
    assert f'href="{url_in(part, shown_in)}"' in html
    assert 'class="language-notice"' in html
    # Nothing of the hidden language's text, and no link to its address, anywhere a reader looks.
    listings = public_surfaces(client, hidden_in)
    assert url_in(part, hidden_in) not in listings
    assert client.get(url_in(part, shown_in)).status_code == 200


@pytest.mark.parametrize(
    ("scope", "hidden_in", "shown_in"),
    [("covers_korean", "ko", "en"), ("covers_english", "en", "ko")],
)
def test_scope_without_a_language_hides_only_that_language(client, db, now, scope, hidden_in, shown_in):
    storyteller = make_storyteller(consent={scope: False})
    part = make_part(story=make_story(storyteller=storyteller))
    # Not "not yet translated": consent does not cover that language, so it looks like nothing at all,
    # and no list in that language points to the other version either.
    assert_hidden_everywhere(client, part, hidden_in)
    for listing in (f"/{hidden_in}/", f"/{hidden_in}/stories/", f"/{hidden_in}/feed/"):
        assert url_in(part, shown_in) not in client.get(listing).content.decode()
    assert client.get(url_in(part, shown_in)).status_code == 200


def test_part_without_text_in_a_language_is_not_shown_in_that_language(client, story):
    part = make_part(story=story, title_ko="", body_ko="")
    assert_only_elsewhere(client, part, "ko", "en")
    response = client.get(url_in(part, "en"))
    # The switcher must not lead the reader to a Korean page that does not exist.
    assert url_in(part, "ko") not in response.content.decode()


def test_latest_consent_record_is_the_one_in_force(client, part, now):
    hide_by_withdrawal(part, now - datetime.timedelta(minutes=5))
    assert not part.is_public("en")
    services.consent_record(
        storyteller=part.story.storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate(now) + datetime.timedelta(days=30),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
        recorded_at=now,
    )
    assert part.is_public("en")
    assert client.get(url_in(part, "en")).status_code == 200


def test_scheduled_part_goes_live_when_its_time_comes(story, now):
    part = make_part(story=story, published_at=now + datetime.timedelta(days=2))
    assert not Part.objects.public("en", now=now).filter(pk=part.pk).exists()
    later = now + datetime.timedelta(days=3)
    assert Part.objects.public("en", now=later).filter(pk=part.pk).exists()


def test_hidden_part_leaves_no_trace_in_a_public_sibling(client, story, now):
    first = make_part(story=story, number=1)
    hidden = make_part(story=story, number=2, status=Part.Status.DRAFT, title_en="Unpublished secret title")
    third = make_part(story=story, number=3)
    for page in (url_in(first, "en"), url_in(third, "en"), url_in(story, "en")):
        html = client.get(page).content.decode()
        assert "Unpublished secret title" not in html
        assert url_in(hidden, "en") not in html
    # Part 1's next link skips the hidden part 2 and leads to part 3.
    assert f'rel="next" href="{url_in(third, "en")}"' in client.get(url_in(first, "en")).content.decode()


def test_withdrawal_hides_every_story_of_the_storyteller(client, storyteller, now):
    parts = [make_part(story=make_story(storyteller=storyteller)) for _ in range(2)]
    hide_by_withdrawal(parts[0], now)
    for part in parts:
        for language in ("en", "ko"):
            assert_hidden_everywhere(client, part, language)
    assert not Story.objects.public("en").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/en/stories/no-such-story/",
        "/en/stories/no-such-story/part-1/",
        "/en/stories/%00/",
        "/en/stories/a%2Fb/part-1/",
        "/en/stories/x/part-0/",
        "/en/stories/x/part-99999999999999999999999/",
        "/en/stories/x/part-abc/",
        "/fr/stories/",
        "/xx/",
        "/en/stories/?page=999",
        "/en/stories/?page=abc",
        "/en/stories/?theme=no-such-theme",
        "/ko/stories/%ED%95%9C/",
    ],
)
def test_unknown_or_malformed_paths_answer_404(client, part, path):
    assert client.get(path).status_code == 404


def test_unknown_part_number_of_real_story_is_404(client, part):
    assert client.get(f"/en/stories/{part.story.slug}/part-9/").status_code == 404


# Every public surface must read stories and parts through the rule: the definition (public(), with
# its consent check) or its materialised form (live(), with a publication row's window). A query that
# touches those tables with neither means some view bypassed the rule.
STORY_TABLES = re.compile(r'"stories_(part|story|storyimage)"')
PUBLICATION_WINDOW = re.compile(r'"stories_(part|story|image)publication".*"review_by" >=', re.DOTALL)


def through_the_rule(sql: str) -> bool:
    return '"stories_consent"' in sql or bool(PUBLICATION_WINDOW.search(sql))


@pytest.mark.parametrize("language", ["en", "ko"])
def test_public_views_only_query_through_the_visibility_rule(client, db, language):
    story = make_story()
    parts = [make_part(story=story) for _ in range(3)]
    theme = story.themes.create(slug="family", name_en="Family", name_ko="가족")
    pages = [
        f"/{language}/",
        f"/{language}/stories/",
        f"/{language}/stories/?theme={theme.slug}",
        url_in(story, language),
        url_in(parts[1], language),
        f"/{language}/feed/",
        *sitemap_pages(client),
    ]
    for page in pages:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        for query in queries.captured_queries:
            if STORY_TABLES.search(query["sql"]):
                assert through_the_rule(query["sql"]), f"{page} read stories around the rule: {query['sql']}"


def test_advocacy_use_needs_its_own_consent_scope(db):
    with_scope = make_part(story=make_story(storyteller=make_storyteller(consent={"covers_advocacy": True})))
    without = make_part(story=make_story(storyteller=make_storyteller(consent={"covers_advocacy": False})))
    for language in ("en", "ko"):
        advocacy = set(Story.objects.public_for_advocacy(language).values_list("pk", flat=True))
        assert advocacy == {with_scope.story_id}
        assert without.story_id in set(Story.objects.public(language).values_list("pk", flat=True))
