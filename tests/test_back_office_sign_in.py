"""Signing in to the back office: where a sign-in lands, how long a staff session lasts, failed sign-ins,
the second factor, and the Content-Security-Policy the admin works under."""

import base64
import datetime
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from archive.backoffice import load_permissions, needs_second_factor
from archive.middleware import STAFF_SEEN_KEY
from tests.conftest import make_part, make_staff, make_story, make_storyteller
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
    assert "관리 화면을 한동안 사용하지 않아 로그아웃되었습니다" in login.content.decode()


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


# --- Failed sign-ins are throttled and locked out ---------------------------------------------------


def attempt(client, username: str, password: str, address: str, **headers):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
        headers=headers,
    )


def answered(response) -> bool:
    """Whether the password was checked: the form came back with its error, or the sign-in worked."""
    return response.status_code == 302 or (response.status_code == 200 and b"errornote" in response.content)


def test_thirty_wrong_passwords_are_not_all_answered(client, editor, settings):
    responses = [attempt(client, editor.username, f"guess-{n}", "198.51.100.1") for n in range(30)]

    assert sum(answered(response) for response in responses) == settings.AXES_FAILURE_LIMIT - 1
    assert {response.status_code for response in responses[settings.AXES_FAILURE_LIMIT - 1 :]} == {429}
    # Not even the right password is checked now.
    right = attempt(client, editor.username, PASSWORD, "198.51.100.1")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Too many failed sign-ins"), ("ko", "로그인 실패가 너무 많습니다")]
)
def test_the_lockout_page_is_clear_translated_and_names_nobody(client, editor, settings, language, heading):
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(client, editor.username, f"guess-{n}", "198.51.100.1", accept_language=language)

    page = response.content.decode()
    assert response.status_code == 429
    assert heading in page
    assert editor.username not in page and "198.51.100.1" not in page
    assert "no-store" in response["Cache-Control"]


def test_a_locked_account_stays_locked_from_every_address(client, editor):
    for n in range(5):  # one guess from each of five addresses
        attempt(client, editor.username, f"guess-{n}", f"198.51.100.{n + 1}")

    assert attempt(client, editor.username, PASSWORD, "203.0.113.9").status_code == 429


def test_a_lockout_of_one_account_and_address_leaves_other_accounts_and_addresses_alone(client, editor, translator):
    for n in range(5):
        attempt(client, editor.username, f"guess-{n}", "198.51.100.1")

    # Another account from another address signs in.
    assert attempt(client, translator.username, PASSWORD, "203.0.113.9").status_code == 302
    client.logout()
    # The address that guessed is locked for every account; the account that was guessed at, from everywhere.
    assert attempt(client, translator.username, PASSWORD, "198.51.100.1").status_code == 429
    assert attempt(client, editor.username, PASSWORD, "203.0.113.9").status_code == 429


def test_guessing_across_many_accounts_from_one_address_locks_the_address(client, editor):
    for n in range(5):
        attempt(client, f"nobody-{n}", "guess", "198.51.100.1")

    assert attempt(client, editor.username, PASSWORD, "198.51.100.1").status_code == 429
    assert attempt(client, editor.username, PASSWORD, "198.51.100.2").status_code == 302


def test_the_address_is_the_one_the_trusted_proxy_saw_not_what_the_client_claims(client, editor, translator, settings):
    settings.ARCHIVE_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.10"
    for n in range(5):  # the guesser makes up a new address each time; the proxy appends the real one
        attempt(client, f"nobody-{n}", "guess", proxy, x_forwarded_for=f"192.0.2.{n}, 198.51.100.1")

    assert attempt(client, editor.username, PASSWORD, proxy, x_forwarded_for="198.51.100.1").status_code == 429
    # Everyone else behind the same proxy signs in.
    assert attempt(client, translator.username, PASSWORD, proxy, x_forwarded_for="203.0.113.9").status_code == 302


def test_a_lockout_ends_after_the_cool_off_time(client, editor, settings):
    for n in range(5):
        attempt(client, editor.username, f"guess-{n}", "198.51.100.1")
    assert attempt(client, editor.username, PASSWORD, "198.51.100.1").status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )

    assert attempt(client, editor.username, PASSWORD, "198.51.100.1").status_code == 302


def test_failures_are_counted_in_the_shared_database_not_in_a_process(settings):
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


# --- The admin's Content-Security-Policy (tests/browser/test_back_office.py runs it in a browser) -----------


