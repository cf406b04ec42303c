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


def test_a_short_query_ranks_the_newest_matches_of_its_scope_as_a_long_one_does(db, monkeypatch):
    # The short path picks the newest matches in Python (search.querysets.best): the same ids, in the
    # same order, as ORDER BY -published_at, -part_id and the ranking would give.
    monkeypatch.setattr(querysets, "MOST_RANKED", 4)
    now = timezone.now()
    story = make_story()
    tie = now - datetime.timedelta(days=5)
    parts = [
        make_part(
            story=story,
            body_ko=f"강가의 집 {n}",
            published_at=tie if n in (4, 5) else now - datetime.timedelta(days=10 - n),
        )
        for n in range(7)
    ]
    # The oldest has the word in its title, but is not among the newest four; part 4 is, and ranks first.
    for part, title in ((parts[0], "강 건너"), (parts[4], "강가에서")):
        part.title_ko = title
        part.save()
    make_part(story=story, body_ko="들판", published_at=now)
    found = SearchEntry.objects.found("ko", ["강"])
    ids, more = found.best("ko", ["강"])
    assert more
    # Parts 4 and 5 were published at the same time: the later part is the newer.
    assert [SearchEntry.objects.get(pk=pk).part_id for pk in ids] == [parts[n].pk for n in (4, 6, 5, 3)]
    newest = found.order_by(*querysets.NEWEST).values("pk")[:4]
    assert ids == list(SearchEntry.objects.filter(pk__in=newest).ranked("ko", ["강"]).values_list("pk", flat=True))
    # Exactly as many as are ranked: no "more".
    monkeypatch.setattr(querysets, "MOST_RANKED", 7)
    ids, more = found.best("ko", ["강"])
    assert not more and len(ids) == 7 and SearchEntry.objects.get(pk=ids[0]).part_id == parts[4].pk
