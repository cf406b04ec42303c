"""Reviewed translations: status transitions and who may make them, no fallback, staleness, PO files."""

import datetime

import polib
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from stories import caching
from stories.models import Part, Story, StoryImage
from tests.conftest import make_part, make_staff, make_story, make_storyteller
from translations import po, services
from translations.models import Translation
from translations.views import REVIEW_PAGE_SIZE

SENTINEL = "Qx-IDENTITY-SENTINEL-팔"


def url_in(obj, language):
    with translation.override(language):
        return obj.get_absolute_url()


@pytest.fixture
def english_story(db):
    storyteller = make_storyteller(
        original_language="en", identity={"legal_name": SENTINEL, "identifying_terms": "Hoeryong"}
    )
    return make_story(storyteller=storyteller, original_language="en")


@pytest.fixture
def untranslated_part(english_story):
    """A published English part whose Korean version nobody has translated yet."""
    part = Part.objects.create(
        story=english_story,
        number=1,
        title_en="The first winter",
        body_en="An invented English original.",
        summary_en="What happened.",
        status=Part.Status.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(days=1),
    )
    return part


KOREAN = {"title": "첫 겨울", "summary": "무슨 일이 있었나.", "body": "지어낸 한국어 번역."}


def translate_and_approve(part, translator, editor, text=KOREAN):
    services.translation_save_draft(obj=part, language="ko", text=text, by=translator)
    services.translation_submit(obj=part, language="ko", by=translator)
    return services.translation_approve(obj=part, language="ko", by=editor)


# --- Status transitions and who may make them ---------------------------------------------------


def test_translation_moves_from_missing_to_draft_to_review_to_approved(untranslated_part, translator, editor):
    assert not untranslated_part.is_public("ko")
    draft = services.translation_save_draft(obj=untranslated_part, language="ko", text=KOREAN, by=translator)
    assert draft.status == Translation.Status.DRAFT
    assert not untranslated_part.is_public("ko")
    review = services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    assert review.status == Translation.Status.IN_REVIEW
    assert review.submitted_by == translator
    assert not untranslated_part.is_public("ko")
    approved = services.translation_approve(obj=untranslated_part, language="ko", by=editor)
    assert approved.status == Translation.Status.APPROVED and approved.approved_by == editor
    untranslated_part.refresh_from_db()
    assert untranslated_part.title_ko == "첫 겨울"
    assert untranslated_part.body_html_ko == "<p>지어낸 한국어 번역.</p>"
    assert untranslated_part.is_public("ko")


def test_only_editors_approve_or_return(untranslated_part, translator, consent_officer):
    services.translation_save_draft(obj=untranslated_part, language="ko", text=KOREAN, by=translator)
    services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    with pytest.raises(PermissionDenied):
        services.translation_approve(obj=untranslated_part, language="ko", by=translator)
    with pytest.raises(PermissionDenied):
        services.translation_return(obj=untranslated_part, language="ko", by=translator)
    with pytest.raises(PermissionDenied):
        services.translation_save_draft(obj=untranslated_part, language="ko", text=KOREAN, by=consent_officer)
    assert not untranslated_part.is_public("ko")


def test_editor_returns_a_translation_to_draft(untranslated_part, translator, editor):
    services.translation_save_draft(obj=untranslated_part, language="ko", text=KOREAN, by=translator)
    services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    returned = services.translation_return(obj=untranslated_part, language="ko", by=editor)
    assert returned.status == Translation.Status.DRAFT
    with pytest.raises(ValidationError):
        services.translation_approve(obj=untranslated_part, language="ko", by=editor)


def test_translators_cannot_touch_the_original_language(untranslated_part, translator):
    with pytest.raises(ValidationError):
        services.translation_save_draft(obj=untranslated_part, language="en", text=KOREAN, by=translator)


def test_a_draft_cannot_skip_review_and_an_empty_one_cannot_be_submitted(untranslated_part, translator, editor):
    services.translation_save_draft(obj=untranslated_part, language="ko", text={"title": "", "body": ""}, by=translator)
    with pytest.raises(ValidationError):
        services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    with pytest.raises(ValidationError):
        services.translation_approve(obj=untranslated_part, language="ko", by=editor)


