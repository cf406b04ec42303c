"""The workspace at any size: counts in SQL equal to the definition, kept until a write, pages of stories."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db.models import F
from django.utils import timezone

from stories import services as story_services
from stories.models import Consent, Part, Story, StoryImage, Storyteller
from tests.conftest import make_part, make_story, make_storyteller
from translations import po, views, workspace
from translations.models import Translation
from translations.workspace import measure_overview, overview, story_items, workable_stories

LANGUAGES = ("en", "ko")


def set_record(obj, language, **fields):
    """Put an object's translation record into a state directly, as any mix of fields can be found."""
    content_type = ContentType.objects.get_for_model(obj)
    defaults = {"status": Translation.Status.DRAFT, "approved_at": None, "needs_update": False, **fields}
    Translation.objects.update_or_create(
        content_type=content_type, object_id=obj.pk, language=language, defaults=defaults
    )


def drop_record(obj, language):
    Translation.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, language=language
    ).delete()


def photo(part, **fields):
    return StoryImage.objects.create(
        part=part, rendition_key=f"k{part.pk}", shows_identifiable_person=False, alt_text_en="Hills",
        alt_text_ko="언덕", **fields,
    )  # fmt: skip


def definition(language):
    """What the workspace defines, object by object: story_items over every workable story, newest first."""
    total = done = 0
    listed, todo, newest = [], [], []
    for story in workable_stories().select_related("storyteller").order_by("-created_at", "-pk"):
        items = story_items(story, language)
        total += len(items)
        done += sum(item.is_done for item in items)
        if items:
            listed.append(story.pk)
        if any(item.needs_work for item in items):
            todo.append(story.pk)
            newest.append((story.pk, sum(item.is_done for item in items), len(items)))
    return {
        "done": done,
        "total": total,
        "stories": tuple(listed),
        "todo": tuple(todo),
        "newest": tuple(newest[: workspace.NEWEST_STORIES]),
    }


def measured(summary, language):
    progress = summary.languages[language]
    return {
        "done": progress.done,
        "total": progress.total,
        "stories": progress.stories,
        "todo": progress.todo,
        "newest": tuple((count.story, count.done, count.total) for count in progress.newest),
    }


@pytest.fixture
def varied_archive(db, now):
    """Both original languages, archived parts, photos, a withdrawal, and translations in every state."""
    korean_teller = make_storyteller(original_language="ko")
    english_teller = make_storyteller(original_language="en")
    # An English story by a teller who wrote in Korean: its parts and photos need Korean, the teller English.
    english = make_story(storyteller=korean_teller, original_language="en")
    first, second, third = (make_part(story=english) for _ in range(3))
    archived = make_part(story=english, status=Part.Status.ARCHIVED)
    draft = make_part(story=english, status=Part.Status.DRAFT, published_at=None)
    photos = [photo(first), photo(first), photo(archived)]
    # Korean originals: their text needs English.
    korean = make_story(storyteller=english_teller, original_language="ko")
    ko_parts = [make_part(story=korean) for _ in range(6)]
    untouched = make_story(storyteller=english_teller, original_language="ko")
    make_part(story=untouched)
    # Not workable: archived, or the teller withdrew.
    make_part(story=make_story(storyteller=english_teller, status=Story.Status.ARCHIVED))
    withdrawn = make_storyteller(original_language="en")
    make_part(story=make_story(storyteller=withdrawn))
    story_services.consent_withdraw(storyteller=withdrawn, reason="Withdrawn.", recorded_by=None)

    # Every state a record can be in, in both directions.
    drop_record(first, "ko")  # missing: no record at all
    set_record(second, "ko", status=Translation.Status.MISSING)
    # Missing means no Korean text at all: text entered in the record itself counts as present (a draft).
    Part.objects.filter(pk=second.pk).update(title_ko="", summary_ko="", body_ko="")
    set_record(third, "ko", status=Translation.Status.IN_REVIEW)
    set_record(draft, "ko")  # a draft part still counts
    set_record(photos[0], "ko", status=Translation.Status.APPROVED, approved_at=now, needs_update=True)  # stale
    set_record(korean, "en", status=Translation.Status.IN_REVIEW, approved_at=now, needs_update=True)
    set_record(ko_parts[0], "en", status=Translation.Status.DRAFT, approved_at=now, needs_update=True)  # redraft
    set_record(ko_parts[1], "en", status=Translation.Status.DRAFT, approved_at=now)  # reworked, still current
    set_record(ko_parts[2], "en", status=Translation.Status.IN_REVIEW, approved_at=now)  # resubmitted, current
    set_record(ko_parts[3], "en", status=Translation.Status.IN_REVIEW)
    drop_record(english_teller, "ko")
    set_record(korean_teller, "en", status=Translation.Status.APPROVED, approved_at=now, needs_update=True)
    # A record in the original's own language is no item at all.
    set_record(first, "en", status=Translation.Status.APPROVED, approved_at=now)
    return {"english": english, "korean": korean, "untouched": untouched}


