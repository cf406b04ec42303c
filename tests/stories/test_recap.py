"""A part's recap: an editor's line on the earlier parts, shown instead of the generic links to them."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from stories import privacy, services
from stories.models import Part
from tests.conftest import make_part, make_story, make_storyteller
from translations import services as translations
from translations.models import Translation
from translations.registry import translatable_for

RECAP_EN = "Read [parts one](/en/stories/x/part-1/) and two of her story, which tell of the river in winter."
RECAP_KO = "강을 건넌 겨울을 들려준 [1편](/ko/stories/x/part-1/)과 2편을 먼저 읽어 보세요."
GENERIC_EN = "New to this story? Start with"
GENERIC_KO = "이 이야기가 처음이라면 여기서 시작하세요:"


def html_of(client, part, language: str) -> str:
    with translation.override(language):
        url = part.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def serial(story):
    return [make_part(story=story) for _ in range(2)]


def test_recap_is_rendered_once_on_save_per_language(serial):
    part = make_part(story=serial[0].story, recap_en=RECAP_EN, recap_ko=RECAP_KO)
    assert part.recap_html_en.startswith('<p>Read <a href="/en/stories/x/part-1/">parts one</a>')
    assert '<a href="/ko/stories/x/part-1/">1편</a>' in part.recap_html_ko
    part.recap_en = "<script>alert(1)</script>Only *this*."
    part.save(update_fields=["recap_en"])
    part.refresh_from_db()
    assert part.recap_html_en == "<p>Only <em>this</em>.</p>"


@pytest.mark.parametrize(("language", "recap", "generic"), [("en", RECAP_EN, GENERIC_EN), ("ko", RECAP_KO, GENERIC_KO)])
def test_recap_is_shown_instead_of_the_generic_line(client, serial, language, recap, generic):
    part = make_part(story=serial[0].story, recap_en=RECAP_EN, recap_ko=RECAP_KO)
    html = html_of(client, part, language)
    assert '<div class="part__start part__recap prose">' in html
    assert getattr(part, f"recap_html_{language}") in html
    assert generic not in html


def test_recap_is_not_shown_in_a_language_it_is_not_translated_into(client, serial):
    part = make_part(story=serial[0].story, recap_en=RECAP_EN)
    assert part.is_public("ko")
    korean = html_of(client, part, "ko")
    # No fallback: the Korean page keeps the generic line, and never shows the English recap.
    assert GENERIC_KO in korean
    assert "part__recap" not in korean and "Read <a" not in korean
    assert "part__recap" in html_of(client, part, "en")


def test_a_part_without_recap_keeps_the_generic_line(client, serial):
    html = html_of(client, make_part(story=serial[0].story), "en")
    assert GENERIC_EN in html and "part__recap" not in html


def test_the_page_reads_only_the_shown_parts_recap_and_no_more_queries(client, story, django_assert_max_num_queries):
    parts = [make_part(story=story, recap_en=f"Recap number {n}." if n > 1 else "") for n in range(1, 5)]
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(5):
        html = html_of(client, parts[2], "en")
    assert "Recap number 3." in html
    assert "Recap number 2." not in html and "Recap number 4." not in html
    # The other parts' recaps stay in the database: the serial's query names the column once, in its CASE.
    serial_query = next(query["sql"] for query in queries.captured_queries if "recap_html_en" in query["sql"])
    assert serial_query.count("recap_html_en") == 1


def test_the_first_part_has_no_recap(story):
    part = Part(story=story, number=1, title_en="First", body_en="Text.", recap_ko="앞 이야기.")
    with pytest.raises(ValidationError) as refused:
        part.full_clean()
    assert "recap_ko" in refused.value.message_dict


def test_a_recap_holding_a_protected_term_is_refused_on_save(db):
    teller = make_storyteller(identity={"identifying_terms": "Ri Son-hwa"})
    story = make_story(storyteller=teller)
    make_part(story=story)
    part = make_part(story=story)
    part.recap_en = "In part one, Ri Son-hwa crossed the river."
    with pytest.raises(ValidationError) as refused:
        services.part_save(part=part)
    assert any(message.startswith("part recap (English)") for message in refused.value.messages)
    part.refresh_from_db()
    assert not part.recap_en


def test_a_recap_is_public_text_for_the_guard_and_the_later_scan():
    assert "recap_en" in privacy.text_fields(Part) and "recap_ko" in privacy.text_fields(Part)


def test_a_korean_recap_goes_through_the_translation_workflow(client, story, translator, editor):
    make_part(story=story)
    part = make_part(story=story, recap_en=RECAP_EN, recap_ko="")
    assert "recap" in translatable_for(part).fields
    text = {"title": part.title_ko, "summary": part.summary_ko, "body": part.body_ko, "recap": RECAP_KO}
    translations.translation_save_draft(obj=part, language="ko", text=text, by=translator)
    translations.translation_submit(obj=part, language="ko", by=translator)
    # Readers keep the last approved Korean text, without a recap, until the editor approves.
    assert "part__recap" not in html_of(client, part, "ko")
    approved = translations.translation_approve(obj=part, language="ko", by=editor)
    assert not approved.needs_update
    part.refresh_from_db()
    assert '<a href="/ko/stories/x/part-1/">1편</a>' in part.recap_html_ko
    assert "part__recap" in html_of(client, part, "ko")
    # Changing the English recap leaves the approved Korean one stale, as for any other field.
    part.recap_en = "A new English recap."
    services.part_save(part=part)
    approved.refresh_from_db()
    assert approved.needs_update


def test_a_korean_recap_holding_a_protected_term_is_refused_at_approval(story, translator, editor):
    story.storyteller.identity.identifying_terms = "리선화"
    story.storyteller.identity.save()
    make_part(story=story)
    part = make_part(story=story)
    text = {
        "title": part.title_ko,
        "summary": part.summary_ko,
        "body": part.body_ko,
        "recap": "1편에서 리선화는 강을 건넜다.",
    }
    translations.translation_save_draft(obj=part, language="ko", text=text, by=translator)
    translations.translation_submit(obj=part, language="ko", by=translator)
    with pytest.raises(ValidationError):
        translations.translation_approve(obj=part, language="ko", by=editor)
    part.refresh_from_db()
    assert not part.recap_ko


def test_translations_approved_before_the_recap_existed_do_not_turn_stale(story):
    """The migration records the new, empty recap in the originals earlier translations were approved from."""
    make_part(story=story)
    part = make_part(story=story)
    approved = Translation.objects.get(object_id=part.pk, language="ko", approved_at__isnull=False)
    # As a translation approved before this change recorded its original: without the recap.
    del approved.approved_source["recap"]
    approved.save(update_fields=["approved_source"])
    importlib.import_module("stories.migrations.0019_part_recap").recap_in_recorded_originals(apps, None)
    approved.refresh_from_db()
    assert approved.approved_source["recap"] == ""
    services.part_save(part=part)
    approved.refresh_from_db()
    assert not approved.needs_update
