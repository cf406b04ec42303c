"""The newsletter's emails as tasks on production's queue: after the commit, retried, without the address."""

import smtplib

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from advocacy import services, tasks
from advocacy.models import Subscriber
from tests.advocacy.test_newsletter import ADDRESS, link_in, sign_up
from tests.background.test_queue import DATABASE_TASKS, work

EMAIL_TASK = "advocacy.tasks.send_newsletter_email"


@pytest.fixture
def queued(db):
    with override_settings(TASKS=DATABASE_TASKS):
        yield


def test_the_confirmation_is_queued_with_the_sign_up_and_sent_by_a_worker(client, queued):
    response = sign_up(client)
    assert response.status_code == 302
    assert mail.outbox == []  # the request sent nothing
    row = DBTaskResult.objects.get(task_path=EMAIL_TASK)
    subscriber = Subscriber.objects.get()
    # The task table holds the subscriber's number and the template, never the address.
    assert row.args_kwargs == {"args": [subscriber.pk, "confirm", "http://testserver/"], "kwargs": {}}
    assert ADDRESS not in str(row.args_kwargs)
    work()
    assert [message.to for message in mail.outbox] == [[ADDRESS]]
    assert client.post(link_in(mail.outbox[0], "confirm")).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED


def test_a_sign_up_that_rolls_back_queues_no_email(queued):
    # The task is queued in the transaction of the change: when that transaction fails after it, neither is left.
    with pytest.raises(RuntimeError), transaction.atomic():
        services.subscriber_request(email=ADDRESS, language="en", site_url="http://testserver/")
        assert DBTaskResult.objects.filter(task_path=EMAIL_TASK).exists()
        raise RuntimeError("a later failure in the same transaction")
    assert not Subscriber.objects.exists()
    assert not DBTaskResult.objects.exists()
    work()
    assert mail.outbox == []


def test_a_refused_email_is_tried_again_later_then_fails_for_the_operators(client, queued, monkeypatch):
    attempts = []

    def refuse(self, fail_silently=False):
        attempts.append(timezone.now())
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    sign_up(client)
    work()
    retry = DBTaskResult.objects.get(task_path=EMAIL_TASK, status=TaskResultStatus.READY)
    first = DBTaskResult.objects.get(task_path=EMAIL_TASK, status=TaskResultStatus.SUCCESSFUL)
    assert first.return_value == "retrying"
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}
    assert retry.run_after - timezone.now() > tasks.RETRY_DELAYS[0] * 0.9
    # Each later attempt, when its time has come, until the last one fails.
    for _ in tasks.RETRY_DELAYS:
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())
        work()
    assert len(attempts) == len(tasks.RETRY_DELAYS) + 1
    failed = DBTaskResult.objects.get(task_path=EMAIL_TASK, status=TaskResultStatus.FAILED)
    assert failed.exception_class_path == "advocacy.services.EmailNotSent"
    assert ADDRESS not in failed.traceback
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()


def test_an_email_for_someone_who_unsubscribed_meanwhile_is_not_sent(client, queued):
    sign_up(client)
    Subscriber.objects.update(status=Subscriber.Status.UNSUBSCRIBED)
    work()
    assert mail.outbox == []
    assert DBTaskResult.objects.get(task_path=EMAIL_TASK).return_value == "gone"