def test_the_counts_in_sql_equal_the_definition(varied_archive):
    summary = measure_overview()
    for language in LANGUAGES:
        assert measured(summary, language) == definition(language)
    # The fixture really covers every state, done and not, in both languages.
    states = {
        (item.status, item.is_done, item.needs_work, item.model_name)
        for story in workable_stories()
        for language in LANGUAGES
        for item in story_items(story, language)
    }
    assert {status for status, *_ in states} == set(Translation.Status)
    assert {(done, work) for _, done, work, _ in states} == {(True, False), (False, True), (False, False)}
    assert {model for *_, model in states} == {"storyteller", "story", "part", "storyimage"}
    assert summary.languages["ko"].done < summary.languages["ko"].total
    assert summary.languages["en"].done < summary.languages["en"].total
    waiting = Translation.objects.filter(status=Translation.Status.IN_REVIEW).order_by(
        F("submitted_at").asc(nulls_first=True), "pk"
    )
    assert summary.review == tuple(waiting.values_list("pk", flat=True)) and len(summary.review) == 4


def test_workable_stories_are_those_neither_archived_nor_withdrawn(varied_archive):
    definition = Story.objects.exclude(status=Story.Status.ARCHIVED).exclude(
        storyteller__in=Storyteller.objects.withdrawn()
    )
    every = list(Story.objects.values_list("pk", flat=True))
    assert set(workable_stories()) == set(workable_stories(every)) == set(definition)
    assert Story.objects.count() - definition.count() == 2


@pytest.mark.parametrize("language", [None, *LANGUAGES])
def test_a_prepared_page_of_stories_is_the_workable_stories_of_its_keys(
    varied_archive, language, django_assert_num_queries
):
    """workable_page, compiled once for each number of keys, picks what workable_stories picks, as loaded."""
    every = list(Story.objects.order_by("pk").values_list("pk", flat=True))
    for keys in (every, every[:1], every[1:4], every[::-1], [every[0], 10**9]):
        page = workspace.workable_page(keys, language)
        expected = list(workable_stories(keys, language).select_related("storyteller"))
        assert set(page) == {story.pk for story in expected}
        with django_assert_num_queries(0):  # what the workspace reads of them is loaded
            for story in expected:
                shown, teller = page[story.pk], page[story.pk].storyteller
                assert (str(shown), shown.slug, shown.original_language) == (
                    str(story),
                    story.slug,
                    story.original_language,
                )
                assert (teller.pk, teller.original_language) == (
                    story.storyteller.pk,
                    story.storyteller.original_language,
                )
                assert [getattr(teller, f"pseudonym_{code}") for code in LANGUAGES] == [
                    getattr(story.storyteller, f"pseudonym_{code}") for code in LANGUAGES
                ]
    assert workspace.workable_page([], language) == {}


def test_a_page_of_stories_has_the_items_the_definition_gives(varied_archive):
    every = list(Story.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))
    workable = set(workable_stories().values_list("pk", flat=True))

    def described(items):
        return [(item.model_name, item.obj.pk, item.status, item.is_done, item.needs_work) for item in items]

    for language in LANGUAGES:
        page = workspace.stories_progress(every, language)
        assert [row.story.pk for row in page] == [pk for pk in every if pk in workable]
        for row in page:
            assert described(row.items) == described(story_items(row.story, language))
            assert row.needs_work == (row.story.pk in definition(language)["todo"])


def test_the_cached_overview_is_the_measured_one(varied_archive):
    for language in LANGUAGES:
        assert measured(overview(), language) == measured(overview(), language) == definition(language)


