"""A term added after publication: the search of the whole archive is a task, fast, and never misses a place.

The search reads every published text, so it has a cheap test in front of the guard's letter-by-letter one
(``privacy.Matcher.candidates``): the first tests here prove, over hostile text, that the cheap test lets
through every text the guard's rule finds a term in. The rest follow an officer who adds a term: the save
queues the search, a worker runs it, the page shows where the term is and takes it back in one step.
"""

import unicodedata

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from advocacy.models import Campaign
from archive.richtext import render_markdown
from stories import privacy, services
from stories.admin import EXPOSED_SCAN_REFRESH
from stories.models import ExposureScan, Part, ProtectedTerm, Story
from tests.advocacy.conftest import make_campaign
from tests.background.test_queue import DATABASE_TASKS, work
from tests.conftest import make_part, make_staff, make_story, make_storyteller
from tests.stories.test_back_office import admin_url, open_form
from tests.stories.test_visibility import url_in

# The search page's queries, however many places it lists: session, user, the term, its search, the places,
# one per kind of object listed.
QUERIES = 12

# Invented names and places, in both scripts, with the parts a writer may split them into.
TERMS = [
    "Ri Son-hwa",
    "Lantern House",
    "Kim Sun-hee",
    "Pak Ok",
    "Hyesan 7",
    "리선화",
    "혜산",
    "등불의 집",
    "김순희",
    "Ｏｋ Ｐａｋ",
]
DASHES = [chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Pd"] + ["\u2212", "\u30fc"]
SPACES = ["", " ", "  ", "\n", "\u00a0", "\u202f", "\u2007", "\u3000", "\t"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]
MARKUP = [
    "*",
    "**",
    "_",
    "`",
    "\\",
    "<em>",
    "</em>",
    "<b>",
    "</b>",
    "<span class='x'>",
    "<br>",
    "<!-- a comment -->",
    "<script>alert(1)</script>",
    "<style>p{}</style>",
    "](https://example.org/a-b)",
    "[",
    "](",
    ")",
    "[x]: https://example.org\n",
    "\n\n1. ",
    "\n\n- ",
    "\n\n> ",
    "\n\n# ",
    "\n===\n",
    "\n    ",
    "&amp;",
    "&nbsp;",
    "&#8209;",
    "&shy;",
    "<http://example.org/",
    ">",
]
SEPARATOR = st.sampled_from(DASHES + SPACES + INVISIBLE + MARKUP)
NOISE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("<>&[]()*_`\\#!\n 1."),
    max_size=12,
)


def _width(char: str, full: bool) -> str:
    return chr(ord(char) + 0xFEE0) if full and "!" <= char <= "~" else char


@st.composite
def spelled(draw, term: str) -> str:
    """The term as a hostile writer might spell it: case, width, decomposed Hangul, references, breaks anywhere."""
    out = []
    for char in term:
        if char.isalpha() and draw(st.booleans()):
            char = char.swapcase()
        char = _width(char, draw(st.integers(0, 5)) == 0)
        if "\uac00" <= char <= "\ud7a3" and draw(st.booleans()):
            char = unicodedata.normalize("NFD", char)
        encoding = draw(st.integers(0, 9))
        if encoding == 0:
            char = "".join(f"&#{ord(c)};" for c in char)
        elif encoding == 1:
            char = "".join(f"&#x{ord(c):x};" for c in char)
        out.append(char)
        out.extend(draw(st.lists(SEPARATOR, max_size=2)))
    spelling = "".join(out)
    wrap = draw(st.integers(0, 5))
    if wrap == 0:
        spelling = f"[{spelling}](https://example.org/)"
    elif wrap == 1:
        spelling = f"**{spelling}**"
    elif wrap == 2:
        spelling = f"<em>{spelling}</em>"
    return spelling


@st.composite
def hostile_text(draw) -> tuple[str, str]:
    term = draw(st.sampled_from(TERMS))
    pieces = [draw(NOISE), draw(spelled(term)), draw(NOISE)]
    if draw(st.booleans()):
        pieces.insert(draw(st.integers(0, 3)), draw(spelled(draw(st.sampled_from(TERMS)))))
    return term, "".join(pieces)


def found_letter_by_letter(matcher: privacy.Matcher, text: str, rendered: str | None = None) -> set[str]:
    """The guard's rule with no cheap test in front: every reading, every term, letter by letter."""
    return {
        term.term
        for skeleton, _traced in privacy.readings(text, rendered)
        for term in matcher.terms
        if privacy._find(skeleton, term.letters) is not None
    }


