"""Signing in to the back office: where a sign-in lands, how long a staff session lasts, failed sign-ins,
the second factor, and the Content-Security-Policy the admin works under."""

import pytest
from django.urls import reverse

from tests.conftest import make_staff

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
