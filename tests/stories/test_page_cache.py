"""The public page cache: pages stay warm through edits to what they do not show, go stale at once
when what they show changes, never keep a page a concurrent write made stale, cost one Redis round
trip on a hit, ignore parameters they do not read, and answer when the cache cannot."""

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.core import signing
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from advocacy.forms import MIN_FILL_SECONDS, STARTED_SALT
from advocacy.models import Action, ActionCount, Subscriber
from archive.i18n import absolute_url
from stories import caching, services, views
from stories.models import Consent, Part, Story, Theme
from tests.advocacy.conftest import make_action, make_campaign
from tests.conftest import first_sitemap_page, make_part, make_story, make_storyteller, sitemap_page_of
from tests.stories.test_safety import shared_redis_cache  # noqa: F401 (a fixture)
from translations.models import Translation

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def url_in(obj, language):
    with translation.override(language):
        return obj.get_absolute_url()


def queries_for(client, url: str) -> tuple[int, str]:
    """Fetch a page; return how many queries it cost (none when served from the cache) and its text."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context), response.content.decode()


def is_warm(client, url: str) -> bool:
    return queries_for(client, url)[0] == 0


@pytest.fixture(params=["locmem", "redis"])
def any_cache(request, db):
    """Each test twice: on the in-process cache of development, and on the Redis production shares."""
    if request.param == "redis":
        return request.getfixturevalue("shared_redis_cache")
    return cache


@pytest.fixture
def unreachable_cache(settings):
    """A Redis cache on a port nobody listens on; forget the invalidations it could not take afterwards."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    yield
    caching._undelivered.clear()


# --- Warm through edits to what a page does not show, stale at once when what it shows changes ---


def test_every_public_page_is_served_from_the_cache_the_second_time(client, any_cache):
    part = make_part()
    campaign = make_campaign(stories=[part.story])
    make_action(campaign=campaign, kind=Action.Kind.DONATE)
    urls = ["/en/", "/ko/stories/", "/en/feed/", "/sitemap.xml", first_sitemap_page("parts")]
    urls += [url_in(part, "ko"), url_in(part.story, "en"), url_in(campaign, "en")]
    for url in urls:
        cold, html = queries_for(client, url)
        assert cold > 0
        assert queries_for(client, url) == (0, html)


def test_editing_one_story_leaves_another_storys_pages_warm(client, any_cache):
    edited, other = make_part(), make_part()
    pages = {p: [url_in(p, "en"), url_in(p.story, "en"), url_in(p, "ko")] for p in (edited, other)}
    for url in pages[edited] + pages[other]:
        client.get(url)

    story = edited.story
    story.title_en = "A corrected title"
    story.save()

    assert all(is_warm(client, url) for url in pages[other])
    assert "A corrected title" in client.get(url_in(edited.story, "en")).content.decode()
    assert "A corrected title" in client.get(url_in(edited, "en")).content.decode()


def test_sign_ups_and_donate_link_edits_leave_story_pages_without_that_campaign_warm(client, any_cache):
    shown, elsewhere = make_part(), make_part()
    campaign = make_campaign(stories=[shown.story])
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    make_action(campaign=campaign, kind=Action.Kind.NEWSLETTER)
    quiet = [url_in(elsewhere, "en"), url_in(elsewhere.story, "en"), url_in(elsewhere, "ko")]
    for url in [*quiet, url_in(shown, "en"), url_in(campaign, "en")]:
        client.get(url)

    # The form's signed timestamp, as if the reader took their time (the sign-up's minimum fill time).
    started = signing.dumps(int((time.time() - MIN_FILL_SECONDS - 5) * 1000), salt=STARTED_SALT)
    fields = {"email": "reader@example.org", "website": "", "campaign": campaign.slug, "started": started}
    response = client.post("/en/newsletter/", fields)
    assert response.status_code == 302
    assert Subscriber.objects.exists() and ActionCount.objects.filter(campaign=campaign).exists()
    assert all(is_warm(client, url) for url in [*quiet, url_in(shown, "en"), url_in(campaign, "en")])

    donate.url = "https://donate.example.org/new-page"
    donate.button_label_en = "Give to the new appeal"
    donate.save()
    assert all(is_warm(client, url) for url in quiet)
    # The pages that show the campaign show the new button at once.
    for url in (url_in(campaign, "en"), url_in(shown, "en")):
        assert "Give to the new appeal" in client.get(url).content.decode()


