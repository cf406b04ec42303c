"""Re-encrypt every identity record under the newest key, so that an older key can be retired."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.db.models.functions import Cast

from stories.fields import EncryptedTextField, Sealed, identity_cipher

BATCH_SIZE = 500


def encrypted_fields() -> dict[type[models.Model], list[str]]:
    """Every model with encrypted columns, the identity records and their history alike, and those columns."""
    found: dict[type[models.Model], list[str]] = {}
    for model in apps.get_models():
        names = [field.attname for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if names:
            found[model] = names
    return found


@contextmanager
def ciphertext_writable(model: type[models.Model]) -> Iterator[None]:
    """Let this command rewrite ciphertext in an append-only history table, inside its transaction only.

    On PostgreSQL the audit trail's tables refuse every UPDATE (stories/migrations/0008). Re-encryption
    changes how a value is stored, not the value, so the trigger is disabled for this transaction and
    enabled again before it commits: no other session ever sees it disabled, and if anything fails the
    rollback restores it. The table is locked against other writes meanwhile.
    """
    table = model._meta.db_table
    trigger = f"{table}_append_only"
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s", [table, trigger])
        guarded = cursor.fetchone() is not None
    if not guarded:
        yield
        return
    quote = connection.ops.quote_name
    # ALTER TABLE refuses to run while deferred constraint checks of this transaction are pending: run them now.
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {quote(trigger)}")
    yield
    # Not in a finally: after an error the transaction is rolled back, and the DISABLE with it.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {quote(trigger)}")


class Command(BaseCommand):
    help = (
        "Re-encrypt every identity record (and its history) under the first key in IDENTITY_ENCRYPTION_KEYS, "
        "in one transaction. Values already under that key are left alone, so it is safe to run again. "
        "Prints counts only, never a value. Once it reports nothing unreadable, the other keys can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; change nothing.")

    def handle(self, *args, **options):
        keys = [key for key in settings.IDENTITY_ENCRYPTION_KEYS if key]
        if not keys:
            raise CommandError("IDENTITY_ENCRYPTION_KEYS is not set: there is no key to encrypt under.")
        newest = Fernet(keys[0].encode())
        cipher = identity_cipher()
        totals: Counter = Counter()
        with transaction.atomic():
            for model, names in encrypted_fields().items():
                with ciphertext_writable(model):
                    counts = self.reencrypt(model, names, newest, cipher, dry_run=options["dry_run"])
                totals.update(counts)
                self.stdout.write(
                    f"{model._meta.verbose_name_plural}: {counts['reencrypted']} value(s) re-encrypted, "
                    f"{counts['current']} already under the newest key, {counts['unreadable']} unreadable"
                )
            if options["dry_run"]:
                transaction.set_rollback(True)
        verb = "would be re-encrypted" if options["dry_run"] else "re-encrypted"
        self.stdout.write(
            f"In all: {totals['reencrypted']} value(s) {verb}, {totals['current']} already under the newest key, "
            f"{totals['unreadable']} unreadable."
        )
        if totals["unreadable"]:
            raise CommandError(
                f"{totals['unreadable']} value(s) could not be decrypted with any configured key. They were left as "
                "they are; find the key they were written with before removing any key."
            )
        if len(keys) > 1 and not options["dry_run"]:
            self.stdout.write(
                self.style.SUCCESS(
                    "Every identity record is under the newest key: the others can be removed from "
                    "IDENTITY_ENCRYPTION_KEYS (on every server, then restart them)."
                )
            )

    def reencrypt(self, model, names: list[str], newest: Fernet, cipher, *, dry_run: bool) -> Counter:
        """Re-encrypt one model's columns batch by batch, reading and writing the ciphertext as it is stored."""
        counts: Counter = Counter(reencrypted=0, current=0, unreadable=0)
        # Cast to a plain text column: the ciphertext as stored, never decrypted by the field on the way.
        stored = {f"stored_{name}": Cast(name, output_field=models.TextField()) for name in names}
        manager = model._base_manager
        last = None
        while True:
            batch = manager.select_for_update().order_by("pk").annotate(**stored)
            if last is not None:
                batch = batch.filter(pk__gt=last)
            rows = list(batch.values_list("pk", *stored)[:BATCH_SIZE])
            if not rows:
                return counts
            for pk, *values in rows:
                update = {}
                for name, value in zip(names, values, strict=True):
                    if not value:
                        continue
                    token = value.encode()
                    try:
                        newest.decrypt(token)
                    except InvalidToken:
                        pass
                    else:
                        counts["current"] += 1
                        continue
                    try:
                        # Decrypts with whichever key still opens it, encrypts under the newest; keeps the timestamp.
                        update[name] = Sealed(cipher.rotate(token).decode())
                    except InvalidToken:
                        counts["unreadable"] += 1
                        continue
                    counts["reencrypted"] += 1
                if update and not dry_run:
                    # Sealed values are stored as they are; update() sends no signal, writes no history row and
                    # leaves updated_at alone: the record's content has not changed.
                    manager.filter(pk=pk).update(**update)
            last = rows[-1][0]
