"""Everything that changes a campaign's counters or a newsletter subscription.

Subscribers' addresses never reach a log: messages name a subscriber by number, and a failed send
is logged by the kind of error only, since SMTP errors quote the address they refused.
"""

import calendar
import csv
import datetime
import hashlib
import json
import logging
import smtplib
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from django.conf import settings
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from advocacy import ratelimit
from advocacy.models import (
    Action,
    ActionCount,
    Campaign,
    Country,
    PressMention,
    Recipient,
    RecipientGroup,
    Subscriber,
)
from advocacy.querysets import PRESS_STRIP
from advocacy.sharing import single_line
from archive.i18n import localized
from archive.prepared import Run, loaded
from archive.spreadsheets import formula_safe
from background import queue
from stories import caching, images
from stories.models import FileDeletion, private_storage

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


# --- Cleaned images: campaign photos and press logos -------------------------------------------------

# Every page that shows the press strip depends on this set: a mention added, changed or removed makes them stale.
PRESS_LIST = "advocacy.pressmention:list"
# How long the strip may outlive an invalidation the shared cache never received.
PRESS_STRIP_SECONDS = 300


def image_prepare(*, upload: BinaryIO) -> images.Prepared:
    """Check an upload and rebuild it from its pixels (stories.images); raises images.ImageRejected.

    Unlike a story photo, which a task renders, this runs in the back office's request: a campaign
    photo or a logo is one image a campaign manager uploads now and then, under the same ceilings.
    """
    if getattr(upload, "size", 0) > images.MAX_UPLOAD_BYTES:
        raise images.too_large()
    upload.seek(0)
    data = upload.read(images.MAX_UPLOAD_BYTES + 1)
    upload.seek(0)
    head = data[:4096].lstrip(b" \t\r\n\xef\xbb\xbf")
    if head[:1] == b"<" or b"<svg" in head.lower():
        # SVG (or any markup) can carry scripts and links to elsewhere: refused, and told how to fix it.
        raise images.ImageRejected(
            _("SVG and other drawings in markup are not accepted. Export the image as PNG and upload that."), "svg"
        )
    return images.render(data)


def _store_renditions(prepared: images.Prepared, folder: str) -> list[dict]:
    """Write each rendition to private storage under a random name; nothing is left behind on failure."""
    storage = private_storage()
    written: list[dict] = []
    try:
        for rendition in prepared.renditions:
            name = storage.save(images.random_name(folder, rendition.extension), ContentFile(rendition.data))
            written.append(
                {"width": rendition.width, "height": rendition.height, "extension": rendition.extension, "name": name}
            )
    except BaseException:
        FileDeletion.objects.attempt([item["name"] for item in written])
        raise
    return written


def _replace_renditions(obj, *, prefix: str, prepared: images.Prepared | None, folder: str) -> None:
    """Give ``obj`` these renditions (None: none) under a new key; the old files go once this commits."""
    model = type(obj)
    previous = model.objects.filter(pk=obj.pk).values_list(f"{prefix}_renditions", flat=True).first() if obj.pk else []
    written = _store_renditions(prepared, folder) if prepared is not None else []
    try:
        # A new key with every image: copies cached under the old URLs are never served again.
        setattr(obj, f"{prefix}_key", uuid.uuid4().hex if written else "")
        setattr(obj, f"{prefix}_renditions", written)
        obj.save()
    except BaseException:
        FileDeletion.objects.attempt([item["name"] for item in written])
        raise
    # Recorded with this change and deleted once it commits; privacy_audit finishes what a crash leaves.
    FileDeletion.objects.schedule(item["name"] for item in previous or [])


@transaction.atomic
def campaign_photo_set(*, campaign: Campaign, prepared: images.Prepared | None) -> Campaign:
    """Replace the campaign's photo with this cleaned upload, or remove it (None)."""
    _replace_renditions(campaign, prefix="photo", prepared=prepared, folder="campaign-photos")
    return campaign


