"""The client's address behind proxies, and limits that hold across processes because they live in the cache."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from advocacy import ratelimit


def request(remote="192.0.2.1", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        # No trusted proxy: whatever the client claims is ignored.
        (0, "203.0.113.9", "192.0.2.1"),
        # One proxy appends the client's address; anything left of it came from the client.
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # Two proxies (CDN, then load balancer): the client is second from the right.
        (2, "6.6.6.6, 203.0.113.9, 198.51.100.20", "203.0.113.9"),
        # Fewer entries than proxies: the left-most there is.
        (2, "203.0.113.9", "203.0.113.9"),
        # Missing or garbage: fall back to the connection's address.
        (1, None, "192.0.2.1"),
        (1, "not-an-ip", "192.0.2.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(settings, trusted, forwarded, expected):
    settings.ARCHIVE_TRUSTED_PROXY_COUNT = trusted
    assert ratelimit.client_ip(request(forwarded=forwarded)) == expected


def test_client_key_groups_an_ipv6_client_by_its_64_and_hides_the_address(settings):
    settings.ARCHIVE_TRUSTED_PROXY_COUNT = 0
    one = ratelimit.client_key(request(remote="2001:db8:1:2::1"))
    same_network = ratelimit.client_key(request(remote="2001:db8:1:2:ffff::9"))
    other_network = ratelimit.client_key(request(remote="2001:db8:1:3::1"))
    assert one == same_network != other_network
    assert "2001" not in one
    assert ratelimit.client_key(request(remote="192.0.2.1")) != ratelimit.client_key(request(remote="192.0.2.2"))


def test_limit_counts_in_the_shared_cache_and_resets_with_the_window(monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    results = [ratelimit.hit(scope="test", key="k", limit=3, window=60) for _ in range(4)]
    assert results == [True, True, True, False]
    # The counter is an ordinary cache entry, so every process sharing the cache sees it.
    assert cache.get(f"{ratelimit.KEY_PREFIX}:test:k:{int(clock[0] // 60)}") == 4
    # A window later the old count weighs only the part of its window still within the last 60 s.
    clock[0] += 60
    assert ratelimit.hit(scope="test", key="k", limit=3, window=60)


def test_a_limit_spent_at_the_end_of_a_window_is_still_spent_at_the_start_of_the_next(monkeypatch):
    start = 60 * 20_000.0
    clock = [start + 59.5]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    assert [ratelimit.hit(scope="edge", key="k", limit=3, window=60) for _ in range(3)] == [True] * 3
    # Half a second later the clock is in the next window, and the 3 attempts are still within 60 s.
    clock[0] = start + 60.0
    assert not ratelimit.hit(scope="edge", key="k", limit=3, window=60)
    # They weigh less as they fall out of the last 60 s. Two thirds of the way through they weigh 1, beside
    # this window's refused attempt: one more is allowed, and then none.
    clock[0] = start + 100.0
    assert ratelimit.hit(scope="edge", key="k", limit=3, window=60)
    assert not ratelimit.hit(scope="edge", key="k", limit=3, window=60)
    # A window with no attempts before it counts only its own.
    clock[0] = start + 180.0
    assert [ratelimit.hit(scope="edge", key="k", limit=3, window=60) for _ in range(4)] == [True] * 3 + [False]
