"""The back office's side of the survivor-safety promises, each attacked through the real admin:
withdrawal, consent reviews, the audit trail, the identity key, protected terms, evidence and lost edits."""

import csv
import datetime
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from stories import services
from stories.forms import changes_since
from stories.models import Consent, ConsentEvidence, Part, ProtectedTerm, Story, Storyteller, StorytellerIdentity
from tests.conftest import make_part, make_staff, make_story, make_storyteller, sitemap_pages
from tests.stories.test_back_office import admin_url, datetime_fields, form_errors, open_form, page_text
from tests.stories.test_safety import reader_urls, url_in

# Invented details standing in for a storyteller's real identity.
LEGAL_NAME = "Tavrin Oskellow"
NEW_LEGAL_NAME = "Tavrin Oskellow-Marr"
CASEWORKER_NOTE = "Sentinel caseworker note: call the cousin in Brellhaven first"
IDENTIFYING_TERM = "Vorsk Valley"
IDENTITY_SENTINELS = [LEGAL_NAME, NEW_LEGAL_NAME, CASEWORKER_NOTE, IDENTIFYING_TERM]
CONSENT_NOTE = "Sentinel consent note: signed at the harbour office"
WITHDRAWAL_REASON = "Sentinel reason: a relative was questioned."


def withdraw_url(storyteller) -> str:
    return reverse("admin:stories_storyteller_withdraw_consent", args=[storyteller.pk])


def audit_url() -> str:
    return reverse("admin:stories_consent_audit")


def audit_export_url() -> str:
    return reverse("admin:stories_consent_audit_export")


def form_error_text(response) -> str:
    """Every error on an admin form page, main form and inlines, as one string."""
    return " ".join(str(value) for value in form_errors(response).values())


@pytest.fixture
def teller(db):
    return make_storyteller(
        pseudonym_en="Silver Finch",
        pseudonym_ko="은빛 되새",
        identity={
            "legal_name": LEGAL_NAME,
            "caseworker_notes": CASEWORKER_NOTE,
            "identifying_terms": f"{IDENTIFYING_TERM}\nOskellow",
        },
        consent={"note": CONSENT_NOTE},
    )


@pytest.fixture
def told_story(teller):
    return make_story(storyteller=teller, slug="salt-road", title_en="The Salt Road", title_ko="소금 길")


@pytest.fixture
def parts(told_story):
    return [make_part(story=told_story, number=number) for number in (1, 2)]


@pytest.fixture
def draft(told_story, parts):
    return make_part(
        story=told_story,
        number=3,
        title_en="The Third Night",
        body_en="We waited for the boat.",
        status=Part.Status.DRAFT,
        published_at=None,
    )


@pytest.fixture
def other_editor(db):
    return make_staff("Editors")


# --- 1. Withdrawal is one action ----------------------------------------------------------------


def test_withdrawal_through_the_admin_hides_every_public_surface_at_the_next_request(
    client, consent_officer, teller, parts
):
    reader = Client()
    elsewhere = make_part()
    urls = reader_urls(parts)
    for url in urls:
        first = reader.get(url)
        assert first.status_code == 200, url
        # The second request is served from the page cache.
        assert reader.get(url).content == first.content
    client.force_login(consent_officer)
    page = client.get(withdraw_url(teller))
    assert page.status_code == 200
    assert 'id="withdraw_consent_form"' in page_text(page)
    assert "2 parts are public now" in page_text(page)

    response = client.post(withdraw_url(teller), {"reason": WITHDRAWAL_REASON}, follow=True)

    assert response.redirect_chain[-1][0] == admin_url("storyteller", "change", teller.pk)
    assert "Consent of Silver Finch is withdrawn." in page_text(response)
    consent = teller.effective_consent()
    assert consent.decision == Consent.Decision.WITHDRAWN
    assert consent.note == WITHDRAWAL_REASON
    assert consent.recorded_by == consent_officer
    for part in parts:
        for language in ("en", "ko"):
            assert reader.get(url_in(part, language)).status_code == 404
            assert reader.get(url_in(part.story, language)).status_code == 404
    for listing in ("/en/", "/ko/", "/en/stories/", "/ko/stories/", *sitemap_pages(reader)):
        html = reader.get(listing).content.decode()
        assert "salt-road" not in html
        assert "Silver Finch" not in html and "은빛 되새" not in html
    assert reader.get(url_in(elsewhere, "en")).status_code == 200


def test_withdrawal_sends_scheduled_parts_back_to_draft(client, consent_officer, told_story, now):
    scheduled = make_part(story=told_story, published_at=now + datetime.timedelta(days=3))
    client.force_login(consent_officer)

    assert client.post(withdraw_url(told_story.storyteller), {"reason": "Asked to stop."}).status_code == 302

    scheduled.refresh_from_db()
    assert scheduled.status == Part.Status.DRAFT


