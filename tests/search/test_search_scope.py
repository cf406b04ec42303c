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


def test_the_page_says_when_short_words_left_older_parts_out(db, client, monkeypatch):
    now = timezone.now()
    story = make_story()
    for n in range(3):
        make_part(
            story=story,
            body_en=f"An ox by the river {n}.",
            body_ko=f"강가의 집 {n}",
            published_at=now - datetime.timedelta(days=n + 1),
        )
    notice = {
        "en": "Words of one or two letters are looked for in the newest 2 parts only",
        "ko": "가장 최근의 2편에서만",
    }
    # Every part looked at: nothing to say.
    for language in ("en", "ko"):
        html = client.get(f"/{language}/search/", {"q": "강" if language == "ko" else "ox"}).content.decode()
        assert notice[language] not in html
    monkeypatch.setattr(querysets, "SHORT_QUERY_SCOPE", 2)
    for language, query in (("en", "ox"), ("ko", "강")):
        html = client.get(f"/{language}/search/", {"q": query}).content.decode()
        assert notice[language] in html
        assert "2 parts found" in html or "2편" in html
        # A longer word searches every part: no notice.
        longer = client.get(f"/{language}/search/", {"q": f"{query} {'river' if language == 'en' else '강가의'}"})
        assert notice[language] not in longer.content.decode()
    # Exactly as many parts as the scope: none left out, nothing to say.
    monkeypatch.setattr(querysets, "SHORT_QUERY_SCOPE", 3)
    assert notice["en"].replace("2", "3") not in client.get("/en/search/", {"q": "ox"}).content.decode()


def test_a_result_title_keeps_its_dash_with_the_part_number(db, client):
    story = make_story()
    make_part(story=story, body_en="A lantern by the river.", body_ko="강가의 등불")
    for language, query in (("en", "lantern"), ("ko", "등불")):
        html = client.get(f"/{language}/search/", {"q": query}).content.decode()
        title = html[html.index('class="search-result__title"') :]
        title = title[: title.index("</h2>")]
        # The dash never starts a line: a no-break space ties it to the number before it.
        assert "&nbsp;— " in title and " — " not in title