def test_reworking_an_approved_translation_keeps_the_approved_text_public(untranslated_part, translator, editor):
    translate_and_approve(untranslated_part, translator, editor)
    services.translation_save_draft(
        obj=untranslated_part, language="ko", text={**KOREAN, "title": "고쳐 쓰는 중"}, by=translator
    )
    untranslated_part.refresh_from_db()
    assert untranslated_part.title_ko == "첫 겨울"
    assert untranslated_part.is_public("ko")


# --- Redaction parity ---------------------------------------------------------------------------


@pytest.mark.parametrize("term_text", ["회령에서 온 사람", "Born in HOERYONG", "Ｈｏｅｒｙｏｎｇ"])
def test_identifying_term_in_a_translation_blocks_approval(untranslated_part, translator, editor, term_text):
    untranslated_part.story.storyteller.identity.identifying_terms = "Hoeryong\n회령"
    untranslated_part.story.storyteller.identity.save()
    services.translation_save_draft(
        obj=untranslated_part, language="ko", text={**KOREAN, "body": term_text}, by=translator
    )
    services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    with pytest.raises(ValidationError) as refused:
        services.translation_approve(obj=untranslated_part, language="ko", by=editor)
    assert "Body (Korean)" in " ".join(refused.value.messages)
    untranslated_part.refresh_from_db()
    assert not untranslated_part.body_ko
    assert not untranslated_part.is_public("ko")


# --- No fallback on any path ----------------------------------------------------------------------


def test_unapproved_language_has_no_fallback_anywhere(client, untranslated_part):
    # Korean text typed straight into the fields, never approved, must not reach readers either.
    Part.objects.filter(pk=untranslated_part.pk).update(title_ko="승인 안 된 제목", body_ko="승인 안 된 본문")
    korean_url = url_in(untranslated_part, "ko")
    english_url = url_in(untranslated_part, "en")

    response = client.get(korean_url)
    html = response.content.decode()
    assert response.status_code == 404
    assert "이 편은 아직 한국어로 읽을 수 없습니다." in html
    assert f'href="{english_url}"' in html
    assert "승인 안 된" not in html

    home = client.get("/ko/").content.decode()
    assert "승인 안 된" not in home
    assert "영어로만" in home and english_url in home
    assert korean_url not in client.get("/sitemap.xml").content.decode()
    feed = client.get("/ko/feed/").content.decode()
    assert "승인 안 된" not in feed and korean_url not in feed
    assert english_url in feed
    assert not Part.objects.public("ko").filter(pk=untranslated_part.pk).exists()
    assert not Story.objects.public("ko").filter(pk=untranslated_part.story_id).exists()
    assert client.get(url_in(untranslated_part.story, "ko")).status_code == 404


def test_story_title_must_be_approved_too(client, db, translator, editor):
    storyteller = make_storyteller(original_language="en")
    story = Story.objects.create(
        storyteller=storyteller,
        slug="untitled-in-korean",
        title_en="Title",
        title_ko="승인 안 된 이야기 제목",
        status=Story.Status.PUBLISHED,
        original_language="en",
    )
    part = make_part(story=story)
    assert not part.is_public("ko")
    services.translation_approve_existing(obj=story, language="ko", by=editor)
    assert part.is_public("ko")


# --- Staleness ------------------------------------------------------------------------------------


def test_editing_the_original_flags_the_translation_and_editors_decide(client, untranslated_part, translator, editor):
    translate_and_approve(untranslated_part, translator, editor)
    untranslated_part.body_en = "An invented English original, now with one more sentence."
    untranslated_part.save()
    record = Translation.objects.get(object_id=untranslated_part.pk, language="ko", content_type__model="part")
    assert record.needs_update
    assert untranslated_part.is_public("ko")  # kept public by default meanwhile

    client.force_login(translator)
    page = client.get(f"/en/translate/ko/part/{untranslated_part.pk}/").content.decode()
    assert "<ins>" in page and "one" in page and "sentence." in page

    services.translation_set_keep_public(obj=untranslated_part, language="ko", keep_public=False, by=editor)
    assert not untranslated_part.is_public("ko")
    with pytest.raises(PermissionDenied):
        services.translation_set_keep_public(obj=untranslated_part, language="ko", keep_public=True, by=translator)

    translate_and_approve(untranslated_part, translator, editor, text={**KOREAN, "body": "고친 번역."})
    record.refresh_from_db()
    assert not record.needs_update
    assert untranslated_part.is_public("ko")


