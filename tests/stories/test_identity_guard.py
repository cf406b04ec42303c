"""The identifying-detail guard, attacked: spelling variants in both scripts, slugs and labels, the place
a refusal points at, terms added after publication, and probing by repeated refusals."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from advocacy.models import Action, Campaign, Country, Recipient
from stories import privacy, services
from stories.models import ContentWarning, GuardRefusal, Part, ProtectedTerm, Story, Theme
from tests.advocacy.conftest import make_action, make_campaign, make_country, make_recipient
from tests.background.test_queue import DATABASE_TASKS, work
from tests.conftest import make_part, make_staff, make_story, make_storyteller
from tests.stories.test_back_office import admin_url, datetime_fields, open_form

DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u30fc"
# (term, text, whether the text holds the term): every class of variant, in both scripts.
VARIANTS = [
    ("Ri Son-hwa", "Ri Son-hwa", True),
    *[("Ri Son-hwa", f"Ri Son{dash}hwa", True) for dash in DASHES],
    ("Ri Son-hwa", "Ri Sonhwa", True),
    ("Ri Son-hwa", "Ri Son hwa", True),
    ("Ri Son-hwa", "RiSonhwa", True),
    ("Ri Son-hwa", "ri   son -  hwa", True),
    ("Ri Son-hwa", "Ri\u00a0Son\u202fhwa", True),  # no-break spaces
    *[("Ri Son-hwa", f"Ri Son{hidden}hwa", True) for hidden in "\u200b\u200c\u200d\u2060\ufeff\u00ad"],
    ("Ri Son-hwa", "Ri Son-\nhwa", True),  # hyphenated across a line break
    ("Ri Son-hwa", "Ri Sŏn-hwa", True),  # McCune-Reischauer's breve
    ("Ri Son-hwa", "Ｒｉ Ｓｏｎ－ｈｗａ", True),  # full width
    ("Ri Son-hwa", "Ri S\u043en-hwa", True),  # a Cyrillic о
    ("Ri Son-hwa", "ri-son-hwa-hyesan", True),  # a slug
    ("Ri Son-hwa", "We met Ri Son-hwa's sister.", True),
    ("Ri Son-hwa", "Son", False),  # a part alone
    ("Ri Son-hwa", "Son-hwa came later.", False),
    ("Ri Son-hwa", "Ri Son arrived.", False),
    ("Ri Son-hwa", "Mari Son-hwan", False),  # inside other words
    ("Kim", "We ate kimchi.", False),
    ("Kim", "Mrs. Kim laughed.", True),
    ("리선화", "리선화", True),
    ("리선화", "리 선화", True),
    ("리선화", "리\u00a0선\u200b화", True),
    ("리선화", "리-선-화", True),
    ("리선화", "리선화를 만났다", True),  # a particle attached
    ("리선화", "\u1105\u1175\u1109\u1165\u11ab\u1112\u116a", True),  # decomposed jamo
    ("리선화", "선화", False),  # a part alone
    ("리선화", "리선환", False),  # the last syllable has a final consonant: another name
    ("혜산", "양강도혜산시에서", True),  # unspaced compound, suffix and particle
    ("혜산", "혜", False),
    ("Ri Son-hwa", "리선화", False),  # no transliteration between scripts
]


def test_a_term_matches_every_spelling_variant_and_no_part_alone(db):
    wrong = [
        (term, text, expected)
        for term, text, expected in VARIANTS
        if privacy.Matcher([(term, False)]).matches(text) is not expected
    ]
    assert not wrong


@pytest.fixture
def hidden_teller(db):
    return make_storyteller(identity={"identifying_terms": "Ri Son-hwa\n리선화"})


def test_a_refusal_points_at_the_editors_own_text_and_never_quotes_the_term(hidden_teller):
    story = make_story(storyteller=hidden_teller)
    part = make_part(story=story, status=Part.Status.DRAFT)
    part.body_en = "A first line.\nThen we met ri\u2011son hwa at the river."
    part.body_ko = "첫 줄.\n둘째 줄에서 리 선화를 만났다."
    with pytest.raises(ValidationError) as refused:
        services.part_publish(part=part)
    messages = refused.value.messages
    assert "part body (English), line 2, from character 13: “ri‑so…”" in messages
    assert "part body (Korean), line 2, from character 8: “리…”" in messages
    assert not any("Ri Son-hwa" in message or "리선화" in message for message in messages)


def test_slugs_and_labels_are_public_text_wherever_titles_are(hidden_teller, capsys):
    story = make_story(storyteller=hidden_teller, status=Story.Status.DRAFT, slug="ri-son-hwa-hyesan")
    story.status = Story.Status.PUBLISHED
    with pytest.raises(ValidationError, match="story slug"):
        services.story_save(story=story)
    ProtectedTerm.objects.create(term="Maple Hill")
    with pytest.raises(ValidationError, match="campaign slug"):
        make_campaign(slug="maple-hill-appeal")
    theme = Theme(slug="maple-hill", name_en="Shelter", name_ko="쉼터")
    with pytest.raises(ValidationError, match="theme slug"):
        theme.full_clean()
    warning = ContentWarning(slug="violence", label_en="Violence at Maple-Hill", label_ko="폭력")
    with pytest.raises(ValidationError, match="content warning"):
        warning.full_clean()
    # Labels are checked for site-wide terms only, which are not encrypted: no identity key is needed.
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[]):
        Theme(slug="night-crossings", name_en="Night crossings", name_ko="밤의 강 건너기").full_clean()

    # Planted behind the guard's back, as a direct database edit would: the audit finds it, by id only.
    published = make_story(storyteller=hidden_teller)
    make_part(story=published)
    Story.objects.filter(pk=published.pk).update(slug="ri-sonhwa-2")
    with pytest.raises(CommandError):
        call_command("privacy_audit")
    output = capsys.readouterr().out
    assert f"story slug (in its links) of story id {published.pk}" in output
    assert "sonhwa" not in output


# --- Probing ---------------------------------------------------------------------------------


def test_the_alert_is_mailed_by_a_worker_after_the_refusal_commits(
    consent_officer, hidden_teller, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ARCHIVE_GUARD_ALERT_REFUSALS = 2
    consent_officer.email = "officer@example.org"
    consent_officer.save()
    part = make_part(story=make_story(storyteller=hidden_teller), status=Part.Status.DRAFT)
    with override_settings(TASKS=DATABASE_TASKS):
        for text in ("Ri Sonhwa?", "Ri Son-hwa?"):
            part.refresh_from_db()
            part.body_en = text
            with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
                services.part_publish(part=part)
        assert mailoutbox == []  # the editor's request sent nothing
        row = DBTaskResult.objects.get(task_path="stories.privacy.alert_consent_officers")
        assert row.args_kwargs["args"][1] == 2 and "Son" not in str(row.args_kwargs)  # ids and a count, no text
        work()
    assert [message.to for message in mailoutbox] == [["officer@example.org"]]


def test_every_refusal_is_kept_without_the_term_and_repeats_alert_the_consent_officers(
    client, editor, consent_officer, hidden_teller, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ARCHIVE_GUARD_ALERT_REFUSALS = 3
    consent_officer.email = "officer@example.org"
    consent_officer.save()
    part = make_part(story=make_story(storyteller=hidden_teller), status=Part.Status.DRAFT)

    # 1: through the admin form, as an editor who cannot see the identity record.
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", part.pk))
    with django_capture_on_commit_callbacks(execute=True):
        refused = form.post(
            client,
            body_en="Was it Ri Sonhwa?",
            status=Part.Status.PUBLISHED,
            **datetime_fields("published_at", timezone.now()),
        )
    assert refused.status_code == 200
    # 2 and 3: through the service, whose transaction rolls back; the refusal stays.
    for text in ("리 선화였을까?", "Or ri-son-hwa?"):
        part.refresh_from_db()
        part.body_ko = text
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
            services.part_publish(part=part)

    rows = list(GuardRefusal.objects.order_by("refused_at", "pk"))
    assert [(row.username, row.object_type, row.object_id, row.storyteller_id) for row in rows] == [
        (editor.username, "stories.part", part.pk, hidden_teller.pk),
        ("", "stories.part", part.pk, hidden_teller.pk),
        ("", "stories.part", part.pk, hidden_teller.pk),
    ]
    assert [row.field for row in rows] == ["part body (English)", "part body (Korean)", "part body (Korean)"]
    assert [row.alerted for row in rows] == [False, False, True]
    assert Part.objects.get(pk=part.pk).status == Part.Status.DRAFT

    assert [message.to for message in mailoutbox] == [["officer@example.org"]]
    alert = mailoutbox[0]
    assert hidden_teller.pseudonym in alert.body and "3 times" in alert.body
    # The trail and the alert say who, which object and which field, never the term. (The officer's export
    # also holds the identity record's own history, which they may read: only the refusals are looked at.)
    client.force_login(make_staff("Consent officers"))
    export = client.get(reverse("admin:stories_consent_audit_export")).content.decode()
    assert (
        "Refused by the identifying-detail guard" in client.get(reverse("admin:stories_consent_audit")).content.decode()
    )
    refusals = [line for line in export.splitlines() if ",refused," in line]
    assert len(refusals) == 3 and f"{editor.username},refused,part,{part.pk},part body (English)" in refusals[-1]
    for shown in (alert.subject, alert.body, *refusals):
        assert not any(term in shown.casefold() for term in ("son-hwa", "sonhwa", "son hwa", "선화"))


# --- A term added after publication ------------------------------------------------------------


def test_a_site_wide_term_added_after_publication_shows_where_and_unpublishes_in_one_step(client, consent_officer):
    exposed = make_part(body_en="We slept at the lantern\u2011house that winter.")
    untouched = make_part(body_en="Nothing here names a shelter.")
    campaign = make_campaign(summary_ko="Lantern House 소식")
    client.force_login(consent_officer)

    saved = open_form(client, admin_url("protectedterm", "add")).post(client, term="Lantern House")

    term = ProtectedTerm.objects.get()
    assert saved["Location"] == admin_url("protectedterm", "exposed", term.pk)
    page = client.get(saved["Location"])
    places = {(place["url"], str(place["field"]), place["line"]) for place in page.context["places"]}
    assert places == {
        (admin_url("part", "change", exposed.pk), "part body (English)", 1),
        (reverse("admin:advocacy_campaign_change", args=[campaign.pk]), "campaign summary (Korean)", 1),
    }
    assert admin_url("part", "change", exposed.pk) in page.content.decode()

    # The search ran at once here (the tests' immediate backend); tests/stories/test_exposed_scan.py has the queue.
    done = client.post(saved["Location"], {"unpublish": "1", "scan_id": page.context["scan"].pk})

    assert done.status_code == 302
    assert Part.objects.get(pk=exposed.pk).status == Part.Status.DRAFT
    assert not Part.objects.get(pk=exposed.pk).is_public("en")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT
    assert Part.objects.get(pk=untouched.pk).is_public("en")
    assert client.get(saved["Location"]).context["places"] == []


def test_the_offices_letters_write_to_and_their_countries_are_checked_as_public_text(db, capsys):
    country = make_country(code="FR", name_en="France", name_ko="프랑스")
    office = make_recipient(country=country)
    campaign = make_campaign()
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[office])
    ProtectedTerm.objects.create(term="Lantern House")
    office.label_ko = "Lantern\u00adHouse 사무소"
    with pytest.raises(ValidationError, match="recipient label \\(Korean\\)"):
        office.full_clean()
    country.name_en = "LanternHouse"
    with pytest.raises(ValidationError, match="country name \\(English\\)"):
        country.full_clean()
    # Written around the guard: the audit finds both, by id, and unpublishing takes back the campaign.
    Recipient.objects.filter(pk=office.pk).update(label_en="The lantern-house desk")
    Country.objects.filter(pk=country.pk).update(name_ko="Lantern House")
    with pytest.raises(CommandError):
        call_command("privacy_audit")
    output = capsys.readouterr().out
    assert f"recipient id {office.pk}" in output and f"country id {country.pk}" in output
    assert "antern" not in output
    services.exposed_text_unpublish(terms=["Lantern House"])
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_an_identifying_term_added_to_a_storyteller_finds_their_published_text(client, consent_officer):
    teller = make_storyteller(identity={"identifying_terms": "Old Term"}, original_language="ko")
    exposed = make_part(story=make_story(storyteller=teller), body_ko="리 선화의 고향은 멀었다.")
    someone_else = make_part(body_ko="리선화를 아는 사람은 없었다.")  # another storyteller's: not theirs to check
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", teller.pk))

    saved = form.post(client, **{"identity-0-identifying_terms": "Old Term\n리선화"})

    assert saved.status_code == 302 and saved["Location"] == admin_url("storyteller", "exposed", teller.pk)
    places = client.get(saved["Location"]).context["places"]
    assert [(place["url"], str(place["field"])) for place in places] == [
        (admin_url("part", "change", exposed.pk), "part body (Korean)")
    ]
    client.post(saved["Location"], {"unpublish": "1"})
    assert Part.objects.get(pk=exposed.pk).status == Part.Status.DRAFT
    assert Part.objects.get(pk=someone_else.pk).status == Part.Status.PUBLISHED
