"""Offices every reader is asked to write to, whatever their country: recipient groups."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from advocacy.demo import load_demo_campaigns
from advocacy.models import Action, NewsletterMessages, Recipient, RecipientGroup
from stories import services as story_services
from stories.models import ProtectedTerm
from tests.advocacy.conftest import make_action, make_campaign, make_country, make_recipient
from tests.background.test_queue import DATABASE_TASKS, work
from tests.conftest import make_staff
from tests.stories.test_exposed_scan import save_term


def make_group(**fields) -> RecipientGroup:
    defaults = {"name_en": "International organisations", "name_ko": "국제기구"}
    group = RecipientGroup(**{**defaults, **fields})
    group.full_clean()
    group.save()
    return group


def make_group_office(*, group: RecipientGroup, **fields) -> Recipient:
    defaults = {
        "label_en": "International Office for Refugee Protection",
        "label_ko": "국제난민보호사무소",
        "email": "refugee-office@example.org",
        "kind": Recipient.Kind.INTERNATIONAL,
        "last_verified_on": timezone.localdate() - datetime.timedelta(days=5),
    }
    office = Recipient(group=group, country=None, **{**defaults, **fields})
    office.full_clean()
    office.save()
    return office


def page(client, campaign, language: str) -> str:
    with translation.override(language):
        url = campaign.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def country_blocks(html: str) -> dict[str, str]:
    """Each country's <details> block, by its code."""
    return dict(re.findall(r'<details class="recipients__country" data-country="(\w+)">(.*?)</details>', html, re.S))


def everyone_blocks(html: str) -> list[str]:
    return re.findall(r'<section class="recipients__everyone".*?</section>', html, re.S)


@pytest.fixture
def letter_with_group(db):
    campaign = make_campaign()
    us = make_country("US", "United States", "미국")
    gb = make_country("GB", "United Kingdom", "영국")
    washington = make_recipient(country=us, email="washington@example.org", label_en="Embassy in Washington")
    london = make_recipient(country=gb, email="london@example.org", label_en="Embassy in London")
    group = make_group()
    office = make_group_office(group=group)
    action = make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[washington, london, office])
    return campaign, action, group, office


@pytest.mark.parametrize(
    ("language", "group_name", "office_label", "country_name"),
    [
        ("en", "International organisations", "International Office for Refugee Protection", "United States"),
        ("ko", "국제기구", "국제난민보호사무소", "미국"),
    ],
)
def test_each_country_lists_its_own_offices_and_every_reader_sees_the_group(
    client, letter_with_group, language, group_name, office_label, country_name
):
    campaign, _action, _group, _office = letter_with_group
    html = page(client, campaign, language)

    # Without JavaScript every country is listed, each with its own offices only, and the group besides.
    countries = country_blocks(html)
    assert set(countries) == {"US", "GB"}
    assert "washington@example.org" in countries["US"] and "london@example.org" not in countries["US"]
    assert "london@example.org" in countries["GB"] and "washington@example.org" not in countries["GB"]
    # The group's office is filed under no country, and the picker does not offer the group as one.
    assert all("refugee-office@example.org" not in block for block in countries.values())
    assert set(re.findall(r'<option value="(\w*)">', html)) == {"", "US", "GB"}
    assert f">{country_name}</option>" in html and f">{group_name}</option>" not in html
    groups = everyone_blocks(html)
    assert len(groups) == 1
    assert group_name in groups[0] and office_label in groups[0] and "refugee-office@example.org" in groups[0]
    assert 'href="mailto:refugee-office@example.org?' in groups[0]
    # It sits in the picker, outside every country's block, where the script never hides it.
    assert "data-country=" not in groups[0]
    assert html.index("data-country-picker") < html.index(groups[0])


def test_only_groups_still_shows_them_without_a_country_menu(client, db):
    campaign = make_campaign()
    office = make_group_office(group=make_group())
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[office])
    for language, note in (("en", "please write to these offices."), ("ko", "이 기관들에 편지를 보내 주세요.")):
        html = page(client, campaign, language)
        assert "data-country-select" not in html
        assert len(everyone_blocks(html)) == 1 and "refugee-office@example.org" in html
        assert note in everyone_blocks(html)[0]


def test_an_office_belongs_to_a_country_or_a_group_never_both_or_neither(db):
    group = make_group()
    us = make_country()
    for country, chosen in ((us, group), (None, None)):
        office = Recipient(
            label_en="Office", label_ko="사무소", email="o@example.org", kind=Recipient.Kind.EMBASSY,
            country=country, group=chosen,
        )  # fmt: skip
        with pytest.raises(ValidationError) as error:
            office.full_clean()
        assert set(error.value.message_dict) == {"country", "group"}
        # The database refuses it too, whatever wrote it.
        with pytest.raises(IntegrityError), transaction.atomic():
            office.save()


def test_a_group_needs_its_name_in_english_and_korean_comes_through_review(db):
    with pytest.raises(ValidationError) as error:
        make_group(name_en=" ")
    assert set(error.value.message_dict) == {"name_en"}
    # Saved without Korean: the Korean page waits for an approved translation (test_label_translations.py).
    assert make_group(name_ko="").pk