def _approve_a_translation(archive, now):
    part = archive["english"].parts.order_by("number").first()
    set_record(part, "ko", status=Translation.Status.APPROVED, approved_at=now)


def _delete_a_translation(archive, now):
    drop_record(archive["korean"].parts.order_by("number").last(), "en")


def _archive_a_part(archive, now):
    part = archive["korean"].parts.order_by("number").last()
    part.status = Part.Status.ARCHIVED
    part.save()


def _delete_a_part(archive, now):
    archive["english"].parts.order_by("number").last().delete()


def _archive_a_story(archive, now):
    archive["untouched"].status = Story.Status.ARCHIVED
    archive["untouched"].save()


def _delete_a_story(archive, now):
    make_story(storyteller=archive["korean"].storyteller, original_language="ko")
    Story.objects.order_by("-pk").first().delete()


def _add_a_photo(archive, now):
    photo(archive["english"].parts.order_by("number").first())


def _delete_a_photo(archive, now):
    StoryImage.objects.order_by("pk").first().delete()


def _change_a_storytellers_language(archive, now):
    teller = archive["english"].storyteller
    teller.original_language = "en"
    teller.save()


def _delete_a_storyteller(archive, now):
    Storyteller.objects.create(pseudonym_en="Never told").delete()


def _withdraw_consent(archive, now):
    story_services.consent_withdraw(storyteller=archive["korean"].storyteller, reason="Withdrawn.", recorded_by=None)


def _delete_a_withdrawal(archive, now):
    Consent.objects.filter(decision=Consent.Decision.WITHDRAWN).delete()


@pytest.mark.parametrize(
    "change",
    [
        _approve_a_translation,
        _delete_a_translation,
        _archive_a_part,
        _delete_a_part,
        _archive_a_story,
        _delete_a_story,
        _add_a_photo,
        _delete_a_photo,
        _change_a_storytellers_language,
        _delete_a_storyteller,
        _withdraw_consent,
        _delete_a_withdrawal,
    ],
)
def test_the_overview_is_kept_until_anything_it_counts_changes(varied_archive, now, monkeypatch, change):
    measured_times = []

    def counting():
        measured_times.append(1)
        return measure_overview()

    monkeypatch.setattr(workspace, "measure_overview", counting)
    before = overview()
    assert overview() == before and len(measured_times) == 1  # kept
    change(varied_archive, now)
    after = overview()
    assert len(measured_times) == 2  # the change invalidated it
    for language in LANGUAGES:
        assert measured(after, language) == definition(language)


def test_the_overview_changes_with_the_changes_above(varied_archive, now):
    """Each change in the test above changes what is counted (but deleting a teller with no story)."""
    for change in (_approve_a_translation, _archive_a_part, _add_a_photo, _withdraw_consent, _delete_a_withdrawal):
        before = measure_overview()
        change(varied_archive, now)
        assert measure_overview() != before, change.__name__


def test_the_overview_is_measured_when_the_cache_is_down(varied_archive, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr(caches["default"], "get", down)
    assert measured(overview(), "ko") == definition("ko")


# --- The pages ----------------------------------------------------------------------------------------------


def titles(response):
    return re.findall(r'<h2 id="story-title-\d+">([^<]+)</h2>', response.content.decode())


@pytest.fixture
def many_stories(db):
    """Seven English stories, newest last; the third and sixth already done in Korean."""
    teller = make_storyteller(original_language="en")
    stories = []
    for n in range(7):
        story = make_story(storyteller=teller, title_en=f"Queue story {n}", original_language="en")
        part = make_part(story=story)
        if n not in (2, 5):
            drop_record(part, "ko")
        stories.append(story)
    return stories


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views.LanguageQueueView, "paginate_by", 2)
    monkeypatch.setattr(views.ReviewQueueView, "paginate_by", 2)


def test_the_queue_shows_a_page_of_stories_that_need_work_newest_first(client, translator, many_stories, small_pages):
    client.force_login(translator)
    assert titles(client.get("/en/translate/ko/")) == ["Queue story 6", "Queue story 4"]
    assert titles(client.get("/en/translate/ko/?page=2")) == ["Queue story 3", "Queue story 1"]
    assert titles(client.get("/en/translate/ko/?page=last")) == ["Queue story 0"]
    page = client.get("/en/translate/ko/?page=2").content.decode()
    assert 'href="?page=1"' in page and 'href="?page=3"' in page and "Page 2 of 3" in page