def test_reverting_the_original_clears_the_flag(untranslated_part, translator, editor):
    translate_and_approve(untranslated_part, translator, editor)
    before = untranslated_part.body_en
    untranslated_part.body_en = "Changed."
    untranslated_part.save()
    untranslated_part.body_en = before
    untranslated_part.save()
    assert not Translation.objects.get(object_id=untranslated_part.pk, content_type__model="part").needs_update


# --- PO round trip ----------------------------------------------------------------------------


def _entries(text):
    return {entry.msgctxt: entry for entry in polib.pofile(text)}


def test_po_round_trip_changes_nothing_that_was_not_translated(english_story, untranslated_part, translator, editor):
    second = make_part(story=english_story, number=2)  # approved Korean already
    before = {t.pk: (t.status, t.updated_at, t.draft) for t in Translation.objects.all()}
    exported = po.story_export(story=english_story, language="ko")
    result = po.story_import(story=english_story, language="ko", content=exported.encode(), by=translator)
    assert result.updated == []
    assert {t.pk: (t.status, t.updated_at, t.draft) for t in Translation.objects.all()} == before

    entries = polib.pofile(exported)
    for entry in entries:
        if entry.msgctxt == f"stories.part:{untranslated_part.pk}:title":
            entry.msgstr = "첫 겨울"
    result = po.story_import(story=english_story, language="ko", content=str(entries).encode(), by=translator)
    assert result.updated == ["Part 1"]
    draft = Translation.objects.get(content_type__model="part", object_id=untranslated_part.pk, language="ko")
    assert draft.status == Translation.Status.DRAFT and draft.draft["title"] == "첫 겨울"
    approved = Translation.objects.get(content_type__model="part", object_id=second.pk, language="ko")
    assert approved.status == Translation.Status.APPROVED
    second.refresh_from_db()
    assert second.title_ko == "2편 제목"


def test_po_file_with_changed_originals_is_refused_with_a_list(english_story, untranslated_part, translator):
    exported = polib.pofile(po.story_export(story=english_story, language="ko"))
    for entry in exported:
        entry.msgstr = "번역"
    untranslated_part.body_en = "The original changed after export."
    untranslated_part.save()
    with pytest.raises(ValidationError) as refused:
        po.story_import(story=english_story, language="ko", content=str(exported).encode(), by=translator)
    assert "Part 1: Body" in " ".join(refused.value.messages)
    assert not Translation.objects.filter(status=Translation.Status.DRAFT).exists()


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b'msgid "unterminated', b""])
def test_broken_po_files_get_a_clear_error(english_story, untranslated_part, translator, content):
    with pytest.raises(ValidationError):
        po.story_import(story=english_story, language="ko", content=content, by=translator)
    assert not Translation.objects.filter(status=Translation.Status.DRAFT).exists()


def test_po_file_of_another_story_is_refused(english_story, untranslated_part, translator):
    other = make_story(slug="another-story")
    exported = po.story_export(story=english_story, language="ko")
    with pytest.raises(ValidationError, match="another story"):
        po.story_import(story=other, language="ko", content=exported.encode(), by=translator)


# --- The workspace ------------------------------------------------------------------------------


