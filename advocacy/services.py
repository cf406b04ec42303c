"""Everything that changes a campaign's counters or a newsletter subscription.

Subscribers' addresses never reach a log: messages name a subscriber by number, and a failed send
is logged by the kind of error only, since SMTP errors quote the address they refused.
"""

import calendar
import csv
import datetime
import logging
import smtplib
from typing import TextIO

from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from advocacy import ratelimit
from advocacy.models import ActionCount, Campaign, Recipient, Subscriber
from advocacy.sharing import single_line
from archive.spreadsheets import formula_safe
from background import queue

logger = logging.getLogger(__name__)

CONFIRM_SALT = "advocacy.newsletter.confirm"
UNSUBSCRIBE_SALT = "advocacy.newsletter.unsubscribe"
# A confirmation link works for three days; after that the reader signs up again.
CONFIRM_MAX_AGE = datetime.timedelta(days=3)
# However many times anyone asks, one address gets at most this many emails from the form a day.
EMAILS_PER_ADDRESS_PER_DAY = 3
# A request for the same address within this time of the last one (a double click, a reload, a
# second tab) changes nothing and sends nothing: the first email is on its way and its link works.
REPEAT_WINDOW = datetime.timedelta(minutes=10)


class LinkInvalid(Exception):
    """A newsletter link that was altered, superseded or belongs to nobody."""


class LinkExpired(LinkInvalid):
    """A confirmation link older than CONFIRM_MAX_AGE."""


class EmailNotSent(Exception):
    """The mail server did not take the message."""


@transaction.atomic
def action_count_add(*, campaign: Campaign, kind: str, day: datetime.date | None = None) -> None:
    """Add one to today's counter of this kind for the campaign; nothing about the reader is kept."""
    row = ActionCount(campaign=campaign, day=day or timezone.localdate(), kind=kind, count=0)
    row.full_clean(validate_unique=False, validate_constraints=False)
    # Insert the day's row if it is missing, then increment it in the database: safe when many
    # readers click at once, on PostgreSQL and SQLite alike. Neither statement sends model signals,
    # so a click does not invalidate the cached public pages as a content change does.
    ActionCount.objects.bulk_create([row], ignore_conflicts=True)
    ActionCount.objects.filter(campaign=campaign, day=row.day, kind=kind).update(count=F("count") + 1)


@transaction.atomic
def recipient_mark_verified(*, recipient: Recipient, on: datetime.date | None = None) -> Recipient:
    """Record that someone checked the recipient's address."""
    recipient.last_verified_on = on or timezone.localdate()
    recipient.full_clean()
    recipient.save(update_fields=["last_verified_on"])
    return recipient


def normalize_email(email: str) -> str:
    """Return the address as stored: trimmed and lower-case, so one inbox is one subscriber."""
    return email.strip().lower()


def _moment(value: datetime.datetime) -> int:
    """A datetime as whole microseconds, exact across databases, for comparing inside a signed link."""
    return calendar.timegm(value.utctimetuple()) * 1_000_000 + value.microsecond


def confirm_token(subscriber: Subscriber) -> str:
    # The request time inside the link means a newer request replaces the older link.
    return signing.dumps({"s": subscriber.pk, "r": _moment(subscriber.requested_at)}, salt=CONFIRM_SALT)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk}, salt=UNSUBSCRIBE_SALT)


def _absolute(site_url: str, name: str, token: str) -> str:
    return site_url.rstrip("/") + reverse(name, kwargs={"token": token})


