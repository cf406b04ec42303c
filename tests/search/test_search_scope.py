"""A query of short words only looks at the newest SHORT_QUERY_SCOPE entries, and finds every match there."""

import datetime

from django.utils import timezone

from search import querysets
from search.models import SearchEntry
from tests.conftest import make_part, make_story


def test_a_short_query_finds_every_match_among_the_newest_entries_and_none_older(db, monkeypatch):
    now = timezone.now()
    story = make_story()
    parts = [
        make_part(
            story=story, body_ko="강가의 집" if n % 2 else "들판", published_at=now - datetime.timedelta(days=n + 1)
        )
        for n in range(6)
    ]
    found = set(SearchEntry.objects.found("ko", ["강"]).values_list("part_id", flat=True))
    assert found == {parts[n].pk for n in (1, 3, 5)}
    monkeypatch.setattr(querysets, "SHORT_QUERY_SCOPE", 4)
    # The four newest are parts 0 to 3: of those, 1 and 3 hold the word; 5 is older than the scope.
    found = set(SearchEntry.objects.found("ko", ["강"]).values_list("part_id", flat=True))
    assert found == {parts[1].pk, parts[3].pk}
    # With a longer word the index finds them all, whatever their age.
    assert set(SearchEntry.objects.found("ko", ["강가의"]).values_list("part_id", flat=True)) == {
        parts[n].pk for n in (1, 3, 5)
    }