@transaction.atomic
def press_mention_save(*, mention: PressMention, prepared: images.Prepared | None = None) -> PressMention:
    """Save a press mention, with a new cleaned logo when one was uploaded."""
    mention.full_clean()
    if prepared is None:
        mention.save()
    else:
        _replace_renditions(mention, prefix="logo", prepared=prepared, folder="press-logos")
    return mention


def _press_strip_rows(language: str, read: list[dict] | None = None) -> list[dict]:
    """The shown mentions as the strip shows them, from one prepared query, with URLs in the language.

    ``read`` is what ``press_strip_run`` read, when the page has run it already.
    """
    if read is None:
        read = PRESS_STRIP(shape={"language": language})
    rows = []
    with translation.override(language):
        for row in read:
            mention = loaded(PressMention, row)
            logo = mention.logo
            picture = logo.picture()
            rows.append(
                {
                    "name": mention.name,
                    "link": mention.link,
                    # The logo's words in this language, else the outlet's name: never another language's text.
                    "alt": (row[f"alt_text_{language}"] or "").strip() or mention.name,
                    "webp_srcset": picture["webp_srcset"],
                    "jpeg_srcset": picture["jpeg_srcset"],
                    "src": picture["smallest_url"],
                    # Written as the template writes a number (formats.localize), once here rather than
                    # through the number formats on every page.
                    "width": localized(logo.width),
                    "height": localized(logo.height),
                }
            )
    return rows


def press_strip_run() -> Run | None:
    """The query ``press_strip`` reads on this request, for a page that sends it with others
    (``run_together``); ``None`` when the strip is kept in the cache."""
    if settings.PUBLIC_PAGE_CACHE_SECONDS:
        return None
    return PRESS_STRIP.run(shape={"language": translation.get_language()})


def press_strip(*, rows: list[dict] | None = None) -> list[dict]:
    """The press strip in the active language, as plain data: one query when a write made it stale, else none.

    ``rows`` are those of ``press_strip_run``, when the page has read them already.
    """
    language = translation.get_language()
    caching.depends_on(PRESS_LIST)
    if not settings.PUBLIC_PAGE_CACHE_SECONDS:
        # The operators turned caching off: nothing is kept, every page reads the strip.
        return _press_strip_rows(language, rows)
    return caching.kept_until_next_write(
        f"advocacy:press-strip:{language}", lambda: _press_strip_rows(language), seconds=PRESS_STRIP_SECONDS
    )


# --- Recipients from a list --------------------------------------------------------------------------

MAX_IMPORT_ROWS = 500
MAX_IMPORT_BYTES = 256 * 1024
# Header names a list may use for each column; without a header the columns are in this order.
_IMPORT_HEADERS = {
    "name": "name",
    "label": "name",
    "email": "email",
    "email address": "email",
    "country": "place",
    "group": "place",
    "country or group": "place",
    "kind": "kind",
}


class ImportStale(Exception):
    """The directory or the letter changed since the preview (or the list was already saved): nothing was saved."""

    def __init__(self, plan: "ImportPlan") -> None:
        super().__init__("stale import")
        self.plan = plan


@dataclass
class ImportRow:
    """One line of a pasted or uploaded list, as it would be saved."""

    line: int
    cells: dict[str, str]
    recipient: Recipient | None = None
    is_new: bool = False
    already_on_letter: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def other_names(self) -> list[str]:
        """The names in the languages after the first, in their order."""
        return [self.cells.get(f"name_{code}", "") for code in _languages()[1:]]

    @property
    def place(self) -> str:
        if self.recipient is None:
            return ""
        return str(self.recipient.group or self.recipient.country or "")


