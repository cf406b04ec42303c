"""A part sent for review with the story's and storyteller's text it needs: one submission, one decision.

Text entered in the record itself in the target language (a pseudonym the consent officer typed) is
present: the translator starts from it and sends it with the part, instead of it showing as missing.
"""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from stories.models import Part, Story
from stories.publication import publication_check
from tests.conftest import make_storyteller
from translations import services
from translations.models import Translation
from translations.workspace import measure_overview, story_items

# The texts of the other language, by target language: (teller, story, part).
TEXTS = {
    "ko": {
        "storyteller": {"pseudonym": "하늘", "bio": "지어낸 짧은 소개."},
        "story": {"title": "하늘의 이야기", "summary": "지어낸 요약."},
        "part": {"title": "강을 건넌 밤", "summary": "무슨 일이 있었나.", "body": "지어낸 한국어 번역.", "recap": ""},
    },
    "en": {
        "storyteller": {"pseudonym": "Haneul", "bio": "A short invented bio."},
        "story": {"title": "Haneul's Story", "summary": "An invented summary."},
        "part": {"title": "The night at the river", "summary": "What happened.", "body": "An invented English text.",
                 "recap": ""},
    },
}  # fmt: skip


def other(language):
    return "en" if language == "ko" else "ko"


def drop_records(obj, language):
    Translation.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, language=language
    ).delete()


@pytest.fixture(params=["ko", "en"])
def setup(request, db):
    """A published part in one language whose storyteller's pseudonym the consent officer typed in the other.

    Nothing of it has been through review in the target language: without review it is not readable there.
    """
    target = request.param
    original = other(target)
    teller = make_storyteller(original_language=original)
    # The consent officer typed the pseudonym in the target language; the bio was never translated.
    setattr(teller, f"pseudonym_{target}", TEXTS[target]["storyteller"]["pseudonym"])
    setattr(teller, f"bio_{target}", "")
    teller.save()
    drop_records(teller, target)
    story = Story.objects.create(
        storyteller=teller,
        slug=f"river-{target}",
        original_language=original,
        status=Story.Status.PUBLISHED,
        **{f"title_{original}": "An original title", f"summary_{original}": "An original summary."},
    )
    part = Part.objects.create(
        story=story,
        number=1,
        status=Part.Status.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(days=1),
        **{f"title_{original}": "An original part", f"body_{original}": "The original body, invented."},
    )
    return {"target": target, "teller": teller, "story": story, "part": part}


def part_url(part, language):
    with translation.override(language):
        return part.get_absolute_url()


def edit_url(obj, language):
    return f"/en/translate/{language}/{obj._meta.model_name}/{obj.pk}/"


def form_data(target, page_form_opened_at=""):
    texts = TEXTS[target]
    data = {"opened_at": page_form_opened_at, **texts["part"]}
    for prefix in ("storyteller", "story"):
        data.update({f"{prefix}-{field}": value for field, value in texts[prefix].items()})
    return data


def record(obj, language):
    return Translation.objects.get(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, language=language
    )


def test_text_typed_in_the_record_is_present_not_missing(client, translator, setup):
    target, teller = setup["target"], setup["teller"]
    items = {item.model_name: item for item in story_items(setup["story"], target)}
    assert items["storyteller"].status == Translation.Status.DRAFT
    assert items["story"].status == Translation.Status.MISSING
    client.force_login(translator)
    page = client.get(edit_url(setup["part"], target)).content.decode()
    # The part's page asks for what it needs, with the typed pseudonym filled in.
    assert 'name="storyteller-pseudonym"' in page and 'name="story-title"' in page
    assert f'value="{TEXTS[target]["storyteller"]["pseudonym"]}"' in page
    queue = client.get(f"/en/translate/{target}/?show=all").content.decode()
    assert f"/{target}/storyteller/{teller.pk}/" in queue