def test_withdraw_button_appears_only_for_consent_officers(client, consent_officer, editor, translator, teller):
    link = f'href="{withdraw_url(teller)}"'
    client.force_login(consent_officer)
    assert link in page_text(client.get(admin_url("storyteller", "change", teller.pk)))
    for user in (editor, translator):
        client.force_login(user)
        assert link not in page_text(client.get(admin_url("storyteller", "change", teller.pk)))


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_only_consent_officers_can_withdraw(client, editor, translator, teller, parts, role):
    client.force_login({"editor": editor, "translator": translator}[role])

    assert client.get(withdraw_url(teller)).status_code == 403
    assert client.post(withdraw_url(teller), {"reason": "Forged."}).status_code == 403

    assert teller.consents.count() == 1
    assert teller.effective_consent().decision == Consent.Decision.GIVEN
    client.logout()
    assert client.get(url_in(parts[0], "en")).status_code == 200


def test_withdrawal_needs_the_add_consent_permission_even_for_storyteller_editors(client, teller):
    user = get_user_model().objects.create_user(username="storyteller-only", password="not-a-real-pw-1", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="change_storyteller"), Permission.objects.get(codename="view_consent")
    )
    client.force_login(user)

    assert client.post(withdraw_url(teller), {"reason": "Forged."}).status_code == 403
    assert teller.effective_consent().decision == Consent.Decision.GIVEN


def test_anonymous_visitors_are_sent_to_the_login_page(client, teller):
    response = client.post(withdraw_url(teller), {"reason": "Forged."})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert teller.effective_consent().decision == Consent.Decision.GIVEN


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_withdrawal_without_a_reason_is_refused(client, consent_officer, teller, parts, reason):
    client.force_login(consent_officer)

    response = client.post(withdraw_url(teller), {"reason": reason})

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["Record the reason for the withdrawal."]}
    assert "Record the reason for the withdrawal." in page_text(response)
    assert teller.consents.count() == 1
    client.logout()
    assert client.get(url_in(parts[0], "en")).status_code == 200


def test_a_double_submit_records_one_withdrawal(client, consent_officer, teller):
    client.force_login(consent_officer)

    first = client.post(withdraw_url(teller), {"reason": WITHDRAWAL_REASON})
    second = client.post(withdraw_url(teller), {"reason": WITHDRAWAL_REASON}, follow=True)

    assert first.status_code == 302
    assert second.status_code == 200
    assert "was already withdrawn; nothing more was recorded" in page_text(second)
    assert list(teller.consents.values_list("decision", flat=True)) == [
        Consent.Decision.WITHDRAWN,
        Consent.Decision.GIVEN,
    ]
    # Once withdrawn, the storyteller page no longer offers the button.
    assert f'href="{withdraw_url(teller)}"' not in page_text(client.get(admin_url("storyteller", "change", teller.pk)))


def test_withdrawal_requires_the_csrf_token(consent_officer, teller):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(consent_officer)

    forged = browser.post(withdraw_url(teller), {"reason": "From another site."})

    assert forged.status_code == 403
    assert teller.consents.count() == 1
    page = browser.get(withdraw_url(teller))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_text(page)).group(1)
    assert browser.post(withdraw_url(teller), {"reason": "Asked.", "csrfmiddlewaretoken": token}).status_code == 302
    assert teller.effective_consent().decision == Consent.Decision.WITHDRAWN


def test_a_korean_speaking_consent_officer_gets_the_withdrawal_page_in_korean(client, consent_officer, teller):
    client.force_login(consent_officer)

    response = client.get(withdraw_url(teller), headers={"accept-language": "ko"})
    refused = client.post(withdraw_url(teller), {"reason": ""}, headers={"accept-language": "ko"})

    assert '<html lang="ko"' in page_text(response)
    assert "동의 철회" in page_text(response)
    assert refused.context["form"].errors == {"reason": ["철회 사유를 기록하세요."]}


def test_withdrawing_an_unknown_storyteller_is_not_found(client, consent_officer):
    client.force_login(consent_officer)

    response = client.get(reverse("admin:stories_storyteller_withdraw_consent", args=[999999]))

    assert response.status_code == 404


# --- 2. Consent reviews falling due -------------------------------------------------------------


@pytest.fixture
def review_dates(db):
    """Storytellers whose consent in force comes up for review at different times."""
    today = timezone.localdate()

    def given(days: int, **consent) -> dict:
        return {"review_by": today + datetime.timedelta(days=days), **consent}

    tellers = {
        "soon": make_storyteller(pseudonym_en="Due Soon", consent=given(10)),
        "boundary": make_storyteller(pseudonym_en="Due On The Last Day", consent=given(30)),
        "past": make_storyteller(pseudonym_en="Past Due", consent=given(-5)),
        "later": make_storyteller(pseudonym_en="Due Later", consent=given(31)),
        "withdrawn": make_storyteller(pseudonym_en="Withdrawn Since", consent=given(3)),
        "renewed": make_storyteller(pseudonym_en="Renewed Since", consent=given(-40)),
    }
    services.consent_withdraw(storyteller=tellers["withdrawn"], reason="Asked to stop.", recorded_by=None)
    services.consent_record(
        storyteller=tellers["renewed"],
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=today + datetime.timedelta(days=300),
        covers_web=True,
        covers_english=True,
    )
    return tellers


