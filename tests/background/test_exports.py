"""Large CSV exports as tasks on production's queue: asked for, built by a worker, fetched by the one who asked."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.utils import timezone

from advocacy.models import Subscriber
from background import exports
from background.models import Export
from tests.background.test_queue import DATABASE_TASKS, work
from tests.conftest import make_staff

AUDIT_EXPORT = "/admin/stories/consent/audit/export/"
SUBSCRIBER_EXPORT = "/admin/advocacy/subscriber/export/"


@pytest.fixture
def queued(db):
    with override_settings(TASKS=DATABASE_TASKS):
        yield


@pytest.fixture
def exporter(db):
    user = make_staff("Consent officers")
    user.user_permissions.add(Permission.objects.get(codename="export_subscriber"))
    return user


def rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_an_export_is_prepared_by_a_worker_and_offered_to_the_one_who_asked(client, exporter, queued):
    Subscriber.objects.create(email="=cmd@example.org", status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now())
    client.force_login(exporter)
    response = client.get(SUBSCRIBER_EXPORT)
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/background/export/{export.pk}/change/"
    page = client.get(response["Location"]).content.decode()
    assert "Being prepared: reload this page in a moment." in page

    work()

    export.refresh_from_db()
    assert export.status == Export.Status.READY and export.rows == 1
    page = client.get(f"/admin/background/export/{export.pk}/change/").content.decode()
    download = f"/admin/background/export/{export.pk}/download/"
    assert download in page
    file = client.get(download)
    assert file["Content-Disposition"].startswith('attachment; filename="subscribers-')
    assert "private" in file["Cache-Control"] and "no-store" in file["Cache-Control"]
    # Every cell through the formula guard, as the direct export did.
    assert [(row["email"], row["language"]) for row in rows(file)] == [("'=cmd@example.org", "en")]

    # Nobody else gets it, not even another exporter; and one who lost the permission no longer does.
    other = make_staff("Consent officers")
    other.user_permissions.add(Permission.objects.get(codename="export_subscriber"))
    client.force_login(other)
    assert client.get(download).status_code == 404
    assert client.get(f"/admin/background/export/{export.pk}/change/").status_code in (302, 403, 404)
    exporter.user_permissions.clear()
    client.force_login(exporter)
    assert client.get(download).status_code == 403


def test_the_audit_trail_export_is_built_with_the_askers_own_permissions(client, queued):
    officer = make_staff("Consent officers")
    client.force_login(officer)
    response = client.get(AUDIT_EXPORT)
    assert response.status_code == 302
    work()
    export = Export.objects.get()
    assert export.status == Export.Status.READY
    file = client.get(f"/admin/background/export/{export.pk}/download/")
    assert file.content.decode().startswith("when,who,action,model,object_id,field,before,after")


def test_without_a_queue_the_file_is_the_answer_as_before(client, exporter):
    Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now())
    client.force_login(exporter)
    response = client.get(SUBSCRIBER_EXPORT)
    assert response.status_code == 200
    assert [row["email"] for row in rows(response)] == ["a@example.org"]


def test_a_failed_export_says_so_and_expired_ones_are_deleted(client, exporter, queued, monkeypatch):
    def broken(user, out):
        raise RuntimeError("a bug")

    monkeypatch.setattr("advocacy.exports.write_subscribers", broken)
    client.force_login(exporter)
    client.get(SUBSCRIBER_EXPORT)
    work()
    export = Export.objects.get()
    assert export.status == Export.Status.FAILED and export.error == "RuntimeError"
    assert (
        "It could not be prepared (RuntimeError). Ask for it again."
        in client.get(f"/admin/background/export/{export.pk}/change/").content.decode()
    )
    assert exports.prune() == 0
    assert exports.prune(now=timezone.now() + exports.KEEP_FOR + datetime.timedelta(minutes=1)) == 1
    assert not Export.objects.exists()


def test_staff_without_the_permission_cannot_ask(client, db):
    client.force_login(make_staff("Editors"))
    assert client.get(SUBSCRIBER_EXPORT).status_code == 403
    assert not Export.objects.exists()