def test_one_submission_and_one_approval_make_the_part_readable(client, translator, editor, setup):
    target, part, story, teller = setup["target"], setup["part"], setup["story"], setup["teller"]
    assert not part.is_public(target)
    assert client.get(part_url(part, target)).status_code == 404

    client.force_login(translator)
    response = client.post(edit_url(part, target), {**form_data(target), "action": "submit_together"})
    assert response.status_code == 302, response.content.decode()[:2000]
    lead = record(part, target)
    assert lead.status == Translation.Status.IN_REVIEW
    for obj in (story, teller):
        member = record(obj, target)
        assert member.status == Translation.Status.IN_REVIEW and member.submitted_with_id == lead.pk
    # One review waits, not three; nothing is readable yet.
    assert measure_overview().review == (lead.pk,)
    assert not part.is_public(target)
    assert client.get(part_url(part, target)).status_code == 404

    # A member is decided on with the part, not alone.
    with translation.override("en"), pytest.raises(ValidationError, match="together"):
        services.translation_approve(obj=story, language=target, by=editor)

    client.force_login(editor)
    page = client.get(edit_url(part, target)).content.decode()
    assert "Approve all sent together" in page
    assert client.get(edit_url(story, target)).content.decode().count('value="approve"') == 0
    opened_at = client.get(edit_url(part, target)).context["form"]["opened_at"].value()
    response = client.post(edit_url(part, target), {**form_data(target, opened_at), "action": "approve"})
    assert response.status_code == 302
    for obj in (part, story, teller):
        approved = record(obj, target)
        assert approved.status == Translation.Status.APPROVED and approved.submitted_with_id is None
    part.refresh_from_db()
    teller.refresh_from_db()
    assert getattr(teller, f"pseudonym_{target}") == TEXTS[target]["storyteller"]["pseudonym"]
    assert part.is_public(target)
    response = client.get(part_url(part, target))
    assert response.status_code == 200
    assert TEXTS[target]["part"]["body"] in response.content.decode()
    assert not publication_check()


def test_returning_the_part_returns_everything_sent_with_it(client, translator, editor, setup):
    target, part, story, teller = setup["target"], setup["part"], setup["story"], setup["teller"]
    services.translation_submit_together(
        part=part, language=target, texts={name: TEXTS[target][name] for name in TEXTS[target]}, by=translator
    )
    services.translation_return(obj=part, language=target, by=editor)
    for obj in (part, story, teller):
        returned = record(obj, target)
        assert returned.status == Translation.Status.DRAFT and returned.submitted_with_id is None
        assert returned.approved_at is None
    assert not part.is_public(target)
    assert not publication_check()


def test_an_identifying_term_in_one_text_refuses_them_all(translator, editor, setup):
    target, part, story, teller = setup["target"], setup["part"], setup["story"], setup["teller"]
    identity = teller.identity
    identity.identifying_terms = "Onbit-ri"  # invented
    identity.save()
    texts = {name: dict(TEXTS[target][name]) for name in TEXTS[target]}
    texts["story"]["summary"] = "They left Onbit-ri in winter."
    services.translation_submit_together(part=part, language=target, texts=texts, by=translator)
    with pytest.raises(ValidationError, match="identifying details"):
        services.translation_approve(obj=part, language=target, by=editor)
    for obj in (part, story, teller):
        assert record(obj, target).status == Translation.Status.IN_REVIEW
        assert record(obj, target).approved_at is None
    assert not part.is_public(target)


def test_a_submission_missing_a_needed_text_sends_nothing(translator, setup):
    target, part = setup["target"], setup["part"]
    texts = {name: dict(TEXTS[target][name]) for name in TEXTS[target]}
    texts["story"]["title"] = ""
    with pytest.raises(ValidationError, match="before sending it for review"):
        services.translation_submit_together(part=part, language=target, texts=texts, by=translator)
    assert not Translation.objects.filter(status=Translation.Status.IN_REVIEW).exists()
    assert not Translation.objects.filter(
        content_type=ContentType.objects.get_for_model(part), object_id=part.pk, status=Translation.Status.DRAFT
    ).exists()


def test_what_is_approved_already_is_not_sent_again(translator, editor, setup):
    target, part, story, teller = setup["target"], setup["part"], setup["story"], setup["teller"]
    services.translation_save_draft(obj=teller, language=target, text=TEXTS[target]["storyteller"], by=translator)
    services.translation_submit(obj=teller, language=target, by=translator)
    services.translation_approve(obj=teller, language=target, by=editor)
    assert services.companions(part, target) == [story]
    lead = services.translation_submit_together(
        part=part, language=target, texts={name: TEXTS[target][name] for name in TEXTS[target]}, by=translator
    )
    assert list(lead.submitted_together.values_list("object_id", flat=True)) == [story.pk]
    services.translation_approve(obj=part, language=target, by=editor)
    assert part.is_public(target)