def listed(response) -> set[str]:
    return {str(obj) for obj in response.context["cl"].result_list}


def test_review_due_filter_lists_given_consents_due_within_thirty_days_or_past(client, consent_officer, review_dates):
    client.force_login(consent_officer)

    due = client.get(admin_url("storyteller", "changelist"), {"review": "due"})
    overdue = client.get(admin_url("storyteller", "changelist"), {"review": "overdue"})

    assert listed(due) == {"Due Soon", "Due On The Last Day", "Past Due"}
    assert listed(overdue) == {"Past Due"}
    html = page_text(due)
    assert "consent review" in html
    assert "Due within 30 days or past due" in html


def test_review_column_marks_past_due_consent_as_not_public(client, consent_officer, review_dates):
    today = timezone.localdate()
    client.force_login(consent_officer)

    # Column 3 is the review date: the erase action's checkbox comes first for a consent officer.
    response = client.get(admin_url("storyteller", "changelist"), {"review": "due", "o": "3"})

    html = page_text(response)
    assert "Review by" in html
    past = formats.localize(today - datetime.timedelta(days=5))
    assert f'<strong class="consent-review-overdue">{past}: past due, nothing is public</strong>' in html
    assert "due in 10 days" in html
    assert "due in 30 days" in html
    # Sorted by the review date, the past-due consent comes first.
    assert [str(obj) for obj in response.context["cl"].result_list][0] == "Past Due"


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_editors_and_translators_get_no_review_filter_or_column(client, editor, translator, review_dates, role):
    client.force_login({"editor": editor, "translator": translator}[role])

    response = client.get(admin_url("storyteller", "changelist"))
    probe = client.get(admin_url("storyteller", "changelist"), {"review": "overdue"})

    assert "consent_review" not in response.context["cl"].list_display
    assert not any(spec.parameter_name == "review" for spec in response.context["cl"].filter_specs)
    assert "past due" not in page_text(response)
    # The parameter is not a filter for them, so it cannot be used to learn who is past due.
    assert probe.status_code != 200 or len(probe.context["cl"].result_list) == len(review_dates)


def test_storyteller_list_queries_do_not_grow_with_the_page(client, consent_officer, review_dates):
    client.force_login(consent_officer)
    with CaptureQueriesContext(connection) as few:
        assert client.get(admin_url("storyteller", "changelist")).status_code == 200
    for n in range(12):
        teller = make_storyteller(pseudonym_en=f"Another {n}")
        services.consent_withdraw(storyteller=teller, reason="Asked.", recorded_by=None)
    with CaptureQueriesContext(connection) as many:
        response = client.get(admin_url("storyteller", "changelist"))

    assert len(response.context["cl"].result_list) == len(review_dates) + 12
    assert len(many) == len(few)


# --- 3. The audit trail -------------------------------------------------------------------------


@pytest.fixture
def audited_changes(client, editor, consent_officer, draft, now):
    """Through the admin: an editor publishes, an officer changes an identity, then withdraws consent."""
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft.pk))
    published = form.post(
        client, status=Part.Status.PUBLISHED, **datetime_fields("published_at", now - datetime.timedelta(minutes=1))
    )
    assert published.status_code == 302, form_errors(published)
    teller = draft.story.storyteller
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", teller.pk))
    renamed = form.post(client, **{"identity-0-legal_name": NEW_LEGAL_NAME})
    assert renamed.status_code == 302, form_errors(renamed)
    assert client.post(withdraw_url(teller), {"reason": WITHDRAWAL_REASON}).status_code == 302
    client.logout()
    return {"part": draft, "teller": teller}


