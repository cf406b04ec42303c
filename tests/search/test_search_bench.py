"""The search section of `make bench` runs on any archive and reports each query it timed."""

from search import bench
from tests.conftest import make_part


def test_the_search_bench_times_common_and_rare_words_in_each_language(db, monkeypatch, settings):
    # The bench times searches, never the page that asks a client to wait (search.views.rate_limit).
    settings.SEARCH_RATE_LIMIT = (1, 60)
    monkeypatch.setattr(bench, "REQUESTS", 2)
    monkeypatch.setattr(bench, "WARM_UP", 0)
    make_part(body_en="my mother and the river in winter", body_ko="어머니와 겨울의 강")
    make_part(body_en="my mother at the border", body_ko="어머니가 국경에서")
    numbers = bench.measure()
    kinds = {(row["language"], row["kind"]): row for row in numbers["queries"]}
    assert kinds["en", "common"]["query"] == "mother" and kinds["en", "common"]["matches"] == 2
    assert kinds["en", "rare"]["matches"] == 1
    assert kinds["ko", "common"]["query"] == "어머니"
    assert kinds["ko", "short (1)"]["matches"] == 1
    assert all(row["status"] == 200 and row["n"] == 2 for row in numbers["queries"])
    lines = bench.report_lines(numbers)
    assert any(line.startswith("| ko | common | 어머니 | 2 |") for line in lines)