def test_every_back_office_page_carries_the_strict_content_security_policy(client, editor, settings):
    pages = [reverse("admin:login")]
    assert client.get(pages[0])["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    for n in range(settings.AXES_FAILURE_LIMIT):
        locked = attempt(client, "nobody", f"guess-{n}", "198.51.100.1")
    assert locked["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    client.force_login(editor)
    for url in [reverse("admin:index"), reverse("admin:stories_part_changelist"), reverse("admin:stories_story_add")]:
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in settings.CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in settings.CONTENT_SECURITY_POLICY


# --- A second factor for those who can see identities ------------------------------------------------


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or in a later time step)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def superuser():
    return get_user_model().objects.create_superuser(username="root-1", password=PASSWORD, email="")


def test_those_who_can_see_identities_or_evidence_need_a_second_factor(editor, translator, consent_officer):
    campaign_manager = make_staff("Campaign managers")
    evidence_reader = get_user_model().objects.create_user(username="evidence", password=PASSWORD, is_staff=True)
    evidence_reader.user_permissions.add(Permission.objects.get(codename="view_consentevidence"))

    assert needs_second_factor(consent_officer)
    assert needs_second_factor(superuser())
    assert needs_second_factor(get_user_model().objects.get(pk=evidence_reader.pk))
    assert not any(needs_second_factor(user) for user in (editor, translator, campaign_manager))


def as_model_backend_reads_them(user) -> tuple[set, set, set]:
    """The user's own, their groups' and all their permissions as ModelBackend finds them, on a fresh copy."""
    fresh, backend = get_user_model().objects.get(pk=user.pk), ModelBackend()
    return backend.get_user_permissions(fresh), backend.get_group_permissions(fresh), backend.get_all_permissions(fresh)


def test_a_staff_members_permissions_are_read_in_one_query_as_model_backend_reads_them(
    editor, django_assert_num_queries
):
    # Of their own as well as their groups', one of them in two groups and in their own.
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_consent", "change_theme"]))
    second = Group.objects.create(name="Reviewers")
    second.permissions.add(*Permission.objects.filter(codename__in=["change_theme", "view_storyimage"]))
    editor.groups.add(second)
    user = get_user_model().objects.get(pk=editor.pk)

    with django_assert_num_queries(1):
        load_permissions(user)
        # Every later check reads what was loaded: the second factor's rule and the admin's.
        assert not needs_second_factor(user)
        assert user.has_perm("stories.view_consent") and user.has_perm("stories.change_part")
        assert not user.has_perm("stories.view_storytelleridentity")

    own, grouped, every = as_model_backend_reads_them(user)
    assert (user.get_user_permissions(), user.get_group_permissions(), user.get_all_permissions()) == (
        own,
        grouped,
        every,
    )
    assert {"stories.view_consent", "stories.change_theme"} <= own
    assert {"stories.change_theme", "stories.view_storyimage", "stories.change_part"} <= grouped


def test_permissions_are_not_loaded_for_a_superuser_or_an_inactive_user(editor, django_assert_num_queries):
    root = superuser()
    editor.is_active = False
    editor.save()
    inactive = get_user_model().objects.get(pk=editor.pk)

    with django_assert_num_queries(0):
        load_permissions(root)
        load_permissions(inactive)
        assert root.has_perm("stories.view_storytelleridentity")
        assert not inactive.has_perm("stories.change_part")
    assert not hasattr(root, "_perm_cache") and not hasattr(inactive, "_perm_cache")


def test_a_staff_page_asks_for_permissions_once(client, translator, django_assert_num_queries):
    client.force_login(translator)
    client.get(reverse("translations:dashboard"))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("translations:dashboard")).status_code == 200

    permission_queries = [query for query in queries.captured_queries if '"auth_permission"' in query["sql"]]
    assert len(permission_queries) == 1


def test_an_editor_signs_in_with_the_password_alone(client, editor):
    response = sign_in(client, editor.username, next=reverse("admin:index"))

    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("user", ["consent_officer", "superuser"])
def test_a_first_sign_in_enrols_an_authenticator_app(client, request, user):
    user = request.getfixturevalue("consent_officer") if user == "consent_officer" else superuser()

    response = sign_in(client, user.username, next=reverse("admin:index"))
    response = client.get(response["Location"], follow=True)

    setup = reverse("admin:second_factor_setup")
    assert response.redirect_chain[-1][0].startswith(setup)
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    page = response.content.decode()
    secret = base64.b32encode(device.bin_key).decode()
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert "otpauth://totp/Testimony%20archive%3A" in page
    assert client.get(reverse("admin:index")).status_code == 302

    wrong = client.post(setup, {"token": "000000" if code_for(device) != "000000" else "111111", "next": "/admin/"})
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wait after a wrong code is tested below
    device.save()
    before = client.session.session_key

    right = client.post(setup, {"token": code_for(device), "next": reverse("admin:index")})

    assert right.status_code == 302 and right["Location"] == reverse("admin:index")
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.session.session_key != before
    assert client.get(reverse("admin:stories_storyteller_changelist")).status_code == 200