def audit_rows(response) -> list[list[str]]:
    rows = re.findall(r'<tr class="audit-entry">(.*?)</tr>', page_text(response), re.S)
    return [[re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def test_consent_officers_read_who_changed_what_in_the_audit_trail(client, consent_officer, editor, audited_changes):
    part, teller = audited_changes["part"], audited_changes["teller"]
    client.force_login(consent_officer)

    response = client.get(audit_url())

    assert response.status_code == 200
    rows = [row[1:] for row in audit_rows(response)]
    who_editor, who_officer = editor.get_username(), consent_officer.get_username()
    assert [who_editor, "Changed", f"part #{part.pk}", "status", "draft", "published"] in rows
    identity = teller.identity.pk
    assert [
        who_officer,
        "Changed",
        f"storyteller identity #{identity}",
        "legal_name",
        LEGAL_NAME,
        NEW_LEGAL_NAME,
    ] in rows
    withdrawal = teller.effective_consent()
    assert [who_officer, "Created", f"consent record #{withdrawal.pk}", "decision", "", "withdrawn"] in rows
    assert [who_officer, "Created", f"consent record #{withdrawal.pk}", "note", "", WITHDRAWAL_REASON] in rows
    assert f'href="{audit_export_url()}"' in page_text(response)


def test_the_audit_export_holds_the_same_changes_as_csv(client, consent_officer, editor, audited_changes):
    part = audited_changes["part"]
    client.force_login(consent_officer)

    response = client.get(audit_export_url())

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))

    def find(**wanted):
        return [row for row in rows if all(row[key] == value for key, value in wanted.items())]

    assert find(who=editor.get_username(), model="part", object_id=str(part.pk), field="status", before="draft")
    assert find(who=consent_officer.get_username(), field="legal_name", before=LEGAL_NAME, after=NEW_LEGAL_NAME)
    assert find(who=consent_officer.get_username(), model="consent record", field="decision", after="withdrawn")
    # The whole trail, not only the page's latest entries: the part's creation is there too.
    assert find(model="part", object_id=str(part.pk), action="created", field="title_en", after="The Third Night")


def test_the_audit_export_cannot_run_formulas_in_a_spreadsheet(client, consent_officer, teller):
    make_story(storyteller=teller, title_en='=HYPERLINK("http://example.invalid","open")', slug="formula")
    client.force_login(consent_officer)

    rows = list(csv.DictReader(io.StringIO(client.get(audit_export_url()).content.decode())))

    titles = [row["after"] for row in rows if row["field"] == "title_en" and "HYPERLINK" in row["after"]]
    assert titles == ['\'=HYPERLINK("http://example.invalid","open")']


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_the_audit_trail_is_closed_to_editors_and_translators(client, editor, translator, audited_changes, role):
    client.force_login({"editor": editor, "translator": translator}[role])

    for url in (audit_url(), audit_export_url()):
        response = client.get(url)
        assert response.status_code == 403
        assert WITHDRAWAL_REASON not in page_text(response)
    assert f'href="{audit_url()}"' not in page_text(client.get(admin_url("storyteller", "changelist")))


def test_the_audit_trail_sends_anonymous_visitors_to_log_in(client, audited_changes):
    for url in (audit_url(), audit_export_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_audit_trail_cannot_be_changed_through_the_admin(client, consent_officer, audited_changes):
    client.force_login(consent_officer)

    assert client.post(audit_url()).status_code == 405
    assert client.post(audit_export_url()).status_code == 405
    registered = {model.__name__ for model in admin.site._registry}
    assert not [name for name in registered if name.startswith("Historical")]
    ledger = admin.site._registry[Consent]
    request = client.get(admin_url("consent", "changelist")).wsgi_request
    assert not ledger.has_add_permission(request)
    assert not ledger.has_change_permission(request)
    assert not ledger.has_delete_permission(request)
    assert f'href="{audit_url()}"' in page_text(client.get(admin_url("consent", "changelist")))


def test_audit_readers_without_identity_permissions_see_no_identity_values(client, audited_changes):
    user = get_user_model().objects.create_user(username="auditor", password="not-a-real-pw-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audit_trail"))
    client.force_login(user)

    page = client.get(audit_url())
    export = client.get(audit_export_url())

    assert page.status_code == export.status_code == 200
    for secret in [*IDENTITY_SENTINELS, WITHDRAWAL_REASON, CONSENT_NOTE]:
        assert secret not in page_text(page)
        assert secret not in export.content.decode()
    assert "(hidden)" in page_text(page)


def test_audit_page_queries_stay_bounded_as_the_trail_grows(client, consent_officer, told_story):
    part = make_part(story=told_story)
    client.force_login(consent_officer)
    for status in [Part.Status.ARCHIVED, Part.Status.DRAFT] * 40:
        services.part_set_status(part=part, status=status)
    with CaptureQueriesContext(connection) as first:
        client.get(audit_url())
    for status in [Part.Status.ARCHIVED, Part.Status.DRAFT] * 40:
        services.part_set_status(part=part, status=status)
    with CaptureQueriesContext(connection) as second:
        client.get(audit_url())

    assert len(second) == len(first)