def test_a_group_not_named_in_a_language_is_left_out_of_that_page(client, letter_with_group):
    campaign, _action, group, _office = letter_with_group
    RecipientGroup.objects.filter(pk=group.pk).update(name_ko="")  # saved before both were required
    assert "refugee-office@example.org" in page(client, campaign, "en")
    korean = page(client, campaign, "ko")
    assert "refugee-office@example.org" not in korean and not everyone_blocks(korean)


def test_a_group_name_is_public_text_the_guard_checks(db):
    ProtectedTerm.objects.create(term="Lantern House")
    with pytest.raises(ValidationError) as error:
        make_group(name_en="Lantern House offices")
    # Named by its field, never by the term itself.
    assert "recipient group name (English)" in " ".join(error.value.messages)
    assert not RecipientGroup.objects.exists()


def test_a_term_added_later_in_a_group_name_is_found_and_its_campaigns_taken_back(letter_with_group):
    campaign, _action, group, _office = letter_with_group
    RecipientGroup.objects.filter(pk=group.pk).update(name_en="Willow Gate offices")
    found = story_services.exposed_text_find(terms=["Willow Gate"])
    assert [(type(finding.obj), finding.obj.pk) for finding in found] == [(RecipientGroup, group.pk)]
    changed = story_services.exposed_text_unpublish(terms=["Willow Gate"])
    assert changed == [campaign]
    campaign.refresh_from_db()
    assert campaign.status == campaign.Status.DRAFT


def test_renaming_a_group_shows_at_the_next_request(client, letter_with_group):
    campaign, _action, group, _office = letter_with_group
    assert "International organisations" in page(client, campaign, "en")
    assert "International organisations" in page(client, campaign, "en")  # now served from the page cache
    group.name_en = "Offices of the United Nations system"
    group.full_clean()
    group.save()
    html = page(client, campaign, "en")
    assert "Offices of the United Nations system" in html and "International organisations" not in html


def test_moving_an_office_into_a_group_shows_at_the_next_request(client, letter_with_group):
    campaign, _action, group, _office = letter_with_group
    washington = Recipient.objects.get(email="washington@example.org")
    page(client, campaign, "en")
    washington.country, washington.group = None, group
    washington.full_clean()
    washington.save()
    html = page(client, campaign, "en")
    assert set(country_blocks(html)) == {"GB"}
    assert "washington@example.org" in everyone_blocks(html)[0]


@pytest.mark.parametrize("size", [1, 20])
def test_the_campaign_page_costs_the_same_queries_with_many_groups(client, db, django_assert_max_num_queries, size):
    campaign = make_campaign()
    countries = [make_country(f"B{chr(65 + n)}", f"Country {n}", f"나라 {n}") for n in range(size)]
    offices = [make_recipient(country=country) for country in countries]
    for n in range(size):
        offices.append(make_group_office(group=make_group(name_en=f"Group {n}"), email=f"group-{n}@example.org"))
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=offices)
    with django_assert_max_num_queries(3):
        html = page(client, campaign, "en")
    assert len(everyone_blocks(html)) == size


def test_the_demo_writes_to_a_group_for_every_reader(db):
    campaign = load_demo_campaigns()
    letter = campaign.actions.get(kind=Action.Kind.LETTER)
    offices = letter.recipients.filter(group__isnull=False)
    assert offices.exists() and not offices.filter(country__isnull=False).exists()
    assert all(office.email.endswith((".example.org", "@example.org")) for office in offices)


def test_campaign_managers_keep_groups_and_file_an_office_under_one(client, db):
    client.force_login(make_staff("Campaign managers"))
    response = client.post(
        "/admin/advocacy/recipientgroup/add/",
        {"name_en": "International organisations", "name_ko": "국제기구", "position": 0},
    )
    assert response.status_code == 302
    group = RecipientGroup.objects.get()
    fields = {
        "label_en": "International Office for Refugee Protection",
        "label_ko": "국제난민보호사무소",
        "email": "refugee-office@example.org",
        "kind": Recipient.Kind.INTERNATIONAL,
        "last_verified_on": timezone.localdate().isoformat(),
    }
    both = client.post("/admin/advocacy/recipient/add/", {**fields, "country": make_country().pk, "group": group.pk})
    assert both.status_code == 200 and not Recipient.objects.exists()
    assert "Choose a country or a group for every reader, not both." in both.content.decode()
    assert client.post("/admin/advocacy/recipient/add/", {**fields, "group": group.pk}).status_code == 302
    assert Recipient.objects.get().group == group


def test_a_term_added_later_shows_the_officer_the_group_and_the_newsletter_messages_to_edit(
    client, consent_officer, letter_with_group
):
    _campaign, _action, group, _office = letter_with_group
    RecipientGroup.objects.filter(pk=group.pk).update(name_ko="Lantern House 사무소")
    NewsletterMessages.objects.create(success_message_en="See you at Lantern House.")
    client.force_login(consent_officer)
    with override_settings(TASKS=DATABASE_TASKS):
        saved = save_term(client)
        work()
    page = client.get(saved["Location"])
    assert page.status_code == 200
    places = {(place["url"], str(place["field"])) for place in page.context["places"]}
    assert places == {
        (reverse("admin:advocacy_recipientgroup_change", args=[group.pk]), "recipient group name (Korean)"),
        (
            reverse("admin:advocacy_newslettermessages_change", args=[NewsletterMessages.SITE]),
            "newsletter sign-up message (English)",
        ),
    }