def test_workspace_is_for_translators_and_editors_only(client, untranslated_part, translator, editor, consent_officer):
    urls = [
        "/en/translate/",
        "/en/translate/ko/",
        f"/en/translate/ko/part/{untranslated_part.pk}/",
        f"/en/translate/ko/stories/{untranslated_part.story.slug}/export.po",
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(consent_officer)
    for url in urls:
        assert client.get(url).status_code == 403
    for user in (translator, editor):
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200
            assert SENTINEL.encode() not in response.content
            assert b"Hoeryong" not in response.content


def test_workspace_refuses_the_original_language_and_unknown_things(client, untranslated_part, translator):
    client.force_login(translator)
    assert client.get(f"/en/translate/en/part/{untranslated_part.pk}/").status_code == 404
    assert client.get(f"/en/translate/fr/part/{untranslated_part.pk}/").status_code == 404
    assert client.get("/en/translate/ko/consent/1/").status_code == 404
    assert client.get("/en/translate/ko/part/999999/").status_code == 404
    assert client.get("/en/translate/review/").status_code == 404


def test_translator_drafts_and_submits_through_the_workspace_and_editor_approves(
    client, untranslated_part, translator, editor
):
    url = f"/en/translate/ko/part/{untranslated_part.pk}/"
    client.force_login(translator)
    page = client.get(url)
    opened_at = page.context["form"]["opened_at"].value()
    response = client.post(url, {**KOREAN, "opened_at": opened_at, "action": "submit"})
    assert response.status_code == 302
    record = Translation.objects.get(content_type__model="part", object_id=untranslated_part.pk, language="ko")
    assert record.status == Translation.Status.IN_REVIEW
    # A second translator's stale form is refused instead of overwriting the first one's work.
    stale = client.post(url, {**KOREAN, "title": "덮어쓰기", "opened_at": opened_at, "action": "save"})
    assert stale.status_code == 400
    # The refusal shows what the saved version says where it differs from theirs.
    assert "Title now reads: 첫 겨울" in stale.content.decode()
    record.refresh_from_db()
    assert record.draft["title"] == "첫 겨울"

    client.force_login(editor)
    opened_at = client.get(url).context["form"]["opened_at"].value()
    assert client.post(url, {**KOREAN, "opened_at": opened_at, "action": "approve"}).status_code == 302
    assert untranslated_part.is_public("ko")


# Queries of each workspace page when a write has just made the overview stale: the session and the user,
# the user's permissions (one query), the overview's four, and the page's own. With the overview kept, four fewer.
WORKSPACE_BUDGETS = {
    # The newest stories with work left, in both languages at once.
    "/en/translate/": 9,
    # The page's stories, their parts, photos and translation records.
    "/en/translate/ko/": 12,
    "/en/translate/ko/?show=all&page=last": 12,
    "/ko/translate/en/?show=all": 12,
    # The page's translations with their submitters, and one query per model of what they translate.
    "/en/translate/review/": 10,
}


def test_dashboard_query_count_does_not_grow_with_the_archive(
    client, translator, editor, django_assert_max_num_queries
):
    """Every workspace page costs the same queries at any size, whether a write just made the overview stale."""
    for count in (1, 8):
        for _ in range(count):
            for original, target in (("en", "ko"), ("ko", "en")):
                story = make_story(storyteller=make_storyteller(original_language=original), original_language=original)
                for _ in range(3):
                    part = make_part(story=story)
                    StoryImage.objects.create(
                        part=part, rendition_key=f"k{part.pk}", shows_identifiable_person=False, alt_text_en="Hills",
                        alt_text_ko="언덕",
                    )  # fmt: skip
                    services.translation_save_draft(
                        obj=part, language=target, text={"title": "Draft", "body": "Draft."}, by=translator
                    )
                    services.translation_submit(obj=part, language=target, by=translator)
        # Signed in after the writes: on a slow machine they can take longer than a minute, and the first
        # request a minute after the last would also record the staff member's activity in the session
        # (archive.middleware.STAFF_SEEN_EVERY_SECONDS), two queries that are not the page's.
        client.force_login(editor)
        for url, budget in WORKSPACE_BUDGETS.items():
            caching.invalidate("stories.story:0")  # as any write does: the overview is stale
            for allowed in (budget, budget - 4):  # then it is kept
                with django_assert_max_num_queries(allowed):
                    response = client.get(url)
                assert response.status_code == 200, url
            page = response.content.decode()
            if "review" in url:
                waiting = Translation.objects.filter(status=Translation.Status.IN_REVIEW).count()
                assert page.count(f"sent by {translator.username}") == min(waiting, REVIEW_PAGE_SIZE)
            else:
                assert 'class="queue-story"' in page or 'class="progress-list__item"' in page


def test_staff_user_factory_is_used(db):
    assert make_staff("Translators").has_perm("translations.translate")


def test_translation_approval_is_in_the_audit_trail(untranslated_part, translator, editor):
    from stories import audit

    translate_and_approve(untranslated_part, translator, editor)
    entries = [entry for entry in audit.audit_entries() if entry.model == "translation"]
    assert any(
        entry.field == "status" and entry.after == "approved" and entry.who == editor.username for entry in entries
    )
    assert any(
        entry.field == "status" and entry.after == "in_review" and entry.who == translator.username for entry in entries
    )


@pytest.mark.parametrize("model_name", ["theme", "contentwarning"])
def test_labels_without_a_review_workflow_need_every_language(client, editor, model_name):
    field = "name" if model_name == "theme" else "label"
    client.force_login(editor)
    response = client.post(
        f"/admin/stories/{model_name}/add/", {f"{field}_en": "Only English", f"{field}_ko": "", "slug": "only-english"}
    )
    assert response.status_code == 200
    assert "Write this in Korean too" in response.content.decode()
    from stories.models import ContentWarning, Theme

    assert not (Theme if model_name == "theme" else ContentWarning).objects.filter(slug="only-english").exists()


def test_an_original_changed_during_review_leaves_the_approved_translation_stale(untranslated_part, translator, editor):
    services.translation_save_draft(obj=untranslated_part, language="ko", text=KOREAN, by=translator)
    services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    untranslated_part.body_en = "An invented English original, changed while the translation waited."
    untranslated_part.save()
    approved = services.translation_approve(obj=untranslated_part, language="ko", by=editor)
    assert approved.needs_update
    assert approved.approved_source["body"] == "An invented English original."


def test_an_editor_cannot_approve_a_version_the_page_did_not_show(client, untranslated_part, translator, editor):
    url = f"/en/translate/ko/part/{untranslated_part.pk}/"
    services.translation_save_draft(obj=untranslated_part, language="ko", text=KOREAN, by=translator)
    services.translation_submit(obj=untranslated_part, language="ko", by=translator)
    client.force_login(editor)
    opened_at = client.get(url).context["form"]["opened_at"].value()
    # Meanwhile the translator takes it back, changes the title and sends it again.
    services.translation_save_draft(
        obj=untranslated_part, language="ko", text={**KOREAN, "title": "바뀐 제목"}, by=translator
    )
    services.translation_submit(obj=untranslated_part, language="ko", by=translator)

    response = client.post(url, {**KOREAN, "opened_at": opened_at, "action": "approve"})

    assert response.status_code == 400
    assert not untranslated_part.is_public("ko")


def test_withdrawn_stories_leave_the_workspace_and_cannot_be_exported(client, untranslated_part, translator):
    from stories import services as story_services

    story_services.consent_withdraw(
        storyteller=untranslated_part.story.storyteller, reason="Withdrawn.", recorded_by=None
    )
    client.force_login(translator)
    assert untranslated_part.story.title_en not in client.get("/en/translate/ko/").content.decode()
    assert client.get(f"/en/translate/ko/part/{untranslated_part.pk}/").status_code == 404
    assert client.get(f"/en/translate/ko/stories/{untranslated_part.story.slug}/export.po").status_code == 404


@pytest.mark.parametrize("language", ["en", "xx"])
def test_editor_decisions_check_the_language_too(untranslated_part, editor, language):
    with pytest.raises(ValidationError):
        services.translation_set_keep_public(obj=untranslated_part, language=language, keep_public=False, by=editor)
    with pytest.raises(ValidationError):
        services.translation_return(obj=untranslated_part, language=language, by=editor)
    assert not Translation.objects.filter(language=language).exists()