def test_a_campaign_that_goes_live_or_is_featured_reaches_the_story_pages(client, any_cache):
    part = make_part()
    url = url_in(part, "en")
    client.get(url)
    featured = make_campaign(is_featured=True)
    make_action(campaign=featured, kind=Action.Kind.DONATE)
    assert featured.title_en in client.get(url).content.decode()


def test_publishing_a_part_reaches_the_lists_and_its_story_at_once(client, any_cache):
    first = make_part()
    second_page = sitemap_page_of("parts", first.pk + 1)
    for url in ("/en/", "/en/stories/", "/en/feed/", "/sitemap.xml", second_page, url_in(first.story, "en")):
        client.get(url)
    second = make_part(story=first.story, title_en="A new instalment")
    newcomer = make_part(title_en="Somebody else's first part")
    assert "A new instalment" in client.get(url_in(first.story, "en")).content.decode()
    assert newcomer.story.slug in client.get("/en/stories/").content.decode()
    assert "Somebody else" in client.get("/en/").content.decode()
    assert "A new instalment" in client.get("/en/feed/").content.decode()
    assert second.pk == first.pk + 1
    assert url_in(second, "en") in client.get(second_page).content.decode()


def test_a_lapsed_or_narrowed_consent_reaches_every_page_that_showed_the_story(client, any_cache):
    storyteller = make_storyteller()
    part = make_part(story=make_story(storyteller=storyteller))
    korean = [url_in(part, "ko"), url_in(part.story, "ko"), "/ko/", "/ko/stories/", "/ko/feed/"]
    for url in korean:
        client.get(url)
    services.consent_record(
        storyteller=storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=30),
        covers_web=True,
        covers_english=True,
        covers_korean=False,
    )
    assert client.get(url_in(part, "ko")).status_code == 404
    for url in korean[2:]:
        assert part.story.slug not in client.get(url).content.decode()
    assert client.get(url_in(part, "en")).status_code == 200


# --- Parameters ----------------------------------------------------------------------------------


def test_unknown_query_parameters_neither_render_nor_store_a_page(client, any_cache):
    make_part()
    cold, html = queries_for(client, "/en/stories/")
    assert cold > 0
    for _ in range(3):
        assert queries_for(client, f"/en/stories/?x={uuid.uuid4().hex}&utm_source=mail") == (0, html)
    assert queries_for(client, f"/en/?{uuid.uuid4().hex}=1")[0] > 0  # the home page's own first render
    assert queries_for(client, f"/en/?fbclid={uuid.uuid4().hex}")[0] == 0
    if isinstance(caches["default"], LocMemCache):
        entries = len(cache._cache)
        client.get(f"/en/stories/?x={uuid.uuid4().hex}")
        assert len(cache._cache) == entries


def test_declared_parameters_keep_a_page_each(client, any_cache, monkeypatch):
    monkeypatch.setattr(views.StoryListView, "paginate_by", 1)
    theme = Theme.objects.create(slug="family", name_en="Family", name_ko="가족")
    older, newer = make_part().story, make_part().story
    older.themes.add(theme)
    first = client.get("/en/stories/").content.decode()
    second = client.get("/en/stories/?page=2").content.decode()
    themed = client.get("/en/stories/?theme=family").content.decode()
    assert newer.slug in first and older.slug not in first
    assert older.slug in second
    assert older.slug in themed and newer.slug not in themed
    assert queries_for(client, "/en/stories/?utm=1&theme=family&page=1&x=2")[0] > 0  # page=1 is its own entry
    assert queries_for(client, "/en/stories/?theme=family&ref=feed") == (0, themed)


def test_a_declared_parameter_with_an_odd_value_is_answered_but_never_kept(client, any_cache):
    make_part()
    for value in ("<script>", "x" * 101, "한국"):
        for _ in range(2):
            with CaptureQueriesContext(connection) as context:
                assert client.get("/en/stories/", {"theme": value}).status_code == 404
            assert len(context) > 0


# --- The race between a render and a write ---------------------------------------------------------