EVERY_TERM = privacy.Matcher([(term, True) for term in TERMS])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_text())
# Each way rendering joins letters that the text keeps apart, at least once whatever hypothesis draws.
@example(("Pak Ok", "Pak\n\n1. Ok"))  # an ordered list's number goes into its markup
@example(("리선화", "리\n\n- 1. 선화"))
@example(("Kim Sun-hee", "Kim Sun<script>x</script>hee"))  # an element dropped whole
@example(("Kim Sun-hee", "[Kim Sun](https://example.org)hee"))  # a link's address
@example(("Kim Sun-hee", "Kim Sun&#104;ee"))  # a character reference
@example(("혜산", "혜<b>산</b>"))
def test_the_cheap_test_lets_through_every_text_the_guard_finds_a_term_in(case):
    _term, text = case
    found = found_letter_by_letter(EVERY_TERM, text)
    # Without a stored rendering, and with one (a part's body_html is this rendering, stored on save).
    assert found <= {term.term for term in EVERY_TERM.candidates(text)}
    assert found <= {term.term for term in EVERY_TERM.candidates(text, render_markdown(text))}
    # And so the guard's answer, with the cheap test in front, is what it was without it.
    assert {term.term for term, _hit in EVERY_TERM.search(text)} == found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40))
def test_the_fast_fold_is_the_guards_fold_for_any_character(text):
    assert privacy.normalise(text) == privacy._skeleton((char, index) for index, char in enumerate(text)).letters


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F) | st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
               | st.sampled_from(privacy._PROSE_MARKS) | st.characters(), max_size=30))  # fmt: skip
@example("Kim\u2014Sun 김\u2026순희, \u201cRi\u201d Son\u2019hwa\u00a0혜산")  # Korean prose: its fast fold
@example("Ri Ｓon 리선화")  # not prose: the table
def test_the_fast_folds_find_every_term_the_guards_fold_does(text):
    letters = privacy._skeleton((char, index) for index, char in enumerate(text)).letters
    fast = privacy._Letters(text)
    # Every term that some stretch of these letters could be, and some that it cannot.
    pieces = {letters[start:end] for start in range(len(letters)) for end in range(start + 1, len(letters) + 1)}
    for piece in pieces:
        if piece in letters:
            assert fast.holds(privacy._Term(piece, piece, True)), piece


def test_the_fast_fold_is_the_guards_fold_for_every_dash_space_and_invisible_character():
    text = "".join(DASHES + SPACES + INVISIBLE) + "Ｒｉ Ｓｏｎ－ｈｗａ 리\u00a0선\u200b화 Sŏn"
    assert privacy.normalise(text) == privacy._skeleton((char, index) for index, char in enumerate(text)).letters


def test_text_that_holds_no_term_costs_no_rendering(monkeypatch):
    def render(text):
        raise AssertionError("rendered")

    monkeypatch.setattr(privacy, "_rendered", render)
    # Markdown that cannot change the letters (emphasis, quotes, headings, bullets) is never rendered.
    assert EVERY_TERM.search("# A heading\n\n> We *walked* for **twenty** days.\n\n- a river\n- a hill") == []
    assert EVERY_TERM.search("A [link](https://example.org) and &amp;", "<p>A <a>link</a> and &amp;</p>") == []


# --- The officer's save, the task, the page ------------------------------------------------------------


@pytest.fixture
def queued(db):
    """Production's queue: tasks wait in the database until ``work()`` runs them."""
    with override_settings(TASKS=DATABASE_TASKS):
        yield


@pytest.fixture
def lantern_house(db):
    """Published text that holds the term, in both languages and in every kind the search reads."""
    teller = make_storyteller(pseudonym_en="A sparrow", bio_en="She grew up near the lantern-house.")
    story = make_story(storyteller=teller)
    return {
        "teller": teller,
        "part": make_part(story=story, body_en="First line.\nWe slept at the lantern\u2011house that winter."),
        # Only the rendered page shows it whole: found in the stored rendering, not rendered again.
        "linked": make_part(body_ko="우리는 [Lantern](https://example.org/a)House에서 잤다."),
        "untouched": make_part(body_en="Nothing here names a shelter."),
        "campaign": make_campaign(summary_ko="Ｌａｎｔｅｒｎ Ｈｏｕｓｅ 소식"),
    }


def campaign_url(campaign) -> str:
    return reverse("admin:advocacy_campaign_change", args=[campaign.pk])


def save_term(client, term: str = "Lantern House"):
    return open_form(client, admin_url("protectedterm", "add")).post(client, term=term)


