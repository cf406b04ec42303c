"""Search timings for ``make bench``: median and p95 of the search page for common and rare words.

``measure()`` runs inside the measured database (``manage.py search_bench``, under the bench's settings):
it picks, from candidate words of the invented archives, the most and the least frequent word found in
each language, a Korean word of one syllable and of two (no trigram: the short-word path), an
inflected English word (its forms ORed) and a query of two words, then fetches each search page
through Django's whole stack, warm, one at a time.
"""

import statistics
import time

from django.db import connection
from django.test import Client, override_settings

from search.models import SearchEntry
from search.text import query_words

# Words of the invented archives (stories/demo): each language's most and least frequent one found is used.
CANDIDATES = {
    "en": ("mother", "river", "winter", "border", "decision", "hunger", "letter", "sister", "prison", "kitchen",
           "soldier", "train", "market", "rations", "grandmother", "lantern", "orchard"),
    "ko": ("어머니", "겨울", "국경", "배급", "결심", "편지", "동생", "감옥", "부엌", "군인", "기차", "장마당",
           "두만강", "압록강", "할머니", "등불"),
}  # fmt: skip
SHORT = {"ko": ("강", "엄마")}
# An inflected English word, which finds its stem's forms too (search.text.word_forms).
INFLECTED = {"en": ("lanterns",)}
TWO_WORDS = {"en": "winter river", "ko": "배급 겨울"}
REQUESTS = 20
WARM_UP = 2


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def _queries() -> list[tuple[str, str, str, int]]:
    """(language, kind, query, matches) to time."""
    chosen = []
    for code, words in CANDIDATES.items():
        counts = {word: SearchEntry.objects.found(code, [word]).count() for word in words}
        present = sorted((count, word) for word, count in counts.items() if count)
        if present:
            chosen.append((code, "common", present[-1][1], present[-1][0]))
            chosen.append((code, "rare", present[0][1], present[0][0]))
        for word in SHORT.get(code, ()):
            chosen.append((code, f"short ({len(word)})", word, SearchEntry.objects.found(code, [word]).count()))
        for word in INFLECTED.get(code, ()):
            chosen.append((code, "inflected", word, SearchEntry.objects.found(code, [word]).count()))
        query = TWO_WORDS[code]
        chosen.append((code, "two words", query, SearchEntry.objects.found(code, query_words(query)).count()))
    return chosen


def measure() -> dict:
    """Time the search page for each chosen query on this database.

    Without the per-client limit (search.views.rate_limit): the bench sends far more searches a minute
    than a reader, and would time the 429 page.
    """
    with override_settings(SEARCH_RATE_LIMIT=(10**9, 60)):
        return _measure()


def _measure() -> dict:
    client = Client(HTTP_HOST="127.0.0.1")
    rows = []
    for code, kind, query, matches in _queries():
        path = f"/{code}/search/"
        for _ in range(WARM_UP):
            client.get(path, {"q": query})
        samples = []
        status = 200
        for _ in range(REQUESTS):
            started = time.perf_counter()
            status = client.get(path, {"q": query}).status_code
            samples.append(time.perf_counter() - started)
        rows.append(
            {
                "language": code,
                "kind": kind,
                "query": query,
                "matches": matches,
                "status": status,
                "n": len(samples),
                "p50_ms": statistics.median(samples) * 1000,
                "p95_ms": percentile(samples, 0.95) * 1000,
            }
        )
    return {"vendor": connection.vendor, "entries": SearchEntry.objects.count(), "queries": rows}


def report_lines(search: dict | None) -> list[str]:
    """The search section of a database's report."""
    if not search:
        return []
    lines = [
        "",
        f"Search page ({search['entries']} entries in the index), one connection in-process, warm, "
        f"{REQUESTS} requests each (ms):",
        "",
        "| language | words | query | parts found | p50 | p95 | HTTP |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for row in search["queries"]:
        lines.append(
            f"| {row['language']} | {row['kind']} | {row['query']} | {row['matches']} | {row['p50_ms']:.1f} "
            f"| {row['p95_ms']:.1f} | {row['status']} |"
        )
    return lines
