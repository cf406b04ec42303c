"""The workspace leaves out what a translator must not be given: stories whose storyteller's consent
excludes the language, and draft parts whose text still holds an identifying term (never the term)."""

import datetime

import pytest
from django.utils import timezone

from stories import services as story_services
from stories.models import Part, StoryImage
from tests.conftest import make_part, make_story, make_storyteller
from translations import po, services
from translations.workspace import measure_overview, story_items, workable_stories

# Invented identifying terms, one in each script.
TERM_EN = "Saebyeol-dong"
TERM_KO = "새별동"


def queue(client, language, show="all"):
    response = client.get(f"/en/translate/{language}/?show={show}")
    assert response.status_code == 200
    return response.content.decode()


def edit_url(language, obj):
    return f"/en/translate/{language}/{obj._meta.model_name}/{obj.pk}/"


def record_consent(storyteller, **scopes):
    fields = {
        "decision": "given",
        "review_by": timezone.localdate() + datetime.timedelta(days=365),
        "covers_web": True,
        "covers_english": True,
        "covers_korean": True,
        "covers_advocacy": True,
        **scopes,
    }
    story_services.consent_record(storyteller=storyteller, recorded_by=None, **fields)


@pytest.fixture
def excluded(db):
    """Two storytellers whose consent excludes the language their stories would be translated into."""
    # Each teller wrote their own text in the other language, so the story has text to translate both ways.
    no_korean = make_storyteller(original_language="ko", consent={"covers_korean": False})
    no_english = make_storyteller(original_language="en", consent={"covers_english": False})
    english = make_story(storyteller=no_korean, original_language="en", slug="no-korean")
    korean = make_story(storyteller=no_english, original_language="ko", slug="no-english")
    for story in (english, korean):
        make_part(story=story)
    # Beside them, a story translated both ways.
    open_story = make_story(storyteller=make_storyteller(original_language="ko"), slug="open-story")
    make_part(story=open_story)
    return {"ko": english, "en": korean, "open": open_story}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_story_whose_consent_excludes_the_language_is_not_in_its_workspace(client, translator, excluded, language):
    client.force_login(translator)
    hidden = excluded[language]
    other = "en" if language == "ko" else "ko"
    page = queue(client, language)
    assert f'id="story-{hidden.pk}"' not in page
    assert f'id="story-{excluded[other].pk}"' in page
    # The other language, which its consent covers, still lists it (where there is anything to translate).
    assert f'id="story-{hidden.pk}"' in queue(client, other)
    # Nor can it be reached by address: its part, its storyteller, its PO file.
    part = hidden.parts.get()
    assert client.get(edit_url(language, part)).status_code == 404
    assert client.get(edit_url(language, hidden.storyteller)).status_code == 404
    assert client.get(f"/en/translate/{language}/stories/{hidden.slug}/export.po").status_code == 404
    assert client.get(f"/en/translate/{other}/stories/{hidden.slug}/export.po").status_code == 200
    # The counts agree with the definition.
    assert hidden.pk not in measure_overview().languages[language].stories
    assert hidden.pk in measure_overview().languages[other].stories
    assert hidden not in workable_stories(language=language)
    assert hidden not in workable_stories([hidden.pk], language)
    assert hidden in workable_stories([hidden.pk], other)


def test_a_consent_that_stops_covering_korean_takes_the_story_out_at_the_next_request(client, translator, excluded):
    client.force_login(translator)
    story = excluded["open"]
    assert f'id="story-{story.pk}"' in queue(client, "ko")
    record_consent(story.storyteller, covers_korean=False)
    assert f'id="story-{story.pk}"' not in queue(client, "ko")
    assert story.pk not in measure_overview().languages["ko"].stories
    record_consent(story.storyteller, covers_korean=True)
    assert f'id="story-{story.pk}"' in queue(client, "ko")


def _counts(language):
    """What the workspace defines, story by story, for the stories workable in the language."""
    totals = {}
    for story in workable_stories(language=language):
        items = story_items(story, language)
        if items:
            totals[story.pk] = (sum(item.is_done for item in items), len(items))
    return totals


def test_the_measured_overview_equals_the_definition_with_exclusions(excluded):
    summary = measure_overview()
    for language in ("en", "ko"):
        progress = summary.languages[language]
        counts = _counts(language)
        assert set(progress.stories) == set(counts)
        assert progress.total == sum(total for _done, total in counts.values())
        assert progress.done == sum(done for done, _total in counts.values())