def test_the_save_queues_a_search_that_a_worker_runs_and_the_page_shows_every_place(
    client, consent_officer, queued, lantern_house
):
    client.force_login(consent_officer)

    saved = save_term(client)

    term = ProtectedTerm.objects.get()
    scan = ExposureScan.objects.get()
    assert saved.status_code == 302 and saved["Location"] == admin_url("protectedterm", "exposed", term.pk)
    # The save read nothing of the archive: the search waits for a worker, and the page says so.
    assert scan.state == ExposureScan.State.QUEUED and not scan.findings.exists()
    task = DBTaskResult.objects.get()
    assert task.task_path == "stories.services.scan_published_text" and task.args_kwargs["args"] == [scan.pk]
    assert task.priority == services.SCAN_PRIORITY
    waiting = client.get(saved["Location"])
    assert waiting.context["running"] and "waiting for a worker" in waiting.content.decode()
    assert f'<meta http-equiv="refresh" content="{EXPOSED_SCAN_REFRESH}">' in waiting.content.decode()

    work()

    scan.refresh_from_db()
    assert scan.state == ExposureScan.State.DONE and scan.checked == scan.total > 0
    page = client.get(saved["Location"])
    html = page.content.decode()
    assert not page.context["running"] and "http-equiv" not in html
    places = {(place["url"], str(place["field"]), place["line"], place["column"]) for place in page.context["places"]}
    parts = lantern_house["part"], lantern_house["linked"]
    assert places == {
        (admin_url("part", "change", parts[0].pk), "part body (English)", 2, 17),
        (admin_url("part", "change", parts[1].pk), "part body (Korean)", 0, 0),
        (
            reverse("admin:advocacy_campaign_change", args=[lantern_house["campaign"].pk]),
            "campaign summary (Korean)",
            1,
            1,
        ),
        (admin_url("storyteller", "change", lantern_house["teller"].pk), "storyteller bio (English)", 1, 22),
    }
    assert "Published text holds the term in 4 places." in html and "once rendered" in html
    assert "antern" not in html.replace("lantern_house", "")  # the term is never shown


def test_the_page_is_in_korean_for_a_korean_officer(client, consent_officer, queued, lantern_house):
    client.force_login(consent_officer)
    saved = save_term(client)
    korean = {"accept-language": "ko"}
    waiting = client.get(saved["Location"], headers=korean).content.decode()
    assert "검색이 작업 처리기를 기다리고 있습니다." in waiting and "지금 새로 고치기" in waiting
    work()
    html = client.get(saved["Location"], headers=korean).content.decode()
    assert "게시된 글 4곳에 이 단어가 있습니다." in html and "지금 게시 취소" in html
    assert "2번째 줄, 17번째 글자" in html and "변환한 뒤" in html
    gone = client.post(saved["Location"], {"unpublish": "1", "scan_id": 0}, headers=korean, follow=True)
    assert "그 목록은 더 새로운 검색으로 바뀌었기 때문에" in gone.content.decode()


def test_unpublishing_takes_back_what_holds_the_term_now_and_a_second_submit_changes_nothing(
    client, consent_officer, queued, lantern_house
):
    client.force_login(consent_officer)
    saved = save_term(client)
    work()
    part, linked, untouched = lantern_house["part"], lantern_house["linked"], lantern_house["untouched"]
    # Edited since the search: this part no longer holds the term, and stays published.
    linked.body_ko = "우리는 다른 곳에서 잤다."
    linked.save()
    public = [url_in(part, "en"), url_in(linked, "ko"), url_in(untouched, "en")]
    assert [client.get(url).status_code for url in public] == [200, 200, 200]
    scan = ExposureScan.objects.get()

    done = client.post(saved["Location"], {"unpublish": "1", "scan_id": scan.pk})

    assert done.status_code == 302 and done["Location"] == saved["Location"]
    assert Part.objects.get(pk=part.pk).status == Part.Status.DRAFT
    assert Campaign.objects.get(pk=lantern_house["campaign"].pk).status == Campaign.Status.DRAFT
    assert not Story.objects.filter(storyteller=lantern_house["teller"], status=Story.Status.PUBLISHED).exists()
    assert Part.objects.get(pk=linked.pk).status == Part.Status.PUBLISHED
    # Gone from the public pages at the next request; the rest stays.
    assert [client.get(url).status_code for url in public] == [404, 200, 200]
    after = client.get(saved["Location"])
    assert after.context["places"] == [] and "No published text holds the term." in after.content.decode()

    again = client.post(saved["Location"], {"unpublish": "1", "scan_id": scan.pk}, follow=True)
    assert "Nothing was left to unpublish" in again.content.decode()
    stale = client.post(saved["Location"], {"unpublish": "1", "scan_id": scan.pk + 1000}, follow=True)
    assert "replaced by a newer search, and nothing was unpublished" in stale.content.decode()


def test_a_term_found_nowhere_says_so(client, consent_officer, queued, lantern_house):
    client.force_login(consent_officer)
    saved = save_term(client, "Willowgate Shelter")
    work()
    page = client.get(saved["Location"])
    assert page.context["places"] == [] and "No published text holds the term." in page.content.decode()
    assert ExposureScan.objects.get().state == ExposureScan.State.DONE
    # Editing only the note searches nothing again.
    term = ProtectedTerm.objects.get()
    changed = open_form(client, admin_url("protectedterm", "change", term.pk)).post(client, note="a shelter")
    assert changed["Location"] == admin_url("protectedterm", "changelist")
    assert DBTaskResult.objects.count() == 1