def test_an_enrolled_consent_officer_gives_the_code_after_the_password(client, consent_officer):
    device = TOTPDevice.objects.create(user=consent_officer, name="app", confirmed=True)
    target = reverse("admin:stories_consent_audit")

    response = client.get(sign_in(client, consent_officer.username, next=target)["Location"])

    verify = reverse("admin:second_factor")
    assert response.status_code == 302 and response["Location"].startswith(verify)
    page = client.get(response["Location"], headers={"accept-language": "ko"}).content.decode()
    assert "인증 앱" in page
    done = client.post(verify, {"token": code_for(device), "next": target})
    assert done["Location"] == target
    assert client.get(target).status_code == 200


def test_enrolling_another_app_needs_the_enrolled_one(client, consent_officer):
    TOTPDevice.objects.create(user=consent_officer, name="app", confirmed=True)
    client.force_login(consent_officer, second_factor=False)

    response = client.get(reverse("admin:second_factor_setup"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:second_factor"))
    assert TOTPDevice.objects.filter(user=consent_officer).count() == 1


def test_a_wrong_code_makes_the_next_try_wait(client, consent_officer):
    device = TOTPDevice.objects.create(user=consent_officer, name="app", confirmed=True)
    client.force_login(consent_officer, second_factor=False)
    verify = reverse("admin:second_factor")
    right = code_for(device)

    client.post(verify, {"token": "000000" if right != "000000" else "111111"})
    response = client.post(verify, {"token": right}, headers={"accept-language": "ko"})

    assert response.status_code == 200
    assert "잘못된 코드를 너무 많이" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_used_code_is_not_accepted_twice(client, consent_officer):
    device = TOTPDevice.objects.create(user=consent_officer, name="app", confirmed=True)
    code = code_for(device)
    client.force_login(consent_officer, second_factor=False)
    assert client.post(reverse("admin:second_factor"), {"token": code}).status_code == 302

    other = Client()
    other.force_login(consent_officer, second_factor=False)
    assert other.post(reverse("admin:second_factor"), {"token": code}).status_code == 200


def test_a_session_without_its_second_factor_opens_nothing_that_shows_identities(client, consent_officer, db):
    storyteller = make_storyteller(identity={"legal_name": "Invented Legal Name"})
    part = make_part(story=make_story(storyteller=storyteller))
    client.force_login(consent_officer, second_factor=False)

    for url in [
        reverse("admin:index"),
        reverse("admin:stories_storyteller_change", args=[storyteller.pk]),
        reverse("admin:stories_consent_audit"),
        reverse("admin:stories_consent_audit_export"),
        reverse("admin:stories_consentevidence_changelist"),
        reverse("evidence", kwargs={"pk": 1}),
        reverse("stories:part-preview", kwargs={"pk": part.pk}),
        reverse("translations:dashboard"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:second_factor") + "?next="), url
    assert "Invented Legal Name" not in client.get(reverse("admin:second_factor"), follow=True).content.decode()
    # Signing out still works.
    assert client.post(reverse("admin:logout")).status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_second_factor_pages_send_a_signed_out_visitor_to_sign_in(client):
    response = client.get(reverse("admin:second_factor"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_second_factor_pages_never_send_anyone_to_another_site(client, consent_officer):
    device = TOTPDevice.objects.create(user=consent_officer, name="app", confirmed=True)
    client.force_login(consent_officer, second_factor=False)

    response = client.post(
        reverse("admin:second_factor"), {"token": code_for(device), "next": "https://elsewhere.example.org/"}
    )

    assert response["Location"] == reverse("admin:index")


def test_the_bench_measures_a_consent_officers_pages_with_the_second_factor_given(client, consent_officer, settings):
    from stories.management.commands import bench

    user, key = bench._sign_in("Consent officers")
    client.cookies[settings.SESSION_COOKIE_NAME] = key

    assert user == consent_officer
    assert client.get(reverse("admin:stories_storyteller_changelist")).status_code == 200
    bench._clean_up({"sessions": [key], "created_users": []})
    assert not TOTPDevice.objects.filter(name=bench.BENCH_DEVICE).exists()


def test_the_key_being_set_up_is_also_shown_as_a_qr_code_to_its_own_session_only(client, consent_officer):
    client.force_login(consent_officer, second_factor=False)
    page = client.get(reverse("admin:second_factor_setup")).content.decode()
    qr = reverse("admin:second_factor_qr")
    assert f'src="{qr}"' in page

    response = client.get(qr)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and b"<script" not in response.content
    assert "no-store" in response["Cache-Control"]
    assert Client().get(qr).status_code == 404
    TOTPDevice.objects.filter(user=consent_officer).update(confirmed=True)
    assert client.get(qr).status_code == 404  # the session now owes the code of the confirmed app
    client.force_login(consent_officer)
    assert client.get(qr).status_code == 404