# --- Identity never reaches editors or translators ----------------------------------------------


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_no_identity_or_consent_detail_in_anything_editors_or_translators_open(
    client, editor, translator, audited_changes, role
):
    part, teller = audited_changes["part"], audited_changes["teller"]
    evidence = ConsentEvidence.objects.create(
        consent=teller.effective_consent(),
        description="Sentinel evidence description",
        file=SimpleUploadedFile("letter.txt", CASEWORKER_NOTE.encode()),
    )
    client.force_login({"editor": editor, "translator": translator}[role])
    pages = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["stories"]),
        admin_url("storyteller", "changelist"),
        admin_url("storyteller", "changelist") + "?review=due",
        admin_url("storyteller", "change", teller.pk),
        admin_url("storyteller", "history", teller.pk),
        admin_url("story", "change", part.story.pk),
        admin_url("story", "history", part.story.pk),
        admin_url("part", "change", part.pk),
        admin_url("part", "history", part.pk),
        admin_url("consent", "changelist"),
        admin_url("consentevidence", "changelist"),
        admin_url("consentevidence", "change", evidence.pk),
        admin_url("protectedterm", "changelist"),
        withdraw_url(teller),
        audit_url(),
        audit_export_url(),
        reverse("evidence", kwargs={"pk": evidence.pk}),
    ]
    for url in pages:
        response = client.get(url, follow=True)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for secret in [*IDENTITY_SENTINELS, CONSENT_NOTE, WITHDRAWAL_REASON, "Sentinel evidence description"]:
            assert secret.encode() not in body, f"{secret!r} shown to {role} at {url}"


# --- 4. Without the identity key ----------------------------------------------------------------


def test_storyteller_page_says_the_identity_key_is_missing_instead_of_showing_the_record(
    client, consent_officer, teller, parts
):
    ciphertext = StorytellerIdentity.objects.filter(pk=teller.identity.pk).values_list("legal_name", flat=True)
    client.force_login(consent_officer)

    with override_settings(IDENTITY_ENCRYPTION_KEYS=[]):
        response = client.get(admin_url("storyteller", "change", teller.pk))
        reader = Client().get(url_in(parts[0], "en"))
        raw = ciphertext.get()
        # Public text cannot be checked without the terms, so a save fails closed with a clear reason.
        saved = open_form(client, admin_url("storyteller", "change", teller.pk)).post(client, bio_en="New bio.")

    assert response.status_code == 200
    html = page_text(response)
    assert "The identity key is missing on this server." in html
    assert "identity" not in {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    assert 'name="identity-TOTAL_FORMS"' not in html
    assert raw not in html
    assert LEGAL_NAME not in html
    assert reader.status_code == 200
    assert saved.status_code == 200
    assert "The identity key is missing on this server, so the text cannot be checked" in page_text(saved)
    assert StorytellerIdentity.objects.get(pk=teller.identity.pk).legal_name == LEGAL_NAME
    assert teller.bio_en == Storyteller.objects.get(pk=teller.pk).bio_en
    # With the key back, the record is shown again and nothing was lost.
    assert "The identity key is missing" not in page_text(client.get(admin_url("storyteller", "change", teller.pk)))
    assert StorytellerIdentity.objects.get(pk=teller.identity.pk).legal_name == LEGAL_NAME


def test_without_the_key_editors_see_no_key_message_and_the_audit_shows_no_ciphertext(
    client, editor, consent_officer, audited_changes
):
    teller = audited_changes["teller"]
    client.force_login(editor)
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[]):
        editor_page = page_text(client.get(admin_url("storyteller", "change", teller.pk)))
        client.force_login(consent_officer)
        audit_page = client.get(audit_url())

    assert "identity key is missing" not in editor_page
    identity_rows = [row for row in audit_rows(audit_page) if row[3].startswith("storyteller identity")]
    assert identity_rows
    for row in identity_rows:
        assert row[5] in {"", "(encrypted: the identity key is missing)"}
        assert row[6] in {"", "(encrypted: the identity key is missing)"}


def test_no_admin_searches_filters_or_sorts_on_identity_fields():
    identity_fields = {field.name for field in StorytellerIdentity._meta.get_fields()} - {"id", "storyteller"}
    for model, model_admin in admin.site._registry.items():
        options = [
            *model_admin.search_fields,
            *[item for item in model_admin.list_filter if isinstance(item, str)],
            *(model_admin.ordering or []),
            *[item for item in model_admin.list_display if isinstance(item, str)],
        ]
        for option in options:
            path = option.lstrip("^=@-").split("__")
            assert "identity" not in path, (model, option)
            if model is StorytellerIdentity or "identity" in path:
                assert not identity_fields & set(path), (model, option)
        assert StorytellerIdentity not in admin.site._registry


# --- 5. Protected terms and consent evidence ----------------------------------------------------


def test_consent_officer_adds_a_protected_term_that_then_blocks_publication(client, consent_officer, editor, draft):
    client.force_login(consent_officer)
    form = open_form(client, admin_url("protectedterm", "add"))

    response = form.post(client, term="Lantern House", note="The shelter's name")

    assert response.status_code == 302, form_errors(response)
    assert ProtectedTerm.objects.get().note == "The shelter's name"
    client.force_login(editor)
    part_form = open_form(client, admin_url("part", "change", draft.pk))
    refused = part_form.post(
        client,
        body_en="We slept at lantern house.",
        status=Part.Status.PUBLISHED,
        **datetime_fields("published_at", timezone.now()),
    )
    assert refused.status_code == 200
    assert "part body (English), line 1, from character 13: “lanter…”" in page_text(refused)
    assert "Lantern House" not in page_text(refused)


