"""Compare the publication table with the visibility rule's definition on this database, and repair it."""

from django.core.management.base import BaseCommand, CommandError

from stories.publication import publication_check


class Command(BaseCommand):
    help = (
        "Compare the materialised visibility rule (the publication table every reader page reads) with "
        "its definition, the public() querysets, now and for every future moment. With --repair, rewrite "
        "the rows that differ. Exits with status 1 when they differed, so it can run on a schedule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rewrite the rows that differ from the definition")

    def handle(self, *args, repair: bool = False, **options):
        check = publication_check(repair=repair)
        for label, language, missing, extra in check.disagreements:
            # Ids only: this output ends up in logs and mail.
            self.stdout.write(
                f"DIFFERS now: {label} in {language}: {len(missing)} public but not served "
                f"(ids {sorted(missing)[:20]}), {len(extra)} served but not public (ids {sorted(extra)[:20]})"
            )
        difference = check.difference
        if difference:
            self.stdout.write(
                f"DIFFERS in the table: {len(difference.missing)} rows missing, {len(difference.extra)} rows "
                f"that should not exist, {len(difference.changed)} rows with another window or scope, for "
                f"storytellers {sorted(difference.storyteller_ids)[:20]}"
            )
        if not check:
            self.stdout.write(self.style.SUCCESS("The publication table matches the visibility rule."))
            return
        if repair:
            after = publication_check()
            if after:
                raise CommandError("The publication table still differs from the rule after the repair.")
            raise CommandError("The publication table differed from the rule; it is repaired now.")
        raise CommandError("The publication table differs from the rule. Run with --repair to rewrite it.")
