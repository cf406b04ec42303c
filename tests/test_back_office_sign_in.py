"""Signing in to the back office: where a sign-in lands, how long a staff session lasts, failed sign-ins,
the second factor, and the Content-Security-Policy the admin works under."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from archive.middleware import STAFF_SEEN_KEY
from tests.conftest import make_staff
from tests.test_deployment import production_environment, run_python

pytestmark = pytest.mark.django_db

PASSWORD = "not-a-real-password-1"


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    return client.post(reverse("admin:login"), {"username": username, "password": password, **extra})


# --- Where a sign-in lands ------------------------------------------------------------------------


@pytest.mark.parametrize("next_field", [{}, {"next": ""}, {"next": "https://elsewhere.example.org/"}])
def test_a_sign_in_without_a_safe_next_lands_on_the_admin_index(client, next_field):
    editor = make_staff("Editors")

    response = sign_in(client, editor.username, **next_field)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(response["Location"]).status_code == 200


def test_a_sign_in_with_next_goes_there(client):
    editor = make_staff("Editors")
    target = reverse("admin:stories_part_changelist")

    response = sign_in(client, editor.username, next=target)

    assert response["Location"] == target


# --- Staff sessions expire after inactivity ------------------------------------------------------


def seen_ago(client, seconds: int) -> None:
    """Pretend the session's last request was this long ago."""
    session = client.session
    session[STAFF_SEEN_KEY] = int(time.time()) - seconds
    session.save()


def test_a_staff_session_records_activity_and_expires_after_the_idle_time(client, editor, settings):
    client.force_login(editor)

    assert client.get(reverse("admin:index")).status_code == 200

    session = client.session
    assert session.get_expiry_age() == settings.STAFF_SESSION_IDLE_SECONDS == 4 * 60 * 60
    assert abs(session[STAFF_SEEN_KEY] - time.time()) < 5


def test_a_staff_session_left_idle_is_signed_out_with_a_translated_message(client, editor, settings):
    client.force_login(editor)
    client.get(reverse("admin:index"))
    seen_ago(client, settings.STAFF_SESSION_IDLE_SECONDS + 1)

    response = client.get(reverse("admin:stories_part_changelist"), headers={"accept-language": "ko"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "_auth_user_id" not in client.session
    login = client.get(response["Location"], headers={"accept-language": "ko"})
    assert "백오피스를 한동안 사용하지 않아 로그아웃되었습니다" in login.content.decode()


def test_a_staff_session_in_use_stays_signed_in_and_is_extended(client, editor, settings):
    client.force_login(editor)
    client.get(reverse("admin:index"))
    seen_ago(client, settings.STAFF_SESSION_IDLE_SECONDS - 30)

    assert client.get(reverse("admin:index")).status_code == 200

    assert abs(client.session[STAFF_SEEN_KEY] - time.time()) < 5


def test_the_idle_time_is_a_setting(client, editor, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 600
    client.force_login(editor)
    client.get(reverse("admin:index"))
    assert client.session.get_expiry_age() == 600
    seen_ago(client, 601)

    assert client.get(reverse("admin:index")).status_code == 302


def test_a_readers_session_is_left_alone(client, settings):
    reader = get_user_model().objects.create_user(username="a-reader", password=PASSWORD)
    client.force_login(reader)
    session = client.session
    session[STAFF_SEEN_KEY] = int(time.time()) - settings.STAFF_SESSION_IDLE_SECONDS * 10
    session.save()

    client.get("/en/")

    assert "_auth_user_id" in client.session
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_the_idle_time_comes_from_the_environment():
    code = "import archive.settings.production as s; print(s.STAFF_SESSION_IDLE_SECONDS)"
    assert run_python(code, **production_environment()).stdout.strip() == str(4 * 60 * 60)
    assert run_python(code, **production_environment(STAFF_SESSION_IDLE_SECONDS="900")).stdout.strip() == "900"