def test_a_write_committed_while_a_page_renders_never_leaves_that_page_served(
    client, any_cache, monkeypatch, django_capture_on_commit_callbacks
):
    part = make_part()
    url = url_in(part.story, "en")
    read = views.serial_of

    def read_then_someone_else_writes(*args, **kwargs):
        rows = read(*args, **kwargs)  # the page has read the story
        # ...and an editor's change on another server commits before this page reads the tag versions.
        with django_capture_on_commit_callbacks(execute=True):
            Story.objects.filter(pk=part.story.pk).update(title_en="The title after the edit")
            caching.invalidate(f"stories.story:{part.story.pk}")
        return rows

    monkeypatch.setattr(views, "serial_of", read_then_someone_else_writes)
    stale = client.get(url).content.decode()
    assert "The title after the edit" not in stale  # rendered from the rows as they were
    monkeypatch.setattr(views, "serial_of", read)

    fresh = client.get(url).content.decode()
    assert "The title after the edit" in fresh
    assert queries_for(client, url) == (0, fresh)


def test_a_page_is_kept_when_no_write_came_during_its_render(rf, any_cache):
    story = make_story()
    calls = []

    @caching.cache_public_page
    def view(request):
        calls.append(1)
        return HttpResponse(Story.objects.get(pk=story.pk).title_en)

    for _ in range(3):
        assert view(rf.get("/en/page/")).content.decode() == story.title_en
    assert len(calls) == 1
    caching.invalidate(f"stories.story:{story.pk}")
    view(rf.get("/en/page/"))
    assert len(calls) == 2


# --- One round trip on a hit --------------------------------------------------------------------


def test_a_cache_hit_is_one_redis_command(client, db, shared_redis_cache, monkeypatch):  # noqa: F811
    part = make_part()
    url = url_in(part, "en")
    sent = []
    execute = redis.Redis.execute_command

    def counting(self, *args, **options):
        sent.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    first = client.get(url)
    assert "EVALSHA" in sent  # the miss: a failed hit, then one script that checks and stores
    sent.clear()
    with CaptureQueriesContext(connection) as context:
        hit = client.get(url)
    assert sent == ["EVALSHA"]
    assert len(context) == 0
    assert hit.content == first.content
    # The entry carries its tags' keys and versions before the page, readable by the script.
    with translation.override("en"):
        key = caching.page_key(RequestFactory().get(url))
    raw = shared_redis_cache._cache.get_client(write=True).get(shared_redis_cache.make_and_validate_key(key))
    header = raw.split(b"\n", 1)[0].decode()
    assert shared_redis_cache.make_and_validate_key(f"archive:tag:stories.part:{part.pk}") in header.split("\t")
    # Versions are plain digits, as Django's own incr() and get() read them.
    assert isinstance(shared_redis_cache.get(f"archive:tag:stories.part:{part.pk}"), int)


def test_a_changed_tag_version_in_redis_makes_the_page_miss(client, db, shared_redis_cache):  # noqa: F811
    part = make_part()
    url = url_in(part, "en")
    client.get(url)
    assert is_warm(client, url)
    shared_redis_cache.incr(f"archive:tag:stories.part:{part.pk}")
    assert not is_warm(client, url)
    assert is_warm(client, url)


# --- When the cache cannot be reached, or is turned off -------------------------------------------


def test_public_pages_answer_when_the_cache_cannot_be_reached(client, db, unreachable_cache):
    part = make_part()
    campaign = make_campaign(stories=[part.story])
    story = part.story
    story.title_en = "Saved while the cache is down"
    story.save()  # the invalidation is logged and kept, never raised
    assert caching._undelivered
    urls = ["/en/", "/en/stories/?page=1", "/en/feed/", "/sitemap.xml", first_sitemap_page("stories")]
    urls += [url_in(part, "en"), url_in(story, "ko")]
    for url in [*urls, url_in(campaign, "en")]:
        assert client.get(url).status_code == 200, url
    assert "Saved while the cache is down" in client.get(url_in(story, "en")).content.decode()


def test_an_invalidation_the_cache_missed_is_delivered_before_the_next_page(client, db, settings):
    part = make_part()
    url = url_in(part.story, "en")
    client.get(url)
    working = settings.CACHES
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    story = part.story
    story.title_en = "Edited during the outage"
    story.save()
    assert caching._undelivered
    settings.CACHES = working  # the same in-process cache, with the old page still in it
    assert "Edited during the outage" in client.get(url).content.decode()
    assert not caching._undelivered


