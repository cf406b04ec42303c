"""The front of the page cache (stories.front): the production WSGI application answers a cached page
from one Redis round trip without building a Django request, answers exactly what Django would, and
never answers a page that a withdrawal, an unpublish or any other write made stale."""

import io
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from stories import services
from stories.caching import pages
from stories.front import FRONT_PREFIX, PublicPageFront
from tests.conftest import make_part, make_story
from tests.stories.test_page_cache import url_in
from tests.stories.test_safety import shared_redis_cache  # noqa: F401 (a fixture)


class Counted:
    """Django's WSGI application, counting the requests that reach it (built at the first, after the
    test has changed its settings: middleware reads them once)."""

    def __init__(self) -> None:
        self.handler = None
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        self.handler = self.handler or WSGIHandler()
        return self.handler(environ, start_response)


@pytest.fixture
def front(shared_redis_cache):  # noqa: F811
    """The production application, called as a WSGI server would, inside the test's transaction."""
    django = Counted()
    application = PublicPageFront(django)
    # As Django's test client does: a request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def get(path: str, query: str = "", **headers: str) -> tuple[str, dict, bytes]:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
        }  # fmt: skip
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"], answer["headers"] = status, response_headers

        result = application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return answer["status"], dict(answer["headers"]), body

    get.django = django
    get.redis = shared_redis_cache._cache.get_client(None, write=True)
    get.copies = lambda: len(list(get.redis.scan_iter(f"{shared_redis_cache.key_prefix}:*{FRONT_PREFIX}:*")))
    try:
        yield get
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_a_cached_page_is_answered_in_front_of_django_exactly_as_django_answered_it(front, storyteller):
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    rendered = front(url)  # rendered and stored by Django, then kept by the front
    assert rendered[0] == "200 OK" and front.copies() == 1
    assert front(url) == rendered
    assert front(url) == rendered
    assert front.django.calls == 1
    assert "Content-Security-Policy" in rendered[1] and "ETag" in rendered[1]


def test_a_withdrawal_makes_the_front_copy_stale_at_the_next_request(front, storyteller):
    part = make_part(story=make_story(storyteller=storyteller))
    urls = [url_in(part, "en"), url_in(part, "ko"), url_in(part.story, "en"), "/en/"]
    for url in urls:
        front(url)
        assert front(url)[0] == "200 OK"
    calls = front.django.calls
    services.consent_withdraw(storyteller=storyteller, reason="Withdrawn.", recorded_by=None)
    for url in urls[:3]:
        assert front(url)[0] == "404 Not Found"
    assert part.story.title.encode() not in front("/en/")[2]
    assert front.django.calls == calls + 4


def test_an_edit_makes_the_front_copy_stale_and_the_next_one_is_kept_again(front, storyteller):
    part = make_part(story=make_story(storyteller=storyteller))
    url = url_in(part, "en")
    front(url), front(url)
    part.title_en = "A new title for this part"
    part.save()
    assert b"A new title for this part" in front(url)[2]
    calls = front.django.calls
    assert b"A new title for this part" in front(url)[2]
    assert front.django.calls == calls


def test_unknown_parameters_are_answered_by_django_from_the_cache_and_never_kept(front, storyteller):
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    rendered = front(url)
    for number in range(3):
        assert front(url, f"x={number}")[2] == rendered[2]
    assert front.copies() == 1


def test_conditional_requests_and_other_methods_are_left_to_django(front, storyteller):
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    etag = front(url)[1]["ETag"]
    front(url)
    calls = front.django.calls
    assert front(url, If_None_Match=etag)[0] == "304 Not Modified"
    assert front.django.calls == calls + 1


def test_each_scheme_keeps_its_own_copy_with_the_security_headers_of_that_scheme(front, storyteller, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    secure = front(url, X_Forwarded_Proto="https")
    plain = front(url)
    assert "Strict-Transport-Security" in secure[1] and "Strict-Transport-Security" not in plain[1]
    calls = front.django.calls
    assert front(url, X_Forwarded_Proto="https") == secure
    assert front(url) == plain
    assert front.django.calls == calls


def test_plain_http_redirected_to_https_is_never_kept(front, storyteller, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    assert front(url, X_Forwarded_Proto="https")[0] == "200 OK"
    assert [front(url)[0][:3] for _ in range(2)] == ["301", "301"]
    assert front.copies() == 1


def test_with_the_page_cache_off_every_request_reaches_django(front, storyteller, settings):
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    front(url)
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    front(url), front(url)
    assert front.django.calls == 3


def test_a_write_to_another_story_sends_the_copy_to_the_entry_which_answers_from_the_cache(front, storyteller):
    """A copy is served by a plain read only while nothing at all was written since it was kept; after
    a write elsewhere Django answers it from the entry, which the write left warm, and keeps it again."""
    part = make_part(story=make_story(storyteller=storyteller))
    other = make_part(story=make_story(storyteller=storyteller, slug="another-story"))
    url = url_in(part, "en")
    rendered = front(url)
    assert front(url) == rendered
    calls = front.django.calls
    other.title_en = "Another title"
    other.save()
    renders = []
    with CaptureQueriesContext(connection) as queries:
        assert front(url)[2] == rendered[2]  # from the entry: no render, no query
        renders.append(len(queries))
    assert renders == [0] and front.django.calls == calls + 1
    assert front(url)[2] == rendered[2]
    assert front.django.calls == calls + 1  # kept again


@pytest.mark.parametrize("change", ["counter moved", "counter lost", "copy unstamped"])
def test_a_copy_is_never_served_once_the_write_counter_moved_or_was_lost(front, storyteller, change):
    url = url_in(make_part(story=make_story(storyteller=storyteller)), "en")
    rendered = front(url)
    (copy_key,) = front.redis.scan_iter(f"*{FRONT_PREFIX}:*")
    writes_key = pages().writes_key
    if change == "counter moved":
        front.redis.incr(writes_key)
    elif change == "counter lost":  # evicted: it starts again from the clock, never from a value it had
        front.redis.delete(writes_key)
    else:
        front.redis.set(copy_key, front.redis.get(copy_key).partition(b"\n")[2], keepttl=True)
    calls = front.django.calls
    assert front(url)[2] == rendered[2]
    assert front.django.calls == calls + 1
