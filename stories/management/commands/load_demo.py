"""Load invented demo content and demo staff accounts; safe to run more than once."""

import datetime
import json
import os
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from advocacy.demo import load_demo_campaigns
from stories import services
from stories.demo.content import CONTENT_WARNINGS, STORIES, STORYTELLERS, THEMES
from stories.models import Consent, ContentWarning, Part, Story, Storyteller, StorytellerIdentity, Theme
from translations import services as translation_services

DEMO_USERS = [
    ("demo-editor", "Editors"),
    ("demo-translator", "Translators"),
    ("demo-consent-officer", "Consent officers"),
    ("demo-campaign-manager", "Campaign managers"),
]


DEFAULT_CREDENTIALS_FILE = ".demo-credentials.json"


def credentials_path() -> Path:
    return Path(os.environ.get("DEMO_CREDENTIALS_FILE", settings.BASE_DIR / DEFAULT_CREDENTIALS_FILE))


def database_identity(alias: str = DEFAULT_DB_ALIAS) -> str:
    """Name the database the demo users live in (never its password): their passwords belong to it."""
    connection = connections[alias]
    config = connection.settings_dict
    name = str(config["NAME"])
    if connection.vendor == "sqlite":
        if not connection.is_in_memory_db():
            name = str(Path(name).resolve())
        return f"sqlite:{name}"
    host = config.get("HOST") or "localhost"
    port = config.get("PORT") or ""
    return f"{connection.vendor}://{config.get('USER') or ''}@{host}:{port}/{name}"


def read_credentials(path: Path) -> dict[str, dict[str, str]]:
    """Return the passwords kept per database: {database identity: {username: password}}."""
    if not path.exists():
        return {}
    saved = json.loads(path.read_text())
    if not isinstance(saved, dict):
        return {}
    if saved and all(isinstance(value, str) for value in saved.values()):
        # The earlier file, one set of passwords for whatever database ran last: keep only those
        # that still work in this database (load_users checks), and file them under it.
        return {"": saved}
    return {key: value for key, value in saved.items() if isinstance(value, dict)}