def test_zero_seconds_turns_the_page_cache_off(client, db, settings, monkeypatch):
    part = make_part()
    url = url_in(part, "en")
    client.get(url)  # stored while the cache was on
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0

    def no_cache():
        raise AssertionError("the page cache was used")

    monkeypatch.setattr(caching, "pages", no_cache)
    Part.objects.filter(pk=part.pk).update(title_en="Changed without a signal")
    for _ in range(2):
        cold, html = queries_for(client, url)
        assert cold > 0
        assert "Changed without a signal" in html


# --- What is never shared, and what is never kept ---------------------------------------------------


def test_a_page_that_read_the_session_or_set_a_cookie_is_never_shared(rf, db):
    from django.contrib.sessions.backends.db import SessionStore

    story = make_story()
    calls = []

    @caching.cache_public_page
    def personal(request):
        calls.append(1)
        Story.objects.get(pk=story.pk)
        return HttpResponse(request.session.get("name", "nobody"))

    @caching.cache_public_page
    def cookie(request):
        calls.append(1)
        Story.objects.get(pk=story.pk)
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    for view, path in ((personal, "/en/a/"), (cookie, "/en/b/")):
        calls.clear()
        for _ in range(2):
            request = rf.get(path)
            request.session = SessionStore()
            view(request)
        assert len(calls) == 2


def test_a_page_that_showed_no_object_is_never_kept(rf, db):
    make_story()
    calls = []

    @caching.cache_public_page
    def counted(request):
        calls.append(1)
        return HttpResponse(str(Story.objects.count()))

    counted(rf.get("/en/count/"))
    counted(rf.get("/en/count/"))
    assert len(calls) == 2


# --- Which tags a change makes stale --------------------------------------------------------------


@pytest.fixture
def invalidated(monkeypatch):
    calls = []
    monkeypatch.setattr(caching, "invalidate", lambda *tags: calls.append(set(tags)))
    return calls


def test_each_change_invalidates_the_tags_of_what_pages_show(db, invalidated):
    part = make_part()
    story, storyteller = part.story, part.story.storyteller
    campaign = make_campaign()
    invalidated.clear()

    part.save()
    assert invalidated.pop() == {f"stories.part:{part.pk}", f"stories.story:{story.pk}"}
    consent = services.consent_withdraw(storyteller=storyteller, reason="Withdrawn.", recorded_by=None)
    assert {f"stories.consent:{consent.pk}", f"stories.storyteller:{storyteller.pk}"} in invalidated
    invalidated.clear()

    campaign.save()
    assert {f"advocacy.campaign:{campaign.pk}", "advocacy.campaign:list"} in invalidated
    invalidated.clear()
    action = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    assert {f"advocacy.action:{action.pk}", f"advocacy.campaign:{campaign.pk}"} in invalidated
    invalidated.clear()

    theme = Theme.objects.create(slug="work", name_en="Work", name_ko="일")
    invalidated.clear()
    story.themes.add(theme)
    assert invalidated == [
        {
            f"stories.story:{story.pk}",
            f"stories.storyteller:{storyteller.pk}",
            f"stories.theme:{theme.pk}",
            "publications",
            # The story joins the theme's stories, among which related stories are chosen (stories.related).
            f"stories.theme:{theme.pk}:stories:en",
            f"stories.theme:{theme.pk}:stories:ko",
        }
    ]
    invalidated.clear()

    translation_row = Translation.objects.filter(object_id=part.pk, content_type__model="part").first()
    translation_row.save()
    assert {f"stories.part:{part.pk}"} in invalidated
    invalidated.clear()

    Subscriber.objects.create(email="someone@example.org")
    ActionCount.objects.create(campaign=campaign, day=timezone.localdate(), kind=ActionCount.Kind.DONATE_CLICKED)
    assert invalidated == []


