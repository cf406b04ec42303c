"""Countries, groups and offices are saved with their English label; other languages go through review.

The Korean campaign page lists an office only once its label and its country's (or group's) name are
translated and approved, says how many are not yet in Korean with a link to the English page, and never
shows English text in their place.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import translation

from advocacy.models import Action, Country, Recipient, RecipientGroup
from tests.advocacy.conftest import make_action, make_campaign, make_recipient
from tests.advocacy.test_recipient_groups import make_group, make_group_office
from translations import services
from translations.models import Translation
from translations.workspace import label_items


def page(client, campaign, language):
    with translation.override(language):
        url = campaign.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def translate(obj, text, translator, editor, language="ko"):
    services.translation_save_draft(obj=obj, language=language, text=text, by=translator)
    services.translation_submit(obj=obj, language=language, by=translator)
    return services.translation_approve(obj=obj, language=language, by=editor)


def english_only_country(code="NO", name="Norway"):
    country = Country(code=code, name_en=name)
    country.full_clean()  # the English name is enough to save
    country.save()
    return country


@pytest.fixture
def letter(db):
    """A letter to an office in a country named in English only, and to one named in both languages."""
    campaign = make_campaign()
    english_only = english_only_country()
    office = make_recipient(country=english_only, label_en="Embassy in Oslo", label_ko="")
    named = make_recipient(label_en="Embassy in Washington", label_ko="워싱턴 대사관")
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[office, named])
    return {"campaign": campaign, "country": english_only, "office": office, "named": named}


def test_an_english_label_is_enough_to_save_every_kind(db):
    country = english_only_country()
    group = RecipientGroup(name_en="International organisations")
    group.full_clean()
    group.save()
    office = Recipient(label_en="Embassy in Oslo", email="oslo@example.org", kind="embassy", country=country)
    office.full_clean()
    office.save()
    # Nothing was approved in Korean: there was nothing to approve.
    assert not Translation.objects.live("ko").exists()
    # The English one is still required.
    with pytest.raises(ValidationError) as error:
        Country(code="SE", name_ko="스웨덴").full_clean()
    assert "name_en" in error.value.message_dict


def test_the_korean_page_leaves_out_untranslated_labels_and_says_so(client, letter, translator, editor):
    korean = page(client, letter["campaign"], "ko")
    assert "Norway" not in korean and "Embassy in Oslo" not in korean and "oslo" not in korean.lower()
    assert "워싱턴 대사관" in korean
    assert "language-notice" in korean
    # The English page lists both and says nothing is missing.
    english = page(client, letter["campaign"], "en")
    assert "Norway" in english and "Embassy in Oslo" in english and "Embassy in Washington" in english
    assert "language-notice" not in english

    # A translation of the office alone is not enough: its country is not in Korean yet.
    translate(letter["office"], {"label": "오슬로 대사관"}, translator, editor)
    assert "오슬로 대사관" not in page(client, letter["campaign"], "ko")
    # Approved both: the office is listed under its Korean country name, and the notice is gone.
    translate(letter["country"], {"name": "노르웨이"}, translator, editor)
    korean = page(client, letter["campaign"], "ko")
    assert "노르웨이" in korean and "오슬로 대사관" in korean
    assert "language-notice" not in korean


def test_the_notice_links_to_the_english_page_in_the_language_notice(client, letter):
    with translation.override("ko"):
        korean = page(client, letter["campaign"], "ko")
    with translation.override("en"):
        english_url = letter["campaign"].get_absolute_url()
    assert f'href="{english_url}" hreflang="en"' in korean
    assert "수신처 1곳의 이름이 아직 한국어로 옮겨지지 않아" in korean


def test_a_draft_or_a_translation_in_review_is_not_shown(client, letter, translator):
    services.translation_save_draft(obj=letter["country"], language="ko", text={"name": "노르웨이"}, by=translator)
    services.translation_save_draft(obj=letter["office"], language="ko", text={"label": "오슬로 대사관"}, by=translator)
    services.translation_submit(obj=letter["office"], language="ko", by=translator)
    korean = page(client, letter["campaign"], "ko")
    assert "노르웨이" not in korean and "오슬로 대사관" not in korean


def test_a_group_for_every_reader_needs_its_approved_korean_name(client, translator, editor, db):
    campaign = make_campaign()
    group = make_group(name_ko="")
    office = make_group_office(group=group)
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[office])
    korean = page(client, campaign, "ko")
    assert "International organisations" not in korean and "국제난민보호사무소" not in korean
    assert "language-notice" in korean
    translate(group, {"name": "국제기구"}, translator, editor)
    korean = page(client, campaign, "ko")
    assert "국제기구" in korean and "국제난민보호사무소" in korean


def test_korean_an_editor_types_is_approved_as_saved(db):
    country = Country(code="SE", name_en="Sweden", name_ko="스웨덴")
    country.full_clean()
    country.save()
    record = Translation.objects.get(
        content_type=ContentType.objects.get_for_model(Country), object_id=country.pk, language="ko"
    )
    assert record.is_live() and record.approved_source == {"name": "Sweden"}


def test_a_changed_english_name_marks_the_korean_one_for_update(letter, translator, editor):
    translate(letter["country"], {"name": "노르웨이"}, translator, editor)
    letter["country"].name_en = "Kingdom of Norway"
    letter["country"].save()
    record = Translation.objects.get(
        content_type=ContentType.objects.get_for_model(Country), object_id=letter["country"].pk, language="ko"
    )
    assert record.needs_update


def test_the_workspace_lists_labels_to_translate(client, translator, letter, django_assert_max_num_queries):
    client.force_login(translator)
    response = client.get("/en/translate/ko/labels/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Country: Norway" in html and "Office: Embassy in Oslo" in html
    assert f"/en/translate/ko/country/{letter['country'].pk}/" in html
    # The edit page works for a label, and there is nothing to translate into English.
    assert client.get(f"/en/translate/ko/country/{letter['country'].pk}/").status_code == 200
    assert client.get(f"/en/translate/en/country/{letter['country'].pk}/").status_code == 404
    assert label_items("en") == []
    # Its cost does not grow with the number of labels.
    with django_assert_max_num_queries(12):
        client.get("/en/translate/ko/labels/")
    for n in range(10):
        make_recipient(country=english_only_country(code=f"Q{chr(65 + n)}", name=f"Land {n}"), label_ko="")
    with django_assert_max_num_queries(12):
        assert client.get("/en/translate/ko/labels/").status_code == 200


def test_the_korean_campaign_page_costs_the_same_queries_with_more_offices(
    client, letter, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page(client, letter["campaign"], "ko")
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        page(client, letter["campaign"], "ko")
    budget = len(queries)
    action = letter["campaign"].actions.get()
    for n in range(6):
        country = english_only_country(code=f"Z{chr(65 + n)}", name=f"Land {n}")
        action.recipients.add(make_recipient(country=country, label_ko=""))
    cache.clear()
    with django_assert_max_num_queries(budget):
        korean = page(client, letter["campaign"], "ko")
    assert "수신처 7곳의 이름이 아직 한국어로 옮겨지지 않아" in korean
