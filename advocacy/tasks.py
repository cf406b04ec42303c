"""The newsletter's emails, sent by a task worker after the subscription's change commits.

A reader's sign-up never waits for the mail server, and a mail server that is down or refuses delays the
email instead of failing the sign-up: the task is tried again later, with growing pauses, before it is
marked failed for the operators. The task carries the subscriber's number, never the address.
"""

import datetime
import logging

from django.utils import timezone
from django_tasks import task

from advocacy import services
from advocacy.models import Subscriber
from background import queue

logger = logging.getLogger(__name__)

# After a failed attempt, the next one waits this long; after the last, the task fails.
RETRY_DELAYS = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
)


@task(priority=10)
def send_newsletter_email(subscriber_id: int, template: str, site_url: str, attempt: int = 1) -> str:
    """Send the confirmation ("confirm") or "already subscribed" ("already") email; "sent", "retrying" or "gone"."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        logger.info("Newsletter email (%s) to subscriber %s not sent: no longer wanted", template, subscriber_id)
        return "gone"
    try:
        services.send_email(subscriber=subscriber, template=template, site_url=site_url)
    except services.EmailNotSent:
        if attempt <= len(RETRY_DELAYS) and queue.is_queued(send_newsletter_email):
            later = timezone.now() + RETRY_DELAYS[attempt - 1]
            send_newsletter_email.using(run_after=later).enqueue(subscriber_id, template, site_url, attempt=attempt + 1)
            logger.warning(
                "Newsletter email (%s) to subscriber %s will be tried again at %s (attempt %d).",
                template,
                subscriber_id,
                later.isoformat(timespec="seconds"),
                attempt + 1,
            )
            return "retrying"
        raise
    return "sent"