def send_email(*, subscriber: Subscriber, template: str, site_url: str) -> None:
    """Send one newsletter email now (the task in advocacy/tasks.py does); raises EmailNotSent."""
    with translation.override(subscriber.language):
        unsubscribe_url = _absolute(site_url, "advocacy:unsubscribe", unsubscribe_token(subscriber))
        context = {
            "confirm_url": _absolute(site_url, "advocacy:confirm", confirm_token(subscriber)),
            "unsubscribe_url": unsubscribe_url,
            "days": CONFIRM_MAX_AGE.days,
        }
        subject = single_line(render_to_string(f"advocacy/email/{template}_subject.txt", context))
        body = render_to_string(f"advocacy/email/{template}_body.txt", context)
    message = EmailMessage(
        subject,
        body,
        to=[subscriber.email],
        # One-click unsubscribe from the mail program itself (RFC 8058).
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning(
            "Newsletter email (%s) to subscriber %s was not sent: %s", template, subscriber.pk, type(error).__name__
        )
        # Raised without its cause: an SMTP error's text may hold the address.
        raise EmailNotSent from None


def subscriber_request(*, email: str, language: str, site_url: str) -> Subscriber:
    """Ask the address's owner to confirm a subscription, or tell them they already have one.

    The caller gives the reader the same answer in both cases, so the form never reveals whether an
    address is subscribed. A repeat within REPEAT_WINDOW of the last request sends nothing and keeps
    the link already sent valid; a later one sends a new email whose link replaces the earlier one.
    The email is a task (advocacy/tasks.py), queued with the change and sent once it has committed.
    """
    from advocacy.tasks import send_newsletter_email

    email = normalize_email(email)
    now = timezone.now()
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            email=email, defaults={"language": language, "requested_at": now}
        )
        if not created:
            # Locked again: get_or_create may have found the row without the lock if another
            # request created it first.
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            if subscriber.status != Subscriber.Status.UNSUBSCRIBED and now - subscriber.requested_at < REPEAT_WINDOW:
                logger.info(
                    "Newsletter request for subscriber %s repeated within the window: nothing sent", subscriber.pk
                )
                return subscriber
        already = subscriber.status == Subscriber.Status.CONFIRMED
        if not already:
            subscriber.status = Subscriber.Status.PENDING
            subscriber.language = language
            subscriber.unsubscribed_at = None
        # For a confirmed subscriber this only times the "already subscribed" notice, for the window.
        subscriber.requested_at = now
        subscriber.full_clean()
        subscriber.save()
        if not ratelimit.allow_value(email, scope="newsletter-address", limit=EMAILS_PER_ADDRESS_PER_DAY, window=86400):
            logger.info("Newsletter email to subscriber %s held back: too many requests today", subscriber.pk)
            return subscriber
        email_task = (send_newsletter_email, subscriber.pk, "already" if already else "confirm", site_url)
        if queue.is_queued(send_newsletter_email):
            # Production: queued in this transaction, so sent once the change commits and never without it.
            queue.enqueue_after_commit(*email_task)
            email_task = None
    if email_task:
        # Run at once (development and tests): only now that the change has committed.
        queue.enqueue_after_commit(*email_task)
    return subscriber


def _load(token: str, *, salt: str, max_age: datetime.timedelta | None = None) -> dict:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise LinkExpired from error
    except signing.BadSignature as error:
        raise LinkInvalid from error
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise LinkInvalid
    return data


def subscriber_check_confirm_token(*, token: str) -> Subscriber:
    """Return the subscriber a confirmation link belongs to, or raise LinkExpired or LinkInvalid."""
    data = _load(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    subscriber = Subscriber.objects.filter(pk=data["s"]).first()
    if (
        subscriber is None
        or subscriber.status == Subscriber.Status.UNSUBSCRIBED
        or data.get("r") != _moment(subscriber.requested_at)
    ):
        raise LinkInvalid
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    """Confirm the subscription a link was sent for; confirming twice changes nothing."""
    subscriber = subscriber_check_confirm_token(token=token)
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.status != Subscriber.Status.CONFIRMED:
        subscriber.status = Subscriber.Status.CONFIRMED
        subscriber.confirmed_at = timezone.now()
        subscriber.full_clean()
        subscriber.save()
    logger.info("Newsletter subscriber %s confirmed", subscriber.pk)
    return subscriber


def subscriber_check_unsubscribe_token(*, token: str) -> None:
    """Raise LinkInvalid unless the unsubscribe link is one we signed."""
    _load(token, salt=UNSUBSCRIBE_SALT)


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber | None:
    """End the subscription an unsubscribe link belongs to; a link for a deleted subscriber does nothing."""
    data = _load(token, salt=UNSUBSCRIBE_SALT)
    subscriber = Subscriber.objects.select_for_update().filter(pk=data["s"]).first()
    if subscriber is None:
        return None
    if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        subscriber.status = Subscriber.Status.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.full_clean()
        subscriber.save()
    logger.info("Newsletter subscriber %s unsubscribed", subscriber.pk)
    return subscriber


def subscribers_export_csv(*, out: TextIO) -> int:
    """Write the confirmed subscribers as CSV for the mailing tool; return how many were written."""
    writer = csv.writer(out)
    writer.writerow(["email", "language", "confirmed_at"])
    count = 0
    rows = Subscriber.objects.filter(status=Subscriber.Status.CONFIRMED).order_by("confirmed_at", "pk")
    for email, language, confirmed_at in rows.values_list("email", "language", "confirmed_at").iterator():
        writer.writerow([formula_safe(email), language, confirmed_at.isoformat() if confirmed_at else ""])
        count += 1
    return count
