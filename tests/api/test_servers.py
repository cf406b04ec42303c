"""The read API under production's application (the page cache's front, Django, the shared Redis cache):
nothing it answers is kept by a server, so a withdrawal is gone at the next request; its rate limit counts
in Redis, which every app server shares."""

import json

from stories import services
from tests.api.conftest import API
from tests.conftest import make_part
from tests.stories.test_page_front import front  # noqa: F401 (a fixture)
from tests.stories.test_safety import shared_redis_cache  # noqa: F401 (a fixture)


def kept_pages(front, cache) -> list:  # noqa: F811
    """Every page the page cache or its front holds, under this test's key prefix."""
    keys = front.redis.scan_iter(f"{cache.key_prefix}:*")
    return [key for key in keys if b"archive:page" in key or b"archive:front" in key]


def test_a_withdrawal_is_gone_at_the_next_request_on_production_s_application(front, shared_redis_cache, story):  # noqa: F811
    make_part(story=story)
    url = f"{API}en/stories/{story.slug}/"
    for _request in range(2):
        status, headers, body = front(url)
        assert status.startswith("200 ") and json.loads(body)["slug"] == story.slug
        assert headers["Cache-Control"] == "no-cache"
    status, _headers, body = front(f"{API}en/stories/")
    assert story.slug in body.decode()
    assert kept_pages(front, shared_redis_cache) == []
    services.consent_withdraw(storyteller=story.storyteller, reason="Asked us to take it down.", recorded_by=None)
    status, _headers, body = front(url)
    assert status.startswith("404 ") and json.loads(body)["code"] == "not_found"
    status, _headers, body = front(f"{API}en/stories/")
    assert status.startswith("200 ") and story.slug not in body.decode()


def test_the_rate_limit_counts_in_the_shared_redis(front, shared_redis_cache, story, settings):  # noqa: F811
    settings.API_RATE_LIMIT = (2, 60)
    assert [front(f"{API}en/themes/")[0][:3] for _request in range(3)] == ["200", "200", "429"]
    counters = [key for key in front.redis.scan_iter(f"{shared_redis_cache.key_prefix}:*advocacy:rate:api:*")]
    assert len(counters) == 1
    # Another app server sees the same count; once the window's counter goes, the client may read again.
    front.redis.delete(*counters)
    assert front(f"{API}en/themes/")[0].startswith("200 ")