@pytest.fixture
def drafts(db):
    """In each language, a story with a draft part that holds its teller's term, and a clean draft part."""
    stories = {}
    for original, term, target in (("en", TERM_EN, "ko"), ("ko", TERM_KO, "en")):
        teller = make_storyteller(original_language=original, identity={"identifying_terms": f"{TERM_EN}\n{TERM_KO}"})
        story = make_story(storyteller=teller, original_language=original)
        published = make_part(story=story)
        holding = make_part(
            story=story,
            status=Part.Status.DRAFT,
            published_at=None,
            **{f"body_{original}": f"We walked from {term} at night.", f"title_{original}": "A night walk"},
        )
        clean = make_part(story=story, status=Part.Status.DRAFT, published_at=None)
        stories[target] = {"story": story, "published": published, "holding": holding, "clean": clean}
    return stories


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_draft_part_holding_an_identifying_term_is_held_back_without_the_term(client, translator, drafts, language):
    client.force_login(translator)
    case = drafts[language]
    page = queue(client, language)
    assert TERM_EN not in page and TERM_KO not in page
    assert "A night walk" not in page
    # Listed as work, but without a link, saying why in general words.
    assert "Held back: an editor must first remove an identifying detail from the original." in page
    assert edit_url(language, case["holding"]) not in page
    assert edit_url(language, case["clean"]) in page
    assert edit_url(language, case["published"]) in page
    # Not by address, nor in the PO file.
    assert client.get(edit_url(language, case["holding"])).status_code == 404
    assert client.get(edit_url(language, case["clean"])).status_code == 200
    exported = client.get(f"/en/translate/{language}/stories/{case['story'].slug}/export.po").content.decode()
    assert TERM_EN not in exported and TERM_KO not in exported
    assert f"stories.part:{case['holding'].pk}:" not in exported
    assert f"stories.part:{case['clean'].pk}:" in exported
    # Once an editor takes the term out, the translator is given it.
    original = case["story"].original_language
    Part.objects.filter(pk=case["holding"].pk).update(**{f"body_{original}": "We walked at night."})
    page = queue(client, language)
    assert edit_url(language, case["holding"]) in page
    assert client.get(edit_url(language, case["holding"])).status_code == 200


def test_a_photo_caption_holding_a_term_holds_back_its_draft_part_and_the_photo(client, translator, drafts):
    client.force_login(translator)
    clean = drafts["ko"]["clean"]
    photo = StoryImage.objects.create(
        part=clean, rendition_key="k-held", shows_identifiable_person=False, alt_text_en="Hills",
        caption_en=f"The road out of {TERM_EN}",
    )  # fmt: skip
    page = queue(client, "ko")
    assert edit_url("ko", clean) not in page and edit_url("ko", photo) not in page
    assert TERM_EN not in page
    assert client.get(edit_url("ko", photo)).status_code == 404
    assert client.get(edit_url("ko", clean)).status_code == 404


def test_a_site_wide_term_holds_back_a_draft_part_too(client, translator, drafts):
    from stories.models import ProtectedTerm

    client.force_login(translator)
    clean = drafts["ko"]["clean"]
    ProtectedTerm.objects.create(term="Quiet Harbour House")
    Part.objects.filter(pk=clean.pk).update(summary_en="They stayed at Quiet Harbour House.")
    page = queue(client, "ko")
    assert "Quiet Harbour House" not in page and edit_url("ko", clean) not in page


def test_a_held_back_part_cannot_be_imported_from_a_po_file(drafts, translator):
    case = drafts["ko"]
    entries = [item for item in story_items(case["story"], "ko") if item.held_back]
    assert [item.obj for item in entries] == [case["holding"]]
    content = (
        f'msgid ""\nmsgstr ""\n"Language: ko\\n"\n\nmsgctxt "stories.part:{case["holding"].pk}:title"\n'
        f'msgid "A night walk"\nmsgstr "밤길"\n'
    ).encode()
    with pytest.raises(Exception, match="entries this story does not have"):
        po.story_import(story=case["story"], language="ko", content=content, by=translator)
    services.translation_get(obj=case["clean"], language="ko")  # the clean one is a translation like any other


def test_the_queue_costs_the_same_queries_with_more_held_back_drafts(client, translator, django_assert_max_num_queries):
    client.force_login(translator)
    budget = None
    for count in (1, 4):
        for _ in range(count):
            teller = make_storyteller(original_language="en", identity={"identifying_terms": TERM_EN})
            story = make_story(storyteller=teller)
            make_part(story=story, status=Part.Status.DRAFT, published_at=None, body_en=f"From {TERM_EN}.")
            make_part(story=story, status=Part.Status.DRAFT, published_at=None)
            make_storyteller(original_language="en", consent={"covers_korean": False})
        queue(client, "ko")  # the overview is measured once after the writes
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            page = queue(client, "ko")
        assert page.count("Held back:") == min(1 + 4 * (count == 4), 5)
        if budget is None:
            budget = len(queries)
        else:
            with django_assert_max_num_queries(budget):
                queue(client, "ko")