@dataclass
class ImportPlan:
    """What saving a list would do, row by row; nothing in it is saved."""

    rows: list[ImportRow]
    action: Action | None
    errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.errors and not any(row.errors for row in self.rows)

    @property
    def new_count(self) -> int:
        return sum(row.is_new for row in self.rows if not row.errors)

    @property
    def added_count(self) -> int:
        return sum(not row.already_on_letter for row in self.rows if not row.errors) if self.action else 0

    @property
    def has_changes(self) -> bool:
        return bool(self.new_count or self.added_count)

    @property
    def digest(self) -> str:
        """A fingerprint of what saving would do: a confirmation made from another preview saves nothing."""
        outline = [
            self.action.pk if self.action else None,
            [
                [
                    row.line,
                    row.is_new,
                    row.already_on_letter,
                    row.recipient.pk if row.recipient else None,
                    row.recipient.email if row.recipient else None,
                    row.recipient.country_id if row.recipient else None,
                    row.recipient.group_id if row.recipient else None,
                    row.recipient.kind if row.recipient else None,
                    *((getattr(row.recipient, f"label_{code}", "") if row.recipient else "") for code in _languages()),
                ]
                for row in self.rows
            ],
        ]
        return hashlib.sha256(json.dumps(outline, sort_keys=True).encode()).hexdigest()


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def _read_rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Split a list into rows of named cells: with a header naming the columns, or name, email, place, names."""
    if len(text.encode()) > MAX_IMPORT_BYTES:
        return [], [str(_("The list is too long: at most {count} KB.").format(count=MAX_IMPORT_BYTES // 1024))]
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return [], [str(_("The list is empty."))]
    delimiter = "\t" if "\t" in lines[0] else ";" if ";" in lines[0] and "," not in lines[0] else ","
    records = list(csv.reader(text.splitlines(), delimiter=delimiter))
    languages = _languages()
    columns = ["name", "email", "place", *(f"name_{code}" for code in languages[1:])]
    headers = {**_IMPORT_HEADERS, **{f"name_{code}": f"name_{code}" for code in languages[1:]}}
    rows: list[tuple[int, dict[str, str]]] = []
    for line, record in enumerate(records, start=1):
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if not rows and any(cell.lower() in {"email", "email address"} for cell in cells):
            # A header row: the columns are where it says; unknown columns are refused rather than ignored.
            unknown = [cell for cell in cells if cell and cell.lower() not in headers]
            if unknown:
                return [], [
                    str(
                        _("Unknown column: {names}. Use name, email, country or group, {others}.").format(
                            names=", ".join(unknown), others=", ".join(f"name_{code}" for code in languages[1:])
                        )
                    )
                ]
            columns = [headers.get(cell.lower(), "") for cell in cells]
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            return [], [str(_("The list is too long: at most {count} rows.").format(count=MAX_IMPORT_ROWS))]
        named = {name: (cells[index] if index < len(cells) else "") for index, name in enumerate(columns) if name}
        if len(cells) > len(columns) and any(cells[len(columns) :]):
            named["__extra__"] = "yes"
        rows.append((line, named))
    return rows, []


def _places() -> tuple[dict[str, Country], dict[str, Country | RecipientGroup]]:
    """Countries by code, and countries and groups by their name in any language (lower-case)."""
    by_code = {}
    by_name: dict[str, Country | RecipientGroup] = {}
    for country in Country.objects.all():
        by_code[country.code.upper()] = country
        for code in _languages():
            name = (getattr(country, f"name_{code}") or "").strip().lower()
            if name:
                by_name.setdefault(name, country)
    for group in RecipientGroup.objects.all():
        for code in _languages():
            name = (getattr(group, f"name_{code}") or "").strip().lower()
            if name:
                by_name.setdefault(name, group)
    return by_code, by_name


def _kind(value: str, place: Country | RecipientGroup) -> str | None:
    if not value:
        return Recipient.Kind.EMBASSY if isinstance(place, Country) else Recipient.Kind.INTERNATIONAL
    for kind in Recipient.Kind:
        if value.lower() in {kind.value, str(kind.label).lower()}:
            return kind.value
    return None


def recipient_import_plan(*, text: str, action: Action | None = None) -> ImportPlan:
    """Read a list of recipients and say, row by row, what saving it would do and what is wrong; saves nothing."""
    records, errors = _read_rows(text)
    plan = ImportPlan(rows=[], action=action, errors=errors)
    if errors:
        return plan
    by_code, by_name = _places()
    emails = [normalize_email(cells.get("email", "")) for _line, cells in records]
    existing = {recipient.email.lower(): recipient for recipient in Recipient.objects.filter(email__in=emails)}
    # Addresses stored before they were kept in lower case.
    for recipient in Recipient.objects.filter(email__iregex=r"[A-Z]").select_related("country", "group"):
        if recipient.email.lower() in emails:
            existing.setdefault(recipient.email.lower(), recipient)
    on_letter = set(action.recipients.values_list("pk", flat=True)) if action is not None and action.pk else set()
    seen: set[str] = set()
    languages = _languages()
    today = timezone.localdate()
    for (line, cells), email in zip(records, emails, strict=True):
        row = ImportRow(line=line, cells=cells)
        plan.rows.append(row)
        if cells.get("__extra__"):
            row.errors.append(str(_("This row has more columns than the list.")))
        written = cells.get("place", "")
        place = by_code.get(written.upper()) if len(written) == 2 else None
        place = place or by_name.get(written.lower())
        if not written:
            row.errors.append(str(_("Name a country (its code, such as US, or its name) or a group for every reader.")))
        elif place is None:
            row.errors.append(
                str(_("No country or group is called “{name}”. Add it first, or correct the row.").format(name=written))
            )
        if not email:
            row.errors.append(str(_("The email address is missing.")))
        elif email in seen:
            row.errors.append(str(_("This address is already on an earlier row.")))
        seen.add(email)
        if place is None or row.errors:
            continue
        kind = _kind(cells.get("kind", ""), place)
        if kind is None:
            row.errors.append(str(_("Unknown kind “{kind}”.").format(kind=cells.get("kind", ""))))
            continue
        found = existing.get(email)
        if found is not None:
            row.recipient = found
            row.already_on_letter = found.pk in on_letter
            holder = found.group if found.group_id else found.country
            if holder != place:
                row.errors.append(
                    str(
                        _(
                            "This address is already in the directory, filed under {place}. Correct the row, "
                            "or change the recipient first."
                        ).format(place=holder)
                    )
                )
            continue
        labels = {f"label_{languages[0]}": cells.get("name", "")}
        labels.update({f"label_{code}": cells.get(f"name_{code}", "") for code in languages[1:]})
        recipient = Recipient(
            email=email,
            country=place if isinstance(place, Country) else None,
            group=place if isinstance(place, RecipientGroup) else None,
            kind=kind,
            last_verified_on=today,
            **labels,
        )
        row.recipient = recipient
        row.is_new = True
        try:
            recipient.full_clean(validate_unique=False)
        except ValidationError as error:
            names = {"label_" + code: "name_" + code for code in languages[1:]} | {f"label_{languages[0]}": "name"}
            for name, messages in error.message_dict.items():
                prefix = names.get(name, name)
                row.errors.extend(
                    message if prefix == NON_FIELD_ERRORS else f"{prefix}: {message}" for message in messages
                )
    return plan


def recipient_import_save(*, text: str, action: Action | None, digest: str) -> ImportPlan:
    """Save a list exactly as previewed, all in one transaction; raises ImportStale when saving would differ.

    A second confirmation of the same preview (a double click, a reload) finds the rows saved, so the plan
    differs from the preview's and nothing is saved twice.
    """
    try:
        with transaction.atomic():
            if action is not None:
                # Two confirmations for one letter take turns; the second sees what the first saved.
                action = Action.objects.select_for_update().get(pk=action.pk)
            plan = recipient_import_plan(text=text, action=action)
            if plan.digest != digest or not plan.is_valid or not plan.has_changes:
                raise ImportStale(plan)
            for row in plan.rows:
                if row.is_new:
                    row.recipient.save()
            if action is not None:
                action.recipients.add(*(row.recipient for row in plan.rows if not row.already_on_letter))
    except IntegrityError:
        # Another confirmation saved one of these addresses between our reading and our writing.
        raise ImportStale(recipient_import_plan(text=text, action=action)) from None
    return plan