def test_the_queue_shows_every_story_on_request(client, translator, many_stories, small_pages):
    client.force_login(translator)
    assert titles(client.get("/en/translate/ko/?show=all&page=2")) == ["Queue story 4", "Queue story 3"]
    assert titles(client.get("/en/translate/ko/?show=all&page=last")) == ["Queue story 0"]
    page = client.get("/en/translate/ko/?show=all&page=2").content.decode()
    assert 'href="?show=all&amp;page=3"' in page
    assert 'aria-current="page">All stories' in page


@pytest.mark.parametrize("query", ["page=4", "page=0", "page=-1", "page=abc", "page=1.5", "page=9" * 30, "show=bogus"])
def test_a_bad_page_of_the_queue_is_a_404(client, translator, many_stories, small_pages, query):
    client.force_login(translator)
    assert client.get(f"/en/translate/ko/?{query}").status_code == 404


def test_an_empty_queue_has_one_page_that_says_so(client, translator, db):
    client.force_login(translator)
    response = client.get("/en/translate/ko/")
    assert response.status_code == 200
    assert "No story needs work in this language." in response.content.decode()
    assert client.get("/en/translate/ko/?page=2").status_code == 404


def test_the_dashboard_shows_the_newest_stories_that_need_work(client, translator, many_stories, monkeypatch):
    monkeypatch.setattr(workspace, "NEWEST_STORIES", 3)
    client.force_login(translator)
    page = client.get("/en/translate/").content.decode()
    korean = page[page.index('id="progress-ko"') :]
    shown = re.findall(r'href="/en/translate/ko/#story-(\d+)">([^<]+)</a>', korean)
    assert [title for _pk, title in shown] == ["Queue story 6", "Queue story 4", "Queue story 3"]
    assert "See all 5 stories that need work" in korean
    summary = overview().languages["ko"]
    assert f"{summary.done} of {summary.total} approved and up to date" in korean


def test_a_po_import_lands_on_the_page_that_lists_the_story(client, translator, many_stories, small_pages):
    client.force_login(translator)
    for story, expected in [
        (many_stories[3], "/en/translate/ko/?page=2#story-{pk}"),
        (many_stories[6], "/en/translate/ko/#story-{pk}"),
        # Nothing left to do in it: listed under "all" only.
        (many_stories[2], "/en/translate/ko/?show=all&page=3#story-{pk}"),
    ]:
        exported = po.story_export(story=story, language="ko")
        response = client.post(
            f"/en/translate/ko/stories/{story.slug}/import/", {"file": _upload(exported)}, follow=False
        )
        assert response.status_code == 302
        assert response["Location"] == expected.format(pk=story.pk)
        assert f'id="story-{story.pk}"' in client.get(response["Location"]).content.decode()


def _upload(text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("story.po", text.encode(), content_type="text/x-gettext-translation")


def test_the_review_queue_is_paginated(client, editor, many_stories, small_pages):
    for story in many_stories[:5]:
        set_record(story.parts.get(), "ko", status=Translation.Status.IN_REVIEW, submitted_at=timezone.now())
    client.force_login(editor)
    first = client.get("/en/translate/review/").content.decode()
    assert "Queue story 0: Part 1" in first and "Queue story 1: Part 1" in first
    assert "Queue story 2: Part 1" not in first
    assert "Queue story 4: Part 1" in client.get("/en/translate/review/?page=last").content.decode()
    assert client.get("/en/translate/review/?page=4").status_code == 404
    assert client.get("/en/translate/review/?page=x").status_code == 404


def test_the_review_queue_skips_what_no_longer_exists(client, editor, many_stories):
    part = many_stories[0].parts.get()
    set_record(part, "ko", status=Translation.Status.IN_REVIEW, submitted_at=timezone.now())
    set_record(many_stories[1], "ko", status=Translation.Status.IN_REVIEW, submitted_at=timezone.now())
    Translation.objects.create(
        content_type=ContentType.objects.get_for_model(Part), object_id=999999, language="ko",
        status=Translation.Status.IN_REVIEW,
    )  # fmt: skip
    client.force_login(editor)
    page = client.get("/en/translate/review/").content.decode()
    assert "Queue story 0: Part 1" in page and "Queue story 1" in page
    assert page.count('class="review-list__item"') == 2
