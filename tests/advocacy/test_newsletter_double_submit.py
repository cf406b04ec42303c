"""The newsletter form: a double submit sends one email whose link works, and a form sent back faster
than a person fills it in is refused with a way to try again (issue 11, section 4)."""

import datetime
import re
import time

import pytest
from django.core import mail, signing

from advocacy import services
from advocacy.forms import MIN_FILL_SECONDS, STARTED_SALT, started_token
from advocacy.models import Subscriber

ADDRESS = "reader@example.org"


def shown(seconds_ago: float) -> str:
    return signing.dumps(int((time.time() - seconds_ago) * 1000), salt=STARTED_SALT)


def sign_up(client, *, language="en", started: str | None = None, email=ADDRESS, **extra):
    started = shown(MIN_FILL_SECONDS + 5) if started is None else started
    return client.post(f"/{language}/newsletter/", {"email": email, "website": "", "started": started, **extra})


def confirm_path(message) -> str:
    return re.search(r"https?://testserver(/\w\w/newsletter/confirm/[^/\s]+/)", message.body).group(1)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_double_submit_sends_one_email_and_its_link_works(client, db, language):
    assert sign_up(client, language=language).status_code == 302
    assert sign_up(client, language=language).status_code == 302
    assert len(mail.outbox) == 1
    assert client.post(confirm_path(mail.outbox[0])).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED


def test_a_request_after_the_window_sends_a_new_link_that_works(client, db, monkeypatch):
    sign_up(client)
    later = services.timezone.now() + services.REPEAT_WINDOW + datetime.timedelta(seconds=1)
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    sign_up(client)
    assert len(mail.outbox) == 2
    assert client.post(confirm_path(mail.outbox[1])).status_code == 200


def test_an_address_already_subscribed_gets_one_notice_for_a_double_submit(client, db):
    last_week = services.timezone.now() - datetime.timedelta(days=7)
    Subscriber.objects.create(email=ADDRESS, status=Subscriber.Status.CONFIRMED, requested_at=last_week)
    sign_up(client)
    sign_up(client)
    assert [message.subject for message in mail.outbox] == ["You are already subscribed to our newsletter"]


def test_after_unsubscribing_a_new_request_is_never_held_back(client, db):
    Subscriber.objects.create(email=ADDRESS, status=Subscriber.Status.UNSUBSCRIBED)
    sign_up(client)
    assert len(mail.outbox) == 1


TOO_FAST = {
    "at-once": lambda: shown(0),
    "too-quick": lambda: shown(MIN_FILL_SECONDS - 1),
    "missing": lambda: "",
    "forged": lambda: "not-a-token",
    "not-a-time": lambda: signing.dumps("x", salt=STARTED_SALT),
    "from-the-future": lambda: shown(-60),
    "other-salt": lambda: signing.dumps(int((time.time() - 60) * 1000), salt="advocacy.newsletter.confirm"),
}


@pytest.mark.parametrize("case", TOO_FAST)
def test_a_form_sent_back_too_fast_is_refused_and_can_be_sent_again(client, db, case, monkeypatch):
    started = TOO_FAST[case]()
    asked_at = int(time.time() * 1000)
    response = sign_up(client, started=started)
    assert response.status_code == 400
    assert "Please wait a moment, then press the button again." in response.content.decode()
    assert not Subscriber.objects.exists() and mail.outbox == []
    # What the reader typed is kept, and the form is timed again from now.
    form = response.context["form"]
    assert form["email"].value() == ADDRESS
    retry = form["started"].value()
    # Stamped by the refusing request itself: never the token it was sent (which for "at-once" can
    # carry the same millisecond, so the two tokens may be equal), nor earlier than the request.
    assert asked_at <= signing.loads(retry, salt=STARTED_SALT) <= time.time() * 1000
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + MIN_FILL_SECONDS + 1)
    assert sign_up(client, started=retry).status_code == 302
    assert len(mail.outbox) == 1


def test_the_too_fast_message_is_given_in_korean(client, db):
    response = sign_up(client, language="ko", started=started_token())
    assert response.status_code == 400
    assert "잠시 기다린 뒤 버튼을 다시 눌러 주세요." in response.content.decode()
    assert not Subscriber.objects.exists()


def test_a_fresh_form_carries_a_signed_timestamp(client, db):
    form = client.get("/en/newsletter/").context["form"]
    elapsed = time.time() - signing.loads(form["started"].value(), salt=STARTED_SALT) / 1000
    assert 0 <= elapsed < 5


def test_the_honeypot_still_wins_over_the_timer(client, db):
    response = sign_up(client, started=shown(0), website="http://spam.example.net")
    assert response.status_code == 302 and not Subscriber.objects.exists() and mail.outbox == []