def test_adding_a_term_that_is_already_published_warns_where(client, consent_officer, told_story):
    make_part(story=told_story, number=5, body_en="Everyone met at the Lantern House that spring.")
    client.force_login(consent_officer)
    form = open_form(client, admin_url("protectedterm", "add"))

    response = form.post(client, term="lantern house")
    followed = client.get(response["Location"])

    assert "Everything published is being searched for it: see where it is, and unpublish it." in page_text(followed)
    assert "The Salt Road: Part 5" in page_text(followed) and "part body (English)" in page_text(followed)


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_protected_terms_and_evidence_are_closed_to_editors_and_translators(client, editor, translator, teller, role):
    ProtectedTerm.objects.create(term="Lantern House")
    client.force_login({"editor": editor, "translator": translator}[role])

    for model in ("protectedterm", "consentevidence", "consent"):
        assert client.get(admin_url(model, "changelist")).status_code == 403
        assert client.get(admin_url(model, "add")).status_code == 403
    assert client.post(admin_url("protectedterm", "add"), {"term": "Sneaked"}).status_code == 403
    assert ProtectedTerm.objects.count() == 1


def test_consent_officer_uploads_evidence_into_private_storage(client, consent_officer, teller, settings):
    consent = teller.effective_consent()
    client.force_login(consent_officer)
    form = open_form(client, admin_url("consentevidence", "add"))
    html = page_text(form.response)
    assert f"Silver Finch: Given on {consent.recorded_at.date().isoformat()}" in html
    for secret in IDENTITY_SENTINELS:
        assert secret not in html

    upload = SimpleUploadedFile("signed-form.pdf", b"%PDF-1.4 invented consent form", content_type="application/pdf")
    response = client.post(
        form.url, {**form.data, "consent": str(consent.pk), "description": "Signed form", "file": upload}
    )

    assert response.status_code == 302, form_errors(response)
    evidence = ConsentEvidence.objects.get()
    assert evidence.consent == consent
    assert evidence.file.path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert "signed-form" not in evidence.file.name
    download = reverse("evidence", kwargs={"pk": evidence.pk})
    listing = page_text(client.get(admin_url("consentevidence", "changelist")))
    detail = client.get(admin_url("consentevidence", "change", evidence.pk))
    for page in (listing, page_text(detail)):
        assert f'href="{download}"' in page
        assert settings.MEDIA_URL not in page
        assert evidence.file.name not in page
    assert "Silver Finch" in listing
    assert detail.context["has_change_permission"] is False
    fetched = client.get(download)
    assert b"".join(fetched.streaming_content) == b"%PDF-1.4 invented consent form"


def test_evidence_list_queries_do_not_grow_with_the_page(client, consent_officer, teller):
    consent = teller.effective_consent()

    def add(n):
        for i in range(n):
            ConsentEvidence.objects.create(
                consent=consent, description=f"Form {i}", file=SimpleUploadedFile(f"f{i}.txt", b"x")
            )

    client.force_login(consent_officer)
    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(admin_url("consentevidence", "changelist"))
    add(10)
    with CaptureQueriesContext(connection) as many:
        client.get(admin_url("consentevidence", "changelist"))

    assert len(many) == len(few)


def test_consent_ledger_list_queries_do_not_grow_with_the_page(client, consent_officer, teller):
    client.force_login(consent_officer)
    with CaptureQueriesContext(connection) as few:
        assert client.get(admin_url("consent", "changelist")).status_code == 200
    for n in range(10):
        services.consent_withdraw(storyteller=make_storyteller(), reason=f"Asked {n}.", recorded_by=consent_officer)
    with CaptureQueriesContext(connection) as many:
        response = client.get(admin_url("consent", "changelist"))

    assert response.context["cl"].result_count == 21
    assert len(many) == len(few)


# --- 6. No lost edits ---------------------------------------------------------------------------


def test_second_of_two_concurrent_part_edits_is_refused_with_what_changed(client, editor, other_editor, draft):
    first, second = Client(), Client()
    first.force_login(editor)
    second.force_login(other_editor)
    first_form = open_form(first, admin_url("part", "change", draft.pk))
    second_form = open_form(second, admin_url("part", "change", draft.pk))
    opened = draft.version

    saved = first_form.post(first, title_en="The Third Night, Revised", status=Part.Status.IN_REVIEW)
    refused = second_form.post(second, body_en="A different body, written at the same time.")

    assert saved.status_code == 302, form_errors(saved)
    assert refused.status_code == 200
    errors = list(refused.context["adminform"].form.non_field_errors())
    assert errors[0].startswith("Not saved: someone else changed this part since you opened it.")
    assert "Changed since you opened it:" in errors
    assert "Title [en]: The Third Night → The Third Night, Revised" in errors
    assert "Status: Draft → In review" in errors
    assert not [line for line in errors if line.startswith("Body")]
    assert f"Last saved by {editor.get_username()}" in errors[-1]
    assert "Title [en]: The Third Night → The Third Night, Revised" in page_text(refused)
    part = Part.objects.get(pk=draft.pk)
    assert part.title_en == "The Third Night, Revised"
    assert part.body_en == "We waited for the boat."
    assert part.status == Part.Status.IN_REVIEW
    assert part.version == opened + 1
    # Posting the same stale form again is refused again.
    assert second_form.post(second, body_en="Second try.").status_code == 200
    assert Part.objects.get(pk=draft.pk).body_en == "We waited for the boat."