def write_credentials(path: Path, credentials: dict[str, dict[str, str]]) -> None:
    """Write the file readable by its owner only, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp creates the file readable by the owner only, never open to others for a moment.
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps(credentials, indent=2, sort_keys=True))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    path.chmod(0o600)


class Command(BaseCommand):
    help = "Create invented demo stories and demo staff accounts. Existing data is kept."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even though DEBUG is off (for tests); never use this on a production site.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError("Refusing to load demo content with DEBUG off: this looks like a production site.")
        if not settings.DEBUG and "DEMO_CREDENTIALS_FILE" not in os.environ:
            # Tests run without DEBUG: they must never write to the developer's own file.
            raise CommandError(
                f"Without DEBUG, set DEMO_CREDENTIALS_FILE: {DEFAULT_CREDENTIALS_FILE} is the developer's `make run`."
            )
        with transaction.atomic():
            self.load_content()
            load_demo_campaigns()
            passwords = self.load_users()
        self.print_sign_in(passwords)

    def load_content(self) -> None:
        for data in THEMES:
            Theme.objects.get_or_create(slug=data["slug"], defaults=data)
        for data in CONTENT_WARNINGS:
            ContentWarning.objects.get_or_create(slug=data["slug"], defaults=data)

        storytellers = {}
        for data in STORYTELLERS:
            storyteller = Storyteller.objects.filter(pseudonym_en=data["pseudonym_en"]).first()
            if storyteller is None:
                storyteller = self.create_storyteller(data)
            storytellers[data["key"]] = storyteller

        now = timezone.now()
        for data in STORIES:
            if Story.objects.filter(slug=data["slug"]).exists():
                continue
            story = Story(
                slug=data["slug"],
                kind=data.get("kind", Story.Kind.SERIAL),
                storyteller=storytellers[data["storyteller"]],
                original_language=data["original_language"],
                title_en=data["title_en"],
                title_ko=data["title_ko"],
                summary_en=data["summary_en"],
                summary_ko=data["summary_ko"],
                is_complete=data["is_complete"],
                is_featured=data["is_featured"],
                status=Story.Status.PUBLISHED,
            )
            story.full_clean()
            story.save()
            story.themes.set(Theme.objects.filter(slug__in=data["themes"]))
            story.content_warnings.set(ContentWarning.objects.filter(slug__in=data["content_warnings"]))
            translation_services.translation_approve_all_existing(obj=story, by=None)
            for part_data in data["parts"]:
                self.create_part(story, part_data, now)

    def create_part(self, story: Story, data: dict, now) -> Part:
        workflow_keys = {"days_ago", "body_ko_at_translation", "korean_in_review"}
        fields = {key: value for key, value in data.items() if key not in workflow_keys}
        korean = None
        if data.get("korean_in_review"):
            korean = {name: fields.pop(f"{name}_ko") for name in ("title", "summary", "body")}
        final_body_ko = fields.get("body_ko")
        if data.get("body_ko_at_translation"):
            fields["body_ko"] = data["body_ko_at_translation"]
        part = Part(story=story, **fields)
        services.part_publish(part=part, at=now - datetime.timedelta(days=data["days_ago"]))
        translation_services.translation_approve_all_existing(obj=part, by=None)
        if data.get("body_ko_at_translation"):
            # The storyteller added to her original after the translation was approved.
            part.body_ko = final_body_ko
            services.part_publish(part=part)
        if korean:
            translation_services.translation_save_draft(obj=part, language="ko", text=korean, by=None)
            translation_services.translation_submit(obj=part, language="ko", by=None)
        return part

    def create_storyteller(self, data: dict) -> Storyteller:
        storyteller = Storyteller(
            original_language=data["original_language"],
            pseudonym_en=data["pseudonym_en"],
            pseudonym_ko=data["pseudonym_ko"],
            bio_en=data["bio_en"],
            bio_ko=data["bio_ko"],
        )
        storyteller.full_clean()
        storyteller.save()
        StorytellerIdentity.objects.create(storyteller=storyteller, **data["identity"])
        translation_services.translation_approve_all_existing(obj=storyteller, by=None)
        consent = data["consent"]
        today = timezone.localdate()
        services.consent_record(
            storyteller=storyteller,
            decision=Consent.Decision.GIVEN,
            recorded_by=None,
            review_by=today + datetime.timedelta(days=365),
            covers_web=True,
            covers_english=True,
            covers_korean=True,
            covers_photos=consent.get("photos", False),
            covers_advocacy=consent.get("advocacy", False),
            note="Demo: consent given at interview.",
            recorded_at=timezone.now() - datetime.timedelta(days=90),
        )
        if consent["decision"] == Consent.Decision.WITHDRAWN:
            services.consent_record(
                storyteller=storyteller,
                decision=Consent.Decision.WITHDRAWN,
                recorded_by=None,
                note="Demo: the storyteller asked for her story to be taken down.",
            )
        return storyteller

    def load_users(self) -> dict[str, str]:
        """Create the demo staff accounts once, each with a password generated then and kept in a private file.

        The file keeps one set of passwords per database, so setting up another database (the test pass
        on PostgreSQL, say) never replaces the passwords of this one.
        """
        path = credentials_path()
        credentials = read_credentials(path)
        database = database_identity()
        earlier = credentials.pop("", {})
        saved = credentials.setdefault(database, {})
        User = get_user_model()
        for username, group_name in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            if not created and username not in saved and username in earlier and user.check_password(earlier[username]):
                saved[username] = earlier[username]
            if created or username not in saved:
                saved[username] = secrets.token_urlsafe(12)
                user.set_password(saved[username])
                user.is_staff = True
                user.save()
            user.groups.add(Group.objects.get(name=group_name))
        write_credentials(path, credentials)
        return saved

    def print_sign_in(self, passwords: dict[str, str]) -> None:
        self.stdout.write(self.style.SUCCESS("Demo content is ready."))
        self.stdout.write(f"Sign in to the back office at {settings.SITE_URL}/admin/ as:")
        for username, group_name in DEMO_USERS:
            self.stdout.write(f"  {group_name:<17} {username:<22} password: {passwords[username]}")
        self.stdout.write(
            f"(Passwords were generated when this database was set up, and are kept for it in {credentials_path()}.)"
        )
        self.stdout.write(
            "Consent officers also give a code from an authenticator app: at the first sign-in the back office "
            "shows the key to add to one (docs/back-office.md says how to get a code without a phone)."
        )