def test_objects_tag_a_page_only_while_a_cached_page_renders(db, django_assert_num_queries):
    part = make_part()
    assert caching._shown.get() is None
    Part.objects.get(pk=part.pk)  # outside a render: nothing recorded, nothing to record it in

    def view(request):
        # Deferred fields are never loaded to find a tag.
        list(Part.objects.only("pk").filter(pk=part.pk))
        list(Part.objects.select_related("story").filter(pk=part.pk))
        caching.depends_on("publications")
        return HttpResponse("ok")

    with django_assert_num_queries(2):
        _response, shown = caching._render(view, RequestFactory().get("/"), (), {}, [])
    assert shown == {
        f"stories.part:{part.pk}",
        f"stories.story:{part.story_id}",
        f"stories.storyteller:{part.story.storyteller_id}",
        "publications",
    }
    with pytest.raises(ValueError):
        caching.depends_on("not a tag")


# --- Links name the configured site ---------------------------------------------------------------


def test_absolute_urls_name_the_configured_site(settings):
    assert absolute_url("/en/stories/") == "http://testserver/en/stories/"
    settings.SITE_URL = "https://archive.example.org"
    assert absolute_url("/ko/stories/이야기/") == "https://archive.example.org/ko/stories/%EC%9D%B4%EC%95%BC%EA%B8%B0/"
    for not_a_path in ("stories/", "//evil.example/", "https://evil.example/"):
        with pytest.raises(ValueError):
            absolute_url(not_a_path)


def run_production_settings(**env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "SITE_URL"}}
    environment.update(
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="archive.example.org",
        DATABASE_URL="postgres://user@db.example.org/archive",
        REDIS_URL="redis://cache.example.org:6379/0",
        **env,
    )
    code = "import archive.settings.production as s; print(s.SITE_URL)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True, check=False
    )


def test_production_refuses_to_start_without_the_site_url():
    for value in (None, "archive.example.org", "https://archive.example.org/en/"):
        result = run_production_settings(**({} if value is None else {"SITE_URL": value}))
        assert result.returncode != 0
        assert "SITE_URL must be set" in result.stderr
    result = run_production_settings(SITE_URL="https://archive.example.org/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://archive.example.org"


def test_a_hit_is_served_before_the_inner_middleware_with_every_header_it_added(client, any_cache, monkeypatch):
    from django.contrib.sessions.middleware import SessionMiddleware

    part = make_part()
    url = url_in(part, "ko")
    miss = client.get(url)
    sessions = []
    original = SessionMiddleware.process_request
    monkeypatch.setattr(
        SessionMiddleware, "process_request", lambda self, request: sessions.append(1) or original(self, request)
    )
    hit = client.get(url)
    assert sessions == [], "a hit never reaches the session middleware"
    assert hit.content == miss.content
    for header in ("Content-Security-Policy", "X-Frame-Options", "Content-Language", "Referrer-Policy"):
        assert hit.get(header) == miss.get(header), header
    assert hit["Content-Language"] == "ko"


def test_a_value_kept_until_the_next_write_is_read_again_only_when_a_write_or_its_expiry_came(any_cache, monkeypatch):
    """Each process keeps a copy of what it read, and serves it while the shared write counter holds."""
    computed = []

    def compute():
        computed.append(len(computed))
        return {"computed": len(computed)}

    name = f"test:kept:{uuid.uuid4().hex}"
    first = caching.kept_until_next_write(name, compute, seconds=60)
    backend = caches["default"]
    reads = []
    read = backend.get

    def counted(key, *args, **kwargs):
        reads.append(key)
        return read(key, *args, **kwargs)

    monkeypatch.setattr(backend, "get", counted)
    assert caching.kept_until_next_write(name, compute, seconds=60) == first
    assert reads == [caching.WRITES] and len(computed) == 1  # the counter only, never the value again

    # Another app server, whose copy is not this one's: it reads the shared value, and computes nothing.
    monkeypatch.setattr(caching, "_kept", {})
    reads.clear()
    assert caching.kept_until_next_write(name, compute, seconds=60) == first
    assert len(reads) == 2 and len(computed) == 1

    # A write on any server moves the shared counter: every server's copy is stale at its next call.
    caching.invalidate("stories.part:1")
    second = caching.kept_until_next_write(name, compute, seconds=60)
    assert second != first and len(computed) == 2

    # The moment the shared value expires, the copy does too, even with no write.
    reads.clear()
    later = time.time() + 61
    monkeypatch.setattr(caching.time, "time", lambda: later)
    caching.kept_until_next_write(name, compute, seconds=60)
    assert len(reads) == 2