def test_second_of_two_concurrent_story_edits_is_refused(client, editor, other_editor, told_story, parts):
    first, second = Client(), Client()
    first.force_login(editor)
    second.force_login(other_editor)
    first_form = open_form(first, admin_url("story", "change", told_story.pk))
    second_form = open_form(second, admin_url("story", "change", told_story.pk))

    assert first_form.post(first, summary_en="Rewritten summary.").status_code == 302
    refused = second_form.post(second, title_en="Another Title")

    assert refused.status_code == 200
    errors = list(refused.context["adminform"].form.non_field_errors())
    assert "Summary [en]: An invented summary. → Rewritten summary." in errors
    told_story.refresh_from_db()
    assert told_story.title_en == "The Salt Road"
    assert told_story.summary_en == "Rewritten summary."


def test_a_part_form_opened_before_a_withdrawal_can_never_reschedule_the_part(
    client, editor, consent_officer, told_story, now
):
    scheduled = make_part(story=told_story, number=7, published_at=now + datetime.timedelta(days=2))
    client.force_login(editor)
    stale = open_form(client, admin_url("part", "change", scheduled.pk))
    story_page = open_form(client, admin_url("story", "change", told_story.pk))
    officer = Client()
    officer.force_login(consent_officer)
    assert officer.post(withdraw_url(told_story.storyteller), {"reason": "Asked."}).status_code == 302
    # Even once consent is given again, the stale form must not bring the schedule back.
    services.consent_record(
        storyteller=told_story.storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=consent_officer,
        review_by=timezone.localdate() + datetime.timedelta(days=200),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
    )

    refused = stale.post(client, title_en="Retitled")
    refused_story = story_page.post(client, title_en="Retitled story")

    assert refused.status_code == 200
    errors = list(refused.context["adminform"].form.non_field_errors())
    assert errors[0].startswith("Not saved: someone else changed this part")
    assert "Status: Published → Draft" in errors
    assert "The storyteller's consent changed." in errors
    assert refused_story.status_code == 200
    assert "The storyteller's consent changed." in list(refused_story.context["adminform"].form.non_field_errors())
    for secret in (WITHDRAWAL_REASON, "Withdrawn", "withdrawn"):
        assert secret not in " ".join(errors)
    scheduled.refresh_from_db()
    told_story.refresh_from_db()
    assert scheduled.status == Part.Status.DRAFT
    assert scheduled.title_en != "Retitled"
    assert told_story.title_en == "The Salt Road"
    later = now + datetime.timedelta(days=3)
    assert not Part.objects.public("en", now=later).filter(pk=scheduled.pk).exists()


def test_a_stale_published_part_form_is_refused_after_a_withdrawal(client, editor, consent_officer, parts):
    part = parts[0]
    client.force_login(editor)
    stale = open_form(client, admin_url("part", "change", part.pk))
    services.consent_withdraw(storyteller=part.story.storyteller, reason="Asked.", recorded_by=consent_officer)

    refused = stale.post(client, body_en="Edited after the withdrawal.")

    assert refused.status_code == 200
    assert "The storyteller&#x27;s consent changed." in page_text(refused)
    part.refresh_from_db()
    assert part.body_en != "Edited after the withdrawal."


def test_story_page_saves_around_part_edits_made_elsewhere(client, editor, other_editor, told_story, parts):
    client.force_login(editor)
    story_form = open_form(client, admin_url("story", "change", told_story.pk))
    colleague = Client()
    colleague.force_login(other_editor)
    part_form = open_form(colleague, admin_url("part", "change", parts[0].pk))
    # The body is not on the story page, so its rows still match what is stored.
    assert part_form.post(colleague, body_en="Rewritten on its own page.").status_code == 302

    response = story_form.post(client, summary_en="New summary")

    assert response.status_code == 302, form_errors(response)
    told_story.refresh_from_db()
    assert told_story.summary_en == "New summary"
    assert Part.objects.get(pk=parts[0].pk).body_en == "Rewritten on its own page."


