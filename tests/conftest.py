"""Shared fixtures and small factories for the whole suite."""

import datetime
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from stories import services
from stories.models import Consent, Part, Story, Storyteller, StorytellerIdentity
from translations.services import translation_approve_all_existing

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _english_between_tests():
    """Undo the language a request to a /ko/ page left active in this thread."""
    from django.utils import translation

    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache, as the database starts empty."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache

    cache.clear()
    # Tests that flush the database (the browser tests) recreate content types under new ids;
    # the per-process ContentType cache must not hand the old ones to the next test.
    ContentType.objects.clear_cache()
    yield
    cache.clear()


@pytest.fixture
def now():
    """The moment tests treat as now; time-relative data is built from it."""
    return timezone.now()


def approve_translations(obj):
    """Approve the text an object already has in every language other than its original."""
    translation_approve_all_existing(obj=obj, by=None)
    return obj


def make_storyteller(*, consent: dict | None = None, identity: dict | None = None, **fields) -> Storyteller:
    """Create a storyteller whose consent is active in both languages unless told otherwise."""
    n = next(_counter)
    storyteller = Storyteller.objects.create(
        pseudonym_en=fields.pop("pseudonym_en", f"Teller {n}"),
        pseudonym_ko=fields.pop("pseudonym_ko", f"이야기꾼 {n}"),
        bio_en=fields.pop("bio_en", "A short invented bio."),
        bio_ko=fields.pop("bio_ko", "지어낸 짧은 소개."),
        **fields,
    )
    StorytellerIdentity.objects.create(storyteller=storyteller, **(identity or {}))
    consent_fields = {
        "decision": Consent.Decision.GIVEN,
        "review_by": timezone.localdate() + datetime.timedelta(days=365),
        "covers_web": True,
        "covers_english": True,
        "covers_korean": True,
        "covers_photos": False,
        "covers_advocacy": True,
        "recorded_at": timezone.now() - datetime.timedelta(days=30),
        **(consent or {}),
    }
    services.consent_record(storyteller=storyteller, recorded_by=None, **consent_fields)
    return approve_translations(storyteller)


def make_story(*, storyteller: Storyteller | None = None, **fields) -> Story:
    """Create a published story with titles in both languages."""
    n = next(_counter)
    defaults = {
        "slug": f"story-{n}",
        "title_en": f"Story {n}",
        "title_ko": f"이야기 {n}",
        "summary_en": "An invented summary.",
        "summary_ko": "지어낸 요약.",
        "status": Story.Status.PUBLISHED,
        "original_language": "en",
    }
    defaults.update(fields)
    return approve_translations(Story.objects.create(storyteller=storyteller or make_storyteller(), **defaults))


def make_part(*, story: Story | None = None, number: int | None = None, **fields) -> Part:
    """Create a part published a day ago, with text in both languages."""
    story = story or make_story()
    if number is None:
        number = (story.parts.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    defaults = {
        "title_en": f"Part title {number}",
        "title_ko": f"{number}편 제목",
        "summary_en": "What happens in this part.",
        "summary_ko": "이 편에서 일어나는 일.",
        "body_en": f"The body of part {number}, invented for tests.",
        "body_ko": f"{number}편의 본문, 시험용으로 지어낸 글.",
        "status": Part.Status.PUBLISHED,
        "published_at": timezone.now() - datetime.timedelta(days=1),
    }
    defaults.update(fields)
    return approve_translations(Part.objects.create(story=story, number=number, **defaults))


@pytest.fixture
def storyteller(db):
    return make_storyteller()


@pytest.fixture
def story(storyteller):
    return make_story(storyteller=storyteller)


@pytest.fixture
def part(story):
    return make_part(story=story)


def make_staff(group_name: str, username: str | None = None):
    """Create a staff user in one of the groups the migrations created."""
    user = get_user_model().objects.create_user(
        username=username or f"{group_name.lower().replace(' ', '-')}-{next(_counter)}",
        password="not-a-real-password-1",
        is_staff=True,
    )
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(db):
    return make_staff("Editors")


@pytest.fixture
def translator(db):
    return make_staff("Translators")


@pytest.fixture
def consent_officer(db):
    return make_staff("Consent officers")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the tests that flush the database (the browser tests) after every other database test.

    pytest-django orders tests this way too, but it decides before every fixture closure is known,
    and a flushed database has lost the groups and content types the migrations created.


    A test that says ``@pytest.mark.django_db(transaction=True)`` counts as flushing, and a plain
    ``django_db`` mark as a database test: left among the tests without a database, they ran after
    the flushes, where a release step a test runs in a subprocess re-created the content types
    under new ids and the next restore of the migrated rows collided with them (PostgreSQL only).
    Every flushing test must restore those rows when it ends (serialized rollback), or the tests
    after it would run without them.
    """

    def order(item) -> int:
        names = getattr(item, "fixturenames", ())
        marker = item.get_closest_marker("django_db")
        if "live_server" in names or "transactional_db" in names or (marker and marker.kwargs.get("transaction")):
            restores = "django_db_serialized_rollback" in names or (marker and marker.kwargs.get("serialized_rollback"))
            if not restores:
                raise pytest.UsageError(f"{item.nodeid} flushes the database without serialized_rollback")
            return 1
        return 0 if "db" in names or marker else 2

    items.sort(key=order)


def first_sitemap_page(section: str) -> str:
    """The path of the first page of a sitemap section (pages are ranges of ids, so numbers vary)."""
    from archive.sitemaps import SECTIONS

    pages = SECTIONS[section].pages(timezone.now())
    return f"/sitemap-{section}-{pages[0]}.xml"


def sitemap_page_of(section: str, pk: int) -> str:
    """The path of the sitemap page that lists the object with this id."""
    from stories.sitemaps import objects_per_page

    return f"/sitemap-{section}-{pk // objects_per_page() + 1}.xml"


def sitemap_pages(client) -> list[str]:
    """The sitemap index and every section page it lists, as paths a test client can fetch."""
    import re

    from django.conf import settings

    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    site = settings.SITE_URL.rstrip("/")
    sections = re.findall(r"<loc>([^<]+)</loc>", index.content.decode())
    assert sections and all(location.startswith(site) for location in sections)
    return ["/sitemap.xml", *(location.removeprefix(site) for location in sections)]


def sitemap_text(client) -> str:
    """Everything the sitemap lists, across the index and all its pages."""
    return "\n".join(client.get(page).content.decode() for page in sitemap_pages(client))


def give_second_factor(client, user) -> None:
    """Mark the client's session as having given its second factor, as the back office does after a right code.

    Uses the user's enrolled authenticator app, or enrols one (archive.backoffice).
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(autouse=True)
def _second_factor_on_force_login(monkeypatch):
    """``client.force_login()`` signs in those who need a second factor with it given (consent officers,
    superusers), so that tests reach the pages they test; ``second_factor=False`` leaves it owed."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from archive.backoffice import needs_second_factor

    force_login = Client.force_login

    def force_login_with_second_factor(self, user, backend=None, *, second_factor=True):
        force_login(self, user, backend)
        # A fresh copy: asking for permissions caches them on the object the test holds.
        if second_factor and needs_second_factor(get_user_model().objects.get(pk=user.pk)):
            give_second_factor(self, user)

    monkeypatch.setattr(Client, "force_login", force_login_with_second_factor)
