"""Recipients pasted or uploaded as a list: a preview with each row's errors, then all saved at once, once."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from advocacy import services
from advocacy.models import Action, Recipient, RecipientGroup
from tests.advocacy.conftest import make_action, make_campaign, make_country, make_recipient
from tests.conftest import make_staff

IMPORT_URL = "admin:advocacy_recipient_import"

LIST = """name,email,country,name_ko
Embassy in Seoul,seoul@example.org,KR,서울 대사관
Embassy in London,London@Example.org,United Kingdom,런던 대사관
Mission in Geneva,geneva@example.org,International organisations,제네바 대표부
"""


@pytest.fixture
def places(db):
    make_country("KR", "South Korea", "한국")
    make_country("GB", "United Kingdom", "영국")
    group = RecipientGroup(name_en="International organisations", name_ko="국제기구")
    group.full_clean()
    group.save()
    return group


@pytest.fixture
def manager(db):
    return make_staff("Campaign managers")


@pytest.fixture
def letter(db):
    return make_action(campaign=make_campaign(), kind=Action.Kind.LETTER)


def preview(client, text: str = "", *, action=None, upload=None):
    data = {"text": text, "action": action.pk if action else "", "preview": "Preview"}
    if upload is not None:
        data["upload"] = upload
    return client.post(reverse(IMPORT_URL), data)


def confirm(client, response):
    """Press "Save them all" on a preview, sending what its form carries."""
    form = response.context["form"]
    assert response.context["plan"].is_valid, [row.errors for row in response.context["plan"].rows]
    data = {
        "text": form.initial["text"],
        "action": form.initial["action"].pk if form.initial["action"] else "",
        "digest": form.initial["digest"],
        "confirm": "Save them all",
    }
    return client.post(reverse(IMPORT_URL), data)


def test_a_pasted_list_is_previewed_and_nothing_is_saved_until_confirmed(client, manager, places, letter):
    client.force_login(manager)
    response = preview(client, LIST, action=letter)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert [row.is_new for row in plan.rows] == [True, True, True] and plan.is_valid
    html = response.content.decode()
    assert "Preview: nothing is saved yet" in html and "Mission in Geneva" in html and "Save them all" in html
    assert not Recipient.objects.exists() and not letter.recipients.exists()

    response = confirm(client, response)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:advocacy_campaign_change", args=[letter.campaign_id])
    saved = {recipient.email: recipient for recipient in Recipient.objects.all()}
    assert set(saved) == {"seoul@example.org", "london@example.org", "geneva@example.org"}
    assert saved["seoul@example.org"].country.code == "KR" and saved["seoul@example.org"].label_ko == "서울 대사관"
    assert saved["london@example.org"].country.code == "GB"
    geneva = saved["geneva@example.org"]
    assert geneva.group == places and geneva.country is None and geneva.kind == Recipient.Kind.INTERNATIONAL
    assert set(letter.recipients.all()) == set(saved.values())


def test_tab_separated_rows_from_a_spreadsheet_without_a_header(client, manager, places):
    client.force_login(manager)
    text = (
        "Embassy in Seoul\tseoul@example.org\tkr\t서울 대사관\n"
        "Consulate in Busan\tbusan@example.org\t한국\t부산 영사관\n"
    )
    plan = preview(client, text).context["plan"]
    assert plan.is_valid and [row.place for row in plan.rows] == ["South Korea", "South Korea"]


def test_every_row_error_is_shown_and_nothing_is_saved(client, manager, places, letter):
    client.force_login(manager)
    text = LIST + (
        "No place,nowhere@example.org,,어디에도\n"
        "Unknown place,atlantis@example.org,Atlantis,아틀란티스\n"
        "Bad address,not-an-address,KR,나쁜 주소\n"
        "Twice,seoul@example.org,KR,두 번\n"
        ",noname@example.org,KR,이름 없음\n"
    )
    response = preview(client, text, action=letter)
    plan = response.context["plan"]
    errors = {row.cells["name"]: row.errors for row in plan.rows}
    assert errors["Embassy in Seoul"] == []
    assert errors["No place"] == ["Name a country (its code, such as US, or its name) or a group for every reader."]
    assert errors["Unknown place"] == ["No country or group is called “Atlantis”. Add it first, or correct the row."]
    assert any("email" in error for error in errors["Bad address"])
    assert errors["Twice"] == ["This address is already on an earlier row."]
    # The model's own rules (Recipient.full_clean) apply to each row: a label is required.
    assert errors[""] and all(error.startswith("name: ") for error in errors[""])
    html = response.content.decode()
    assert "Save them all" not in html
    assert "Nothing is saved while a row has an error." in html
    # A confirmation forged from the erroneous list saves nothing either.
    client.post(
        reverse(IMPORT_URL),
        {"text": text, "action": letter.pk, "digest": plan.digest, "confirm": "Save them all"},
    )
    assert not Recipient.objects.exists() and not letter.recipients.exists()


def test_an_address_already_in_the_directory_is_reused_or_refused_if_filed_elsewhere(client, manager, places, letter):
    seoul = make_recipient(country=make_country("KR"), email="seoul@example.org", label_en="Old label")
    make_recipient(country=make_country("KR"), email="london@example.org")
    client.force_login(manager)
    plan = preview(client, LIST, action=letter).context["plan"]
    rows = {row.cells["email"].lower(): row for row in plan.rows}
    assert not rows["seoul@example.org"].is_new and rows["seoul@example.org"].recipient == seoul
    assert rows["london@example.org"].errors == [
        "This address is already in the directory, filed under South Korea. Correct the row, or change the "
        "recipient first."
    ]
    response = preview(
        client, LIST.replace("London@Example.org,United Kingdom", "london@example.org,KR"), action=letter
    )
    assert confirm(client, response).status_code == 302
    seoul.refresh_from_db()
    assert seoul.label_en == "Old label"
    assert Recipient.objects.count() == 3 and letter.recipients.count() == 3


def test_a_double_submit_saves_nothing_twice(client, manager, places, letter):
    client.force_login(manager)
    response = preview(client, LIST, action=letter)
    assert confirm(client, response).status_code == 302
    again = confirm(client, response)
    assert again.status_code == 200
    assert "Nothing was saved: every row is already saved. Was the list confirmed twice?" in again.content.decode()
    assert Recipient.objects.count() == 3 and letter.recipients.count() == 3


def test_a_stale_preview_saves_nothing(client, manager, places, letter):
    client.force_login(manager)
    response = preview(client, LIST, action=letter)
    # Meanwhile someone adds one of the offices by hand.
    make_recipient(country=make_country("KR"), email="seoul@example.org")
    stale = confirm(client, response)
    assert stale.status_code == 200
    assert "the directory or the letter changed since the preview" in stale.content.decode()
    assert Recipient.objects.count() == 1 and not letter.recipients.exists()


def test_a_failure_while_saving_leaves_nothing_half_saved(manager, places, letter, monkeypatch):
    plan = services.recipient_import_plan(text=LIST, action=letter)
    original_save = Recipient.save

    def failing_save(self, *args, **kwargs):
        if self.email == "geneva@example.org":
            raise RuntimeError("the database went away")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Recipient, "save", failing_save)
    with pytest.raises(RuntimeError):
        services.recipient_import_save(text=LIST, action=letter, digest=plan.digest)
    assert not Recipient.objects.exists() and not letter.recipients.exists()


def test_an_uploaded_csv_file_works_like_a_pasted_list(client, manager, places):
    client.force_login(manager)
    upload = SimpleUploadedFile("offices.csv", ("\ufeff" + LIST).encode("utf-8"), content_type="text/csv")
    response = preview(client, upload=upload)
    assert response.context["plan"].is_valid
    assert confirm(client, response).status_code == 302
    assert Recipient.objects.count() == 3
    bad = SimpleUploadedFile("offices.csv", "Embassy,é@example.org,KR".encode("latin-1"), content_type="text/csv")
    response = preview(client, upload=bad)
    assert response.context["form"].errors["upload"] == ["Save the file as CSV in UTF-8, then upload it again."]


def test_a_header_with_an_unknown_column_is_refused_rather_than_guessed(client, manager, places):
    client.force_login(manager)
    plan = preview(client, "name,email,country,phone\nA,a@example.org,KR,123\n").context["plan"]
    assert plan.errors and "Unknown column: phone." in plan.errors[0] and not plan.is_valid


def test_only_campaign_managers_who_may_add_recipients_get_the_page(client, db, places):
    client.force_login(make_staff("Editors"))
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    client.force_login(make_staff("Campaign managers"))
    page = client.get(reverse(IMPORT_URL))
    assert page.status_code == 200 and "One recipient a line" in page.content.decode()
    changelist = client.get(reverse("admin:advocacy_recipient_changelist")).content.decode()
    assert reverse(IMPORT_URL) in changelist