def test_story_page_never_writes_a_stale_part_row_over_a_newer_edit(client, editor, other_editor, told_story, parts):
    client.force_login(editor)
    story_form = open_form(client, admin_url("story", "change", told_story.pk))
    colleague = Client()
    colleague.force_login(other_editor)
    part_form = open_form(colleague, admin_url("part", "change", parts[0].pk))
    assert part_form.post(colleague, title_en="Renamed on its own page").status_code == 302

    # The row still holds the old title; saving it as it is would undo the colleague's edit.
    response = story_form.post(client, summary_en="New summary")

    assert response.status_code == 200
    assert "Title [en]: Part title 1 → Renamed on its own page" in form_error_text(response)
    told_story.refresh_from_db()
    assert told_story.summary_en == "An invented summary."
    assert Part.objects.get(pk=parts[0].pk).title_en == "Renamed on its own page"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_version_check_holds_the_row_until_the_save_commits():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks; production runs PostgreSQL")
    part = make_part()

    def try_to_lock() -> str:
        try:
            with transaction.atomic():
                list(Part.objects.select_for_update(nowait=True).filter(pk=part.pk))
            return "free"
        except DatabaseError:
            return "locked"
        finally:
            connections.close_all()

    with transaction.atomic():
        assert changes_since(Part, part.pk, part.version) is None
        # Another editor's save, arriving between this check and this save, must wait.
        during = ThreadPoolExecutor(max_workers=1).submit(try_to_lock).result()
    after = ThreadPoolExecutor(max_workers=1).submit(try_to_lock).result()

    assert (during, after) == ("locked", "free")


def test_a_form_posted_without_its_version_is_refused(client, editor, draft):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft.pk))
    data = {name: value for name, value in form.data.items() if name != "opened_version"}

    response = client.post(form.url, {**data, "title_en": "Without a version"})

    assert response.status_code == 200
    assert "opened without its version" in page_text(response)
    assert Part.objects.get(pk=draft.pk).title_en == "The Third Night"


def test_an_admin_save_bumps_the_version_and_records_who_saved(client, editor, draft):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft.pk))

    assert form.post(client, summary_en="A new summary.").status_code == 302

    part = Part.objects.get(pk=draft.pk)
    assert part.version == draft.version + 1
    latest = part.history.order_by("-history_date").first()
    assert latest.history_user == editor
    assert latest.summary_en == "A new summary."
    # The page opened after the save carries the new version, so a second edit goes through.
    again = open_form(client, admin_url("part", "change", draft.pk))
    assert again.data["opened_version"] == str(part.version)
    assert again.post(client, summary_en="A second summary.").status_code == 302


def test_the_guard_points_at_the_place_in_the_editors_text_as_an_admin_form_error(client, editor, draft, now):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft.pk))

    response = form.post(
        client,
        body_en="They came down from the vorsk valley before the thaw.",
        status=Part.Status.PUBLISHED,
        **datetime_fields("published_at", now - datetime.timedelta(minutes=1)),
    )

    assert response.status_code == 200
    errors = list(response.context["adminform"].form.non_field_errors())
    assert "This cannot be made public because it contains identifying details:" in errors
    assert "part body (English), line 1, from character 25: “vorsk…”" in errors
    # Never the term as the identity record spells it: an editor may not see that record.
    assert IDENTIFYING_TERM not in page_text(response)
    part = Part.objects.get(pk=draft.pk)
    assert part.status == Part.Status.DRAFT
    assert "vorsk" not in part.body_en


def test_the_guard_covers_story_text_edited_on_the_story_page(client, editor, told_story, parts):
    client.force_login(editor)
    form = open_form(client, admin_url("story", "change", told_story.pk))

    response = form.post(client, summary_en="The story of the Oskellow family")

    assert response.status_code == 200
    assert "story summary (English), line 1, from character 18: “Oske…”" in page_text(response)
    told_story.refresh_from_db()
    assert "Oskellow" not in told_story.summary_en


def test_editors_publish_a_korean_original_part_from_an_english_session(client, editor, teller):
    story = make_story(
        storyteller=teller, slug="winter-letters", title_en="", title_ko="겨울 편지", original_language="ko"
    )
    part = make_part(story=story, title_en="", body_en="", status=Part.Status.DRAFT, published_at=None)
    client.force_login(editor)

    response = client.post(
        admin_url("part", "changelist"), {"action": "publish_now", ACTION_CHECKBOX_NAME: [part.pk]}, follow=True
    )

    assert "1 part published." in page_text(response)
    part.refresh_from_db()
    assert part.status == Part.Status.PUBLISHED
    form = open_form(client, admin_url("part", "change", part.pk))
    assert form.post(client, summary_ko="새 요약").status_code == 302
    assert Part.objects.get(pk=part.pk).summary_ko == "새 요약"


def test_unchanged_story_after_publication_is_still_saved_by_editors(client, editor, told_story, parts):
    client.force_login(editor)
    form = open_form(client, admin_url("story", "change", told_story.pk))

    response = form.post(client, is_complete="on")

    assert response.status_code == 302, form_errors(response)
    assert Story.objects.get(pk=told_story.pk).is_complete
