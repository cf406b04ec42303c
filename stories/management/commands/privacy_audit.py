"""Check everything currently public for identifying terms and the publication table against the rule;
exit non-zero on any finding."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from advocacy.models import Campaign, Country, Recipient
from stories import privacy
from stories.fields import IdentityKeyMissing
from stories.models import ContentWarning, FileDeletion, Part, Story, Storyteller, Theme
from stories.publication import publication_check


class Command(BaseCommand):
    help = (
        "Check every public part, story and storyteller, in every language, for identifying terms, and "
        "that the publication table readers are served from matches the visibility rule (repairing it "
        "when it does not). Exits with status 1 when anything is found, so it can run on a schedule."
    )

    def handle(self, *args, **options):
        # First, so that what readers are served is what the rule says before it is checked for terms.
        projection = publication_check(repair=True)
        if projection:
            self.stdout.write(
                "FOUND the publication table out of step with the visibility rule "
                f"({len(projection.difference.storyteller_ids)} storytellers); it was repaired."
            )
        # Files of withdrawn, erased or replaced photos that the store did not delete at the time.
        undeleted = FileDeletion.objects.attempt()
        if undeleted:
            self.stdout.write(
                f"FOUND {len(undeleted)} stored file(s) that must be deleted and could not be; "
                "they stay recorded and are tried again on the next run."
            )
        languages = [code for code, _name in settings.LANGUAGES]
        parts = Part.objects.none()
        stories = Story.objects.none()
        for code in languages:
            parts = parts | Part.objects.public(code)
            stories = stories | Story.objects.public(code)
        parts = parts.distinct().select_related("story__storyteller")
        stories = stories.distinct().select_related("storyteller")
        storytellers = Storyteller.objects.filter(stories__in=stories).distinct()
        campaigns = Campaign.objects.none()
        for code in languages:
            campaigns = campaigns | Campaign.objects.live(code)
        campaigns = campaigns.distinct().prefetch_related("actions")
        # Labels shown on public stories' pages and in their links; they carry site-wide terms only.
        themes = Theme.objects.filter(stories__in=stories).distinct()
        warnings = ContentWarning.objects.filter(stories__in=stories).distinct()
        # The offices live campaigns' letters write to, and their countries, shown beside those letters.
        recipients = Recipient.objects.filter(actions__campaign__in=campaigns).distinct().select_related("country")
        countries = {recipient.country_id: recipient.country for recipient in recipients}.values()

        checked = 0
        problems = 0
        try:
            for obj in [*storytellers, *stories, *parts, *campaigns, *themes, *warnings, *recipients, *countries]:
                checked += 1
                for finding in privacy.findings_for(obj):
                    problems += 1
                    # The matched term itself is never printed: this output ends up in logs and mail.
                    kind = "a site-wide protected term" if finding.site_wide else "an identifying term"
                    self.stdout.write(f"FOUND {kind} in {finding.where} of {self.describe(obj)}")
        except IdentityKeyMissing as error:
            raise CommandError("The identity key is missing, so identifying terms cannot be read.") from error

        if problems:
            raise CommandError(f"{problems} finding(s) in {checked} public objects. Fix them, or unpublish them.")
        if undeleted:
            raise CommandError(f"{len(undeleted)} stored file(s) of withdrawn or erased photos could not be deleted.")
        if projection:
            raise CommandError("The publication table differed from the visibility rule; it has been repaired.")
        self.stdout.write(self.style.SUCCESS(f"No identifying terms found in {checked} public objects."))

    def describe(self, obj) -> str:
        # By id only: a slug is public text the guard checks, and may hold the very term it found.
        if isinstance(obj, Part):
            return f"part {obj.number} of story id {obj.story_id} (part id {obj.pk})"
        if isinstance(obj, Story):
            return f"story id {obj.pk}"
        if isinstance(obj, Campaign):
            return f"campaign id {obj.pk}"
        if isinstance(obj, Theme):
            return f"theme id {obj.pk}"
        if isinstance(obj, ContentWarning):
            return f"content warning id {obj.pk}"
        if isinstance(obj, Recipient):
            return f"recipient id {obj.pk}"
        if isinstance(obj, Country):
            return f"country id {obj.pk}"
        return f"storyteller id {obj.pk}"
