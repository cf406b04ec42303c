"""The newsletter's success and failure messages: the site's own words, in each language; the double opt-in stays."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from advocacy.models import NewsletterMessages, Subscriber
from stories import services as story_services
from stories.models import ProtectedTerm
from tests.advocacy.test_newsletter import sign_up
from tests.conftest import make_staff

# The double opt-in instruction, always shown after a sign-up whatever the site's message says.
CONFIRM = {
    "en": "To start receiving the newsletter, open the link in it and press the button.",
    "ko": "소식지를 받아 보시려면 이메일에 있는 링크를 열고 버튼을 눌러 주세요.",
}
STANDARD_SUCCESS = {"en": "Thank you for signing up.", "ko": "구독을 신청해 주셔서 고맙습니다."}
STANDARD_FAILURE = {"en": "Please check your email address.", "ko": "이메일 주소를 확인해 주세요."}


def messages(**fields) -> NewsletterMessages:
    site = NewsletterMessages.objects.filter(pk=NewsletterMessages.SITE).first() or NewsletterMessages()
    for name, value in fields.items():
        setattr(site, name, value)
    site.full_clean()
    site.save()
    return site


def sent_page(client, language: str) -> str:
    response = sign_up(client, language=language)
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def refused_page(client, language: str) -> str:
    response = sign_up(client, email="not an address", language=language)
    assert response.status_code == 400
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_without_site_messages_readers_get_the_standard_ones(client, db, language):
    sent = sent_page(client, language)
    assert STANDARD_SUCCESS[language] in sent and CONFIRM[language] in sent
    assert STANDARD_FAILURE[language] in refused_page(client, language)


def test_the_sites_messages_are_shown_in_each_language_and_the_opt_in_stays(client, db):
    messages(
        success_message_en="Welcome aboard! One more step.",
        success_message_ko="함께해 주셔서 고맙습니다! 한 단계만 더 남았습니다.",
        failure_message_en="That address did not work. Check it and try again.",
        failure_message_ko="그 주소로는 신청할 수 없었습니다. 확인하고 다시 시도해 주세요.",
    )
    english, korean = sent_page(client, "en"), sent_page(client, "ko")
    assert "Welcome aboard! One more step." in english and CONFIRM["en"] in english
    assert "함께해 주셔서 고맙습니다! 한 단계만 더 남았습니다." in korean and CONFIRM["ko"] in korean
    assert STANDARD_SUCCESS["en"] not in english and STANDARD_SUCCESS["ko"] not in korean
    # Still a double opt-in: nobody is subscribed until they confirm from the email.
    assert "/en/newsletter/confirm/" in mail.outbox[0].body
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING

    refused = {code: refused_page(client, code) for code in ("en", "ko")}
    assert "That address did not work. Check it and try again." in refused["en"]
    assert "그 주소로는 신청할 수 없었습니다. 확인하고 다시 시도해 주세요." in refused["ko"]
    assert STANDARD_FAILURE["en"] not in refused["en"]


def test_a_message_in_one_language_only_is_never_shown_in_the_other(client, db):
    messages(success_message_en="Welcome aboard!", failure_message_en="That address did not work.")
    korean = sent_page(client, "ko")
    assert "Welcome aboard!" not in korean and STANDARD_SUCCESS["ko"] in korean
    refused = refused_page(client, "ko")
    assert "That address did not work." not in refused and STANDARD_FAILURE["ko"] in refused


def test_a_specific_reason_is_not_replaced_by_the_sites_failure_message(client, db, settings):
    messages(failure_message_en="That address did not work.")
    statuses = []
    for _attempt in range(6):
        response = sign_up(client)
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    html = response.content.decode()
    assert "too many sign-ups from your network" in html and "That address did not work." not in html


def test_the_messages_are_one_set_for_the_site(db):
    first = messages(success_message_en="One.")
    second = NewsletterMessages(success_message_en="Two.")
    second.save()
    assert NewsletterMessages.objects.count() == 1 and first.pk == second.pk == NewsletterMessages.SITE
    assert NewsletterMessages.objects.get().success_message_en == "Two."
    with pytest.raises(IntegrityError), transaction.atomic():
        NewsletterMessages.objects.bulk_create([NewsletterMessages(pk=2)])


def test_the_messages_are_public_text_the_guard_checks(db):
    ProtectedTerm.objects.create(term="Lantern House")
    with pytest.raises(ValidationError) as error:
        messages(success_message_ko="Lantern House에서 다시 뵙겠습니다.")
    assert "newsletter sign-up message (Korean)" in " ".join(error.value.messages)
    # A term added later is found in the saved messages by the search of published text.
    NewsletterMessages.objects.create(failure_message_en="Ask at Willow Gate.")
    found = story_services.exposed_text_find(terms=["Willow Gate"])
    assert [type(finding.obj) for finding in found] == [NewsletterMessages]


def test_campaign_managers_add_them_once_and_never_delete_them(client, db):
    client.force_login(make_staff("Campaign managers"))
    add = "/admin/advocacy/newslettermessages/add/"
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "success_message_en": "Welcome aboard!",
            "success_message_ko": "함께해 주셔서 고맙습니다!",
            "failure_message_en": "",
            "failure_message_ko": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert NewsletterMessages.objects.get().success_message_ko == "함께해 주셔서 고맙습니다!"
    assert client.get(add).status_code == 403
    assert client.get(f"/admin/advocacy/newslettermessages/{NewsletterMessages.SITE}/delete/").status_code == 403
