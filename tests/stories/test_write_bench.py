"""The writes section of `make bench`: publishing a part and withdrawing consent, timed and rolled back."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from search.models import SearchEntry
from stories.management.commands import bench as bench_command
from stories.models import Consent, Part, PartPublication, StoryPublication
from tests.conftest import make_part, make_story, make_storyteller


def state() -> dict:
    return {
        "parts": list(Part.objects.order_by("pk").values_list("pk", "status", "version", "published_at")),
        "part publications": PartPublication.objects.count(),
        "story publications": StoryPublication.objects.count(),
        "consent records": Consent.objects.count(),
        "search entries": SearchEntry.objects.count(),
    }


def bench(tmp_path, *arguments) -> tuple[dict, str]:
    out = io.StringIO()
    call_command(
        "write_bench", "--runs", "2", "--warmup", "1", "--output", str(tmp_path / "w.json"), *arguments, stdout=out
    )
    return json.loads((tmp_path / "w.json").read_text()), out.getvalue()


def test_times_both_writes_for_the_storyteller_with_30_parts_and_leaves_the_database_as_it_was(db, tmp_path):
    thirty = make_storyteller()
    serial = make_story(storyteller=thirty)
    for _ in range(30):
        make_part(story=serial)
    other = make_part()  # a storyteller with one part, never chosen
    before = state()

    numbers, report = bench(tmp_path)

    assert state() == before
    assert numbers["storyteller"] == {"pk": thirty.pk, "parts": 30, "public_parts": 30}
    assert numbers["notes"] == []
    publish, withdraw = numbers["operations"]["publish"], numbers["operations"]["withdraw"]
    # Nothing of theirs waits to be published: a draft part 31 was written for each run.
    assert publish["part"]["written_for_the_run"] is True
    assert publish["part"]["pk"] not in {pk for pk, *_rest in before["parts"]}
    for write in (publish, withdraw):
        assert write["n"] == 2 and 0 < write["p50_ms"] <= write["p95_ms"] <= write["max_ms"]
        assert write["queries"] > 0
        # Each write changed what readers see: the page cache's tags were to be bumped again at the commit.
        assert write["after_commit_bump"] is not None
    assert numbers["commit"] == {"skipped": "inside a transaction (as in a test), where there is no COMMIT to time"}
    assert "| publish a part (services.part_publish) |" in report
    assert "COMMIT: not timed" in report
    assert Part.objects.get(pk=other.pk).is_public("en")

    # `make bench` shows them for each database, and against the target for a database at scale.
    run = object.__new__(bench_command.Run)
    run.load_pages = []
    result = {"label": "scale-x", "size": "scale", "vendor": "sqlite", "database": "x", "pages": {}, "writes": numbers}
    run.results = {"environment": {}, "notes": [], "wagtail": None, "databases": [result]}
    lines = run.report()
    assert any(line.startswith("| scale-x | withdraw p95 (service in a rolled-back transaction") for line in lines)
    assert "| publish a part (services.part_publish) |" in "\n".join(lines)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_uses_a_part_waiting_for_publication_times_a_commit_and_says_when_no_one_has_30_parts(tmp_path):
    storyteller = make_storyteller()
    story = make_story(storyteller=storyteller)
    make_part(story=story)
    waiting = make_part(story=story, status=Part.Status.IN_REVIEW, published_at=None)
    before = state()

    numbers, report = bench(tmp_path)

    assert state() == before
    assert numbers["notes"] == [
        f"no storyteller has 30 parts: storyteller {storyteller.pk}, with the most (2), is measured"
    ]
    assert numbers["operations"]["publish"]["part"] == {"pk": waiting.pk, "written_for_the_run": False}
    commit = numbers["commit"]
    assert commit["n"] == 4 and commit["p50_ms"] > 0
    assert "COMMIT of a small write" in report


def test_refuses_a_redis_cache_outside_the_bench_settings(db, settings, tmp_path):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    make_part()
    with pytest.raises(CommandError, match="cache is Redis"):
        bench(tmp_path)