def test_a_failed_search_says_so_and_can_be_run_again(client, consent_officer, queued, lantern_house, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a failure on purpose")

    monkeypatch.setattr(services, "_scan", broken)
    client.force_login(consent_officer)
    saved = save_term(client)
    work()
    scan = ExposureScan.objects.get()
    assert scan.state == ExposureScan.State.FAILED and scan.error == "RuntimeError"
    page = client.get(saved["Location"]).content.decode()
    assert "could not be finished (RuntimeError)" in page and 'name="scan"' in page

    monkeypatch.undo()
    again = client.post(saved["Location"], {"scan": "1"})
    assert again["Location"] == saved["Location"]
    assert ExposureScan.objects.get().state == ExposureScan.State.QUEUED  # the failed one is replaced
    work()
    assert len(client.get(saved["Location"]).context["places"]) == 4


def test_a_search_whose_worker_died_is_run_again_from_the_start_and_one_replaced_stops(queued, lantern_house):
    term = ProtectedTerm.objects.create(term="Lantern House")
    scan = services.exposed_text_scan_queue(term=term, requested_by=None)
    # A worker died half-way: the scan says it is running and holds a place it found then.
    ExposureScan.objects.filter(pk=scan.pk).update(state=ExposureScan.State.RUNNING, checked=3)
    scan.findings.create(content_type=ContentType.objects.get_for_model(Part), object_id=999999, field="body_en")
    assert services.exposed_text_scan_run(scan_id=scan.pk) == 4
    assert not scan.findings.filter(object_id=999999).exists() and scan.findings.count() == 4
    assert services.exposed_text_scan_run(scan_id=scan.pk) == 0  # done: a second delivery does nothing
    newer = services.exposed_text_scan_queue(term=term, requested_by=None)
    assert services.exposed_text_scan_run(scan_id=scan.pk) == 0  # replaced
    assert list(ExposureScan.objects.values_list("pk", flat=True)) == [newer.pk]


def test_a_search_whose_worker_was_lost_says_it_failed(queued, lantern_house):
    term = ProtectedTerm.objects.create(term="Lantern House")
    scan = services.exposed_text_scan_queue(term=term, requested_by=None)
    result = DBTaskResult.objects.get()
    result.status = TaskResultStatus.FAILED
    result.exception_class_path = "background.reaper.WorkerLost"
    result.traceback = "lost"
    result.save()
    task_finished.send(sender=type(result), task_result=result.task_result)
    scan.refresh_from_db()
    assert scan.state == ExposureScan.State.FAILED and scan.error == "WorkerLost"


def test_staff_who_may_not_see_terms_see_nothing_of_them(client, lantern_house):
    term = ProtectedTerm.objects.create(term="Lantern House")
    services.exposed_text_scan_queue(term=term, requested_by=None)
    for group in ("Editors", "Translators"):
        client.force_login(make_staff(group))
        assert client.get(admin_url("protectedterm", "exposed", term.pk)).status_code == 403
        assert client.post(admin_url("protectedterm", "exposed", term.pk), {"scan": "1"}).status_code == 403
        teller = lantern_house["teller"]
        assert client.get(admin_url("storyteller", "exposed", teller.pk)).status_code == 403
    assert ExposureScan.objects.count() == 1


def test_the_search_page_costs_the_same_queries_for_one_place_or_many(
    client, consent_officer, django_assert_max_num_queries
):
    make_part(body_en="The lantern house.")
    for number in range(12):
        teller = make_storyteller(pseudonym_en=f"Willow Gate {number}")
        make_part(story=make_story(storyteller=teller), summary_en="Willow Gate", body_ko="Willow Gate")
        make_campaign(title_en=f"Willow Gate {number}")
    once, often = (ProtectedTerm.objects.create(term=term) for term in ("Lantern House", "Willow Gate"))
    for term in (once, often):
        services.exposed_text_scan_queue(term=term, requested_by=None)
    client.force_login(consent_officer)
    with django_assert_max_num_queries(QUERIES) as one:
        assert len(client.get(admin_url("protectedterm", "exposed", once.pk)).context["places"]) == 1
    with django_assert_max_num_queries(QUERIES) as many:
        assert len(client.get(admin_url("protectedterm", "exposed", often.pk)).context["places"]) == 12 * 4
    # One more query per kind of object listed (storytellers, stories, parts, campaigns), never per place.
    assert len(many.captured_queries) <= len(one.captured_queries) + 3
