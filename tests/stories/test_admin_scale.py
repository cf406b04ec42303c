"""The part and storyteller lists of the back office as the archive grows: the same queries at any size,
and the same consent columns, review filter and date drill-down as before they were made fast."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.core.paginator import EmptyPage, Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from archive.backoffice import ArchiveAdminSite
from archive.paginators import BoundedCountPaginator
from stories import services
from stories.admin import LIST_PAGE_ROWS, REVIEW_NOTICE_DAYS
from stories.models import Consent, Part, Storyteller
from stories.templatetags import long_lists
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_back_office import admin_url, page_text

# Queries of one page of each list through the test client: the session, the user and their
# permissions (in one query, archive.backoffice.load_permissions), then the list's own: one count
# (bounded) and the page, and for parts the date drill-down's first and last dates in one query and
# one query probing every year, month or day on offer. A consent officer's session also reads the
# authenticator app its second factor was given with (archive.backoffice).
PART_LIST_QUERIES = 7
STORYTELLER_LIST_QUERIES = 6


def days_ago(now: datetime.datetime, days: int) -> datetime.datetime:
    return now - datetime.timedelta(days=days)


def add_parts(count: int, now: datetime.datetime) -> None:
    """Add parts in stories of four parts, spread over the last few years, one in five undated drafts."""
    story = None
    for index in range(count):
        if index % 4 == 0:
            story = make_story()
        if index % 5 == 4:
            make_part(story=story, status=Part.Status.DRAFT, published_at=None)
        else:
            make_part(story=story, published_at=days_ago(now, 3 + 170 * index))


def add_storytellers(count: int, now: datetime.datetime) -> None:
    """Add storytellers whose ledgers hold a few records each, in force or superseded."""
    today = timezone.localdate()
    for index in range(count):
        teller = make_storyteller(consent={"review_by": today + datetime.timedelta(days=index * 7 - 20)})
        if index % 3 == 0:
            services.consent_withdraw(storyteller=teller, reason="Asked to stop.", recorded_by=None)
        if index % 6 == 0:
            give(teller, review_by=today + datetime.timedelta(days=200))


def give(storyteller: Storyteller, **consent) -> Consent:
    """Record consent given for the web in both languages, with the fields given overriding."""
    fields = {
        "decision": Consent.Decision.GIVEN,
        "review_by": timezone.localdate() + datetime.timedelta(days=365),
        "covers_web": True,
        "covers_english": True,
        "covers_korean": True,
        **consent,
    }
    return services.consent_record(storyteller=storyteller, recorded_by=None, **fields)


def queries_of(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


# --- 1. The same queries at any size ------------------------------------------------------------


def test_part_list_takes_the_same_queries_at_any_size(client, editor, now, django_assert_max_num_queries):
    url = admin_url("part", "changelist")
    add_parts(3, now)
    client.force_login(editor)
    client.get(url)

    with django_assert_max_num_queries(PART_LIST_QUERIES):
        few = queries_of(client, url)
    add_parts(LIST_PAGE_ROWS * 2, now)
    with django_assert_max_num_queries(PART_LIST_QUERIES):
        many = queries_of(client, url)
    response = client.get(url)

    assert many == few
    assert len(response.context["cl"].result_list) == LIST_PAGE_ROWS
    # One count: never a second one of every part.
    assert response.context["cl"].full_result_count is None


@pytest.mark.parametrize("params", [{}, {"o": "-4"}, {"status__exact": "published"}, {"q": "Story"}])
def test_part_list_queries_do_not_grow_with_filters_sorting_or_search(client, editor, now, params):
    url = admin_url("part", "changelist")
    add_parts(6, now)
    client.force_login(editor)
    client.get(url)
    few = queries_of(client, url, **params)
    add_parts(LIST_PAGE_ROWS, now)

    assert queries_of(client, url, **params) == few <= PART_LIST_QUERIES


@pytest.mark.parametrize("params", [{}, {"review": "due"}, {"review": "overdue"}, {"o": "3"}, {"q": "Teller"}])
def test_storyteller_list_takes_the_same_queries_at_any_size(
    client, consent_officer, now, params, django_assert_max_num_queries
):
    url = admin_url("storyteller", "changelist")
    add_storytellers(3, now)
    client.force_login(consent_officer)
    client.get(url)

    with django_assert_max_num_queries(STORYTELLER_LIST_QUERIES):
        few = queries_of(client, url, **params)
    add_storytellers(LIST_PAGE_ROWS + 12, now)
    with django_assert_max_num_queries(STORYTELLER_LIST_QUERIES):
        many = queries_of(client, url, **params)

    assert many == few


def test_storyteller_list_page_reads_no_ledger(client, consent_officer, now):
    add_storytellers(LIST_PAGE_ROWS + 5, now)
    client.force_login(consent_officer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url("storyteller", "changelist"))

    assert len(response.context["cl"].result_list) == LIST_PAGE_ROWS
    assert response.context["cl"].full_result_count is None
    # The record in force comes with the page's own query; no query reads the ledger by itself.
    assert not [
        query["sql"] for query in queries.captured_queries if query["sql"].startswith('SELECT "stories_consent"')
    ]


# --- 2. The consent columns and the review filter -----------------------------------------------


@pytest.fixture
def ledgers(db, now):
    """Storytellers whose ledgers end in every state the consent columns tell apart."""
    today = timezone.localdate()
    tellers = {
        "both": make_storyteller(pseudonym_en="Both Languages"),
        "english": make_storyteller(pseudonym_en="English Only", consent={"covers_korean": False}),
        "offline": make_storyteller(pseudonym_en="Not On The Web", consent={"covers_web": False}),
        "soon": make_storyteller(
            pseudonym_en="Review Soon", consent={"review_by": today + datetime.timedelta(days=12)}
        ),
        "overdue": make_storyteller(
            pseudonym_en="Past Review", consent={"review_by": today - datetime.timedelta(days=3)}
        ),
        "withdrawn": make_storyteller(
            pseudonym_en="Withdrew", consent={"review_by": today - datetime.timedelta(days=3)}
        ),
        "renewed": make_storyteller(pseudonym_en="Renewed", consent={"review_by": today - datetime.timedelta(days=3)}),
        "tied": make_storyteller(pseudonym_en="Same Moment"),
        "none": Storyteller.objects.create(pseudonym_en="Nothing Recorded", pseudonym_ko="기록 없음"),
    }
    services.consent_withdraw(storyteller=tellers["withdrawn"], reason="Asked to stop.", recorded_by=None)
    services.consent_withdraw(storyteller=tellers["renewed"], reason="Asked to stop.", recorded_by=None)
    give(tellers["renewed"], review_by=today + datetime.timedelta(days=90), covers_korean=False)
    # Two records at the same moment: the one recorded last (the higher id) is in force.
    moment = days_ago(now, 1)
    give(tellers["tied"], recorded_at=moment)
    services.consent_record(
        storyteller=tellers["tied"],
        decision=Consent.Decision.WITHDRAWN,
        recorded_by=None,
        note="Changed their mind the same minute.",
        recorded_at=moment,
    )
    return tellers


def cells(response, column: str) -> dict[str, str]:
    """The text of one column for each storyteller on the page, as the admin renders it."""
    model_admin = response.context["cl"].model_admin
    return {str(obj): str(getattr(model_admin, column)(obj)) for obj in response.context["cl"].result_list}


def test_consent_columns_show_the_record_in_force(client, consent_officer, ledgers):
    today = timezone.localdate()
    client.force_login(consent_officer)

    response = client.get(admin_url("storyteller", "changelist"))

    status, review = cells(response, "consent_status"), cells(response, "consent_review")
    assert status == {
        "Both Languages": "Public in: English, Korean",
        "English Only": "Public in: English",
        "Not On The Web": "Not public (Given)",
        "Review Soon": "Public in: English, Korean",
        "Past Review": "Not public (Given)",
        "Withdrew": "Not public (Withdrawn)",
        "Renewed": "Public in: English",
        "Same Moment": "Not public (Withdrawn)",
        "Nothing Recorded": "No consent recorded",
    }
    past = formats.localize(today - datetime.timedelta(days=3))
    assert (
        review["Past Review"] == f'<strong class="consent-review-overdue">{past}: past due, nothing is public</strong>'
    )
    assert review["Review Soon"] == f"{formats.localize(today + datetime.timedelta(days=12))}: due in 12 days"
    assert review["Both Languages"] == formats.localize(today + datetime.timedelta(days=365))
    assert review["Withdrew"] == review["Same Moment"] == review["Nothing Recorded"] == "—"
    html = page_text(response)
    assert "Public in: English, Korean" in html and "No consent recorded" in html and "past due" in html


def test_consent_columns_agree_with_the_ledger_read_one_storyteller_at_a_time(client, consent_officer, ledgers, now):
    add_storytellers(12, now)
    client.force_login(consent_officer)

    response = client.get(admin_url("storyteller", "changelist"), {"all": ""})

    model_admin = response.context["cl"].model_admin
    listed = response.context["cl"].result_list
    assert len(listed) == Storyteller.objects.count()
    for annotated in listed:
        # Without the page's annotations the columns read the ledger through effective_consent().
        alone = Storyteller.objects.get(pk=annotated.pk)
        assert not hasattr(alone, "consent_decision")
        for column in ("consent_status", "consent_review"):
            assert str(getattr(model_admin, column)(annotated)) == str(getattr(model_admin, column)(alone))


def in_force_due(*, within: int | None) -> set[str]:
    """Storytellers whose record in force, read through effective_consent(), is given and due."""
    today = timezone.localdate()
    due = set()
    for teller in Storyteller.objects.all():
        consent = teller.effective_consent()
        if consent is None or consent.decision != Consent.Decision.GIVEN:
            continue
        if (within is None and consent.review_by < today) or (
            within is not None and consent.review_by <= today + datetime.timedelta(days=within)
        ):
            due.add(str(teller))
    return due


def test_review_filter_lists_exactly_the_records_in_force_that_are_due(client, consent_officer, ledgers, now):
    add_storytellers(12, now)
    client.force_login(consent_officer)

    due = client.get(admin_url("storyteller", "changelist"), {"review": "due", "all": ""})
    overdue = client.get(admin_url("storyteller", "changelist"), {"review": "overdue", "all": ""})

    listed_due = {str(obj) for obj in due.context["cl"].result_list}
    listed_overdue = {str(obj) for obj in overdue.context["cl"].result_list}
    assert listed_due == in_force_due(within=REVIEW_NOTICE_DAYS)
    assert listed_overdue == in_force_due(within=None)
    assert {"Review Soon", "Past Review"} <= listed_due
    assert "Past Review" in listed_overdue
    # Superseded records never count: a withdrawal or renewal after a past-due consent ends it.
    assert not {"Withdrew", "Renewed", "Same Moment", "Nothing Recorded"} & (listed_due | listed_overdue)
    assert due.context["cl"].result_count == len(listed_due)


def test_review_column_sorts_by_the_date_in_force(client, consent_officer, ledgers):
    client.force_login(consent_officer)

    # Column 3 is the review date: the erase action's checkbox comes first for a consent officer.
    response = client.get(admin_url("storyteller", "changelist"), {"review": "due", "o": "3"})

    assert [str(obj) for obj in response.context["cl"].result_list] == ["Past Review", "Review Soon"]


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_staff_without_consent_permission_get_no_consent_columns_filter_or_queries(
    client, editor, translator, ledgers, role
):
    client.force_login({"editor": editor, "translator": translator}[role])

    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url("storyteller", "changelist"))
    probe = client.get(admin_url("storyteller", "changelist"), {"review": "overdue"})

    cl = response.context["cl"]
    assert "consent_status" not in cl.list_display and "consent_review" not in cl.list_display
    assert not any(spec.parameter_name == "review" for spec in cl.filter_specs)
    assert not hasattr(cl.result_list[0], "consent_decision")
    # Their list never even asks the database about consent.
    assert not any("stories_consent" in query["sql"] for query in queries.captured_queries)
    html = page_text(response)
    for shown in ["Public in", "Not public", "No consent recorded", "past due", "Withdrawn"]:
        assert shown not in html
    assert probe.status_code != 200 or len(probe.context["cl"].result_list) == len(ledgers)


# --- 3. The parts' date drill-down --------------------------------------------------------------


def as_shown(drilldown: dict) -> dict:
    """The drill-down as the template shows it: lazy titles as text."""
    back = drilldown["back"]
    return {
        "show": drilldown["show"],
        "back": back and {"link": back["link"], "title": str(back["title"])},
        "choices": [{**choice, "title": str(choice["title"])} for choice in drilldown["choices"]],
    }


def parts_published(*days: tuple[int, int, int]) -> None:
    """A story with a part published at noon on each day given, and an undated draft."""
    story = make_story()
    for number, (year, month, day) in enumerate(days, start=1):
        published = timezone.make_aware(datetime.datetime(year, month, day, 12))
        make_part(story=story, number=number, published_at=published)
    make_part(story=story, number=len(days) + 1, status=Part.Status.DRAFT, published_at=None)


SPREADS = {
    "years": [(2019, 5, 1), (2021, 2, 10), (2021, 11, 30), (2021, 11, 2), (2024, 7, 4)],
    "months": [(2023, 2, 10), (2023, 5, 10), (2023, 5, 20)],
    "days": [(2023, 5, 10), (2023, 5, 11), (2023, 5, 20)],
    "none": [],
}


@pytest.mark.parametrize(
    ("spread", "params"),
    [
        ("years", {}),
        ("years", {"published_at__year": "2021"}),
        ("years", {"published_at__year": "2020"}),
        ("years", {"published_at__year": "2021", "published_at__month": "11"}),
        ("years", {"published_at__year": "2021", "published_at__month": "11", "published_at__day": "30"}),
        ("years", {"published_at__month": "11"}),
        ("years", {"status__exact": "draft"}),
        ("years", {"schedule": "live", "q": "Story"}),
        ("months", {}),
        ("days", {}),
        ("none", {}),
    ],
)
def test_date_drilldown_offers_what_the_admin_date_hierarchy_offers(client, editor, spread, params):
    parts_published(*SPREADS[spread])
    client.force_login(editor)

    response = client.get(admin_url("part", "changelist"), params)

    cl = response.context["cl"]
    assert as_shown(cl.date_drilldown) == as_shown(date_hierarchy(cl))
    html = page_text(response)
    for choice in cl.date_drilldown["choices"]:
        assert str(choice["title"]) in html
        if "link" in choice:
            assert 'href="{}"'.format(choice["link"].replace("&", "&amp;")) in html


def test_date_drilldown_lists_only_years_with_parts(client, editor):
    parts_published(*SPREADS["years"])
    client.force_login(editor)

    response = client.get(admin_url("part", "changelist"))

    assert [choice["title"] for choice in response.context["cl"].date_drilldown["choices"]] == ["2019", "2021", "2024"]
    assert 'href="?published_at__year=2021"' in page_text(response)


def test_date_drilldown_reads_no_part_it_does_not_show(client, editor):
    parts_published(*SPREADS["years"])
    client.force_login(editor)

    with CaptureQueriesContext(connection) as queries:
        client.get(admin_url("part", "changelist"))

    sqls = [query["sql"].upper() for query in queries.captured_queries if '"STORIES_PART"' in query["sql"].upper()]
    # Neither a scan of every part for distinct years nor an aggregate over all of them.
    assert not any("DISTINCT" in sql or "MIN(" in sql or "MAX(" in sql for sql in sqls)


# --- 4. Rows drawn more cheaply, to the same markup ---------------------------------------------


def test_action_checkbox_is_the_admins_own_markup(db):
    part = make_part(story=make_story(title_en="Kim & <Lee>", title_ko="김 & <리>"))
    part_admin = admin.site._registry[Part]

    assert str(part_admin.action_checkbox(part)) == str(admin.ModelAdmin.action_checkbox(part_admin, part))


@pytest.mark.parametrize(
    ("model", "user", "params"),
    [
        ("part", "editor", {}),
        ("part", "editor", {"status__exact": "published", "q": "Story", "o": "-4"}),
        ("part", "editor", {"schedule": "live", "p": "2"}),
        ("part", "editor", {"_popup": "1"}),
        ("storyteller", "consent_officer", {}),
        ("storyteller", "consent_officer", {"review": "due", "o": "3"}),
        ("storyteller", "translator", {"q": "Teller"}),
    ],
)
@pytest.mark.parametrize("language", ["en", "ko"])
def test_long_lists_draw_each_row_as_the_admin_draws_it(db, client, request, now, model, user, params, language):
    """Every cell of every row, the link with the list's filters kept, the same as items_for_result's."""
    add_parts(LIST_PAGE_ROWS + 5, now)
    add_storytellers(LIST_PAGE_ROWS + 5, now)
    Storyteller.objects.filter(pk=Storyteller.objects.order_by("pk").values("pk")[:1]).update(
        pseudonym_en="Kim & <Lee>", pseudonym_ko="김 & <리>"
    )
    client.force_login(request.getfixturevalue(user))

    with translation.override(language):
        response = client.get(admin_url(model, "changelist"), params, headers={"accept-language": language})
        change_list = response.context["cl"]
        drawn = [[str(cell) for cell in row] for row in long_lists.fast_rows(change_list)]
        expected = [
            [str(cell) for cell in admin_list.items_for_result(change_list, row, None)]
            for row in change_list.result_list
        ]

    assert response.status_code == 200
    assert drawn == expected
    assert len(drawn) == len(change_list.result_list) > 0
    page = response.content.decode()
    assert all(cell in page for row in drawn for cell in row)


def test_the_preview_link_is_the_address_reverse_gives_in_each_language(db):
    part = make_part(story=make_story())
    part_admin = admin.site._registry[Part]

    for language in ("en", "ko"):
        with translation.override(language):
            assert f'href="{reverse("stories:part-preview", kwargs={"pk": part.pk})}"' in part_admin.preview_link(part)


# --- 5. Counted only as far as anyone looks -------------------------------------------------------


def test_paginator_counts_exactly_up_to_its_bound():
    paginator = BoundedCountPaginator(list(range(10)), 2, bound=10)

    assert paginator.exact
    assert (paginator.count, paginator.num_pages) == (10, 5)
    assert list(paginator.get_elided_page_range(1)) == [1, 2, 3, 4, 5]


def test_paginator_past_its_bound_counts_no_further_and_links_no_last_page():
    paginator = BoundedCountPaginator(list(range(11)), 2, bound=10)

    assert not paginator.exact
    # There are more rows than this: shown as "more than 10".
    assert paginator.count == 10
    assert list(paginator.get_elided_page_range(1)) == [1, 2, 3, 4, Paginator.ELLIPSIS]


def test_paginator_counts_as_far_as_a_deeper_page_and_a_few_pages_past_it():
    rows = list(range(100))
    deep = BoundedCountPaginator(rows, 2, bound=10, page=20)

    assert not deep.exact
    assert deep.count == (20 + 3) * 2
    assert list(deep.page(20)) == [38, 39]
    assert list(deep.get_elided_page_range(20)) == [1, 2, "…", 17, 18, 19, 20, 21, 22, 23, "…"]
    # Following the links reaches the last page, where the count is exact and a page past it is not there.
    last = BoundedCountPaginator(rows, 2, bound=10, page=50)
    assert (last.exact, last.count, list(last.page(50))) == (True, 100, [98, 99])
    with pytest.raises(EmptyPage):
        last.page(51)


def test_paginator_counts_everything_for_a_page_too_deep_to_bound(db):
    paginator = BoundedCountPaginator(Part.objects.all(), 25, page=10**30)

    assert paginator.reach is None
    assert (paginator.exact, paginator.count) == (True, 0)


def test_paginator_counts_a_queryset_in_one_query_that_stops_at_the_bound(db, now):
    add_parts(5, now)
    paginator = BoundedCountPaginator(Part.objects.order_by("-story__created_at", "number"), 1, bound=4)

    with CaptureQueriesContext(connection) as queries:
        assert (paginator.exact, paginator.count) == (False, 4)
        assert paginator.count == 4
    assert len(queries) == 1
    # Neither the order nor a join it needs: the rows, up to one past the bound.
    assert "LIMIT 5" in queries[0]["sql"]
    assert "ORDER BY" not in queries[0]["sql"].upper()
    assert "stories_story" not in queries[0]["sql"]


@pytest.fixture
def short_lists(monkeypatch):
    """Both lists two rows a page, counted exactly up to ten rows, shown whole up to four."""
    for model in (Part, Storyteller):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", 2)
        monkeypatch.setattr(admin.site._registry[model], "list_max_show_all", 4)
        monkeypatch.setattr(admin.site._registry[model], "count_bound", 10)


def more_than(language: str, count: int, model) -> dict[str, str]:
    """What the list says, in the language, where it stopped counting."""
    with translation.override(language):
        name = str(model._meta.verbose_name_plural)
        return {
            "en": {
                "count": f"more than {count} {name}",
                "select_all": f"Select all {name} (more than {count})",
                "selected": f"All {name} selected (more than {count})",
            },
            "ko": {
                "count": f"{count}개가 넘는 {name}",
                "select_all": f"{count}개가 넘는 {name} 모두를 선택합니다.",
                "selected": f"{count}개가 넘는 {name} 모두가 선택되었습니다.",
            },
        }[language]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_part_list_past_the_bound_says_more_than_in_both_languages(client, editor, now, short_lists, language):
    add_parts(12, now)
    client.force_login(editor)

    response = client.get(admin_url("part", "changelist"), headers={"accept-language": language})
    text = page_text(response)

    assert response.status_code == 200
    assert response.context["cl"].paginator.exact is False
    for shown in more_than(language, 10, Part).values():
        assert shown in text
    # The links end in an ellipsis, not in a last page it does not know of.
    links = text.split('<p class="paginator">')[1].split("</p>")[0]
    with translation.override(language):
        ellipsis = str(Paginator.ELLIPSIS)
    assert links.rindex('href="?p=') < links.rindex(ellipsis)
    # Nor is "show all" offered: only a list that is counted, and short, can be shown whole.
    assert "?all=" not in text


@pytest.mark.parametrize("language", ["en", "ko"])
def test_storyteller_list_past_the_bound_says_more_than_in_both_languages(
    client, consent_officer, now, short_lists, language
):
    add_storytellers(12, now)
    client.force_login(consent_officer)

    response = client.get(admin_url("storyteller", "changelist"), headers={"accept-language": language})

    assert response.context["cl"].paginator.exact is False
    for shown in more_than(language, 10, Storyteller).values():
        assert shown in page_text(response)


def test_list_within_the_bound_is_counted_exactly_as_the_admin_counts_it(client, editor, now, short_lists):
    add_parts(3, now)
    client.force_login(editor)

    response = client.get(admin_url("part", "changelist"))

    assert response.context["cl"].paginator.exact
    assert response.context["cl"].result_count == 3
    text = page_text(response)
    assert "3 parts" in text and "more than" not in text
    assert "Select all 3 parts" in text


def test_deeper_pages_of_a_long_list_stay_reachable(client, editor, now, short_lists):
    add_parts(16, now)
    client.force_login(editor)
    url = admin_url("part", "changelist")

    first = client.get(url)
    # Page 4, the last linked from the first page, counts further and links further.
    fourth = client.get(url, {"p": 4})
    last = client.get(url, {"p": 8})

    assert list(first.context["cl"].paginator.get_elided_page_range(1)) == [1, 2, 3, 4, "…"]
    assert fourth.status_code == 200
    assert (fourth.context["cl"].paginator.exact, fourth.context["cl"].result_count) == (False, (4 + 3) * 2)
    assert list(fourth.context["cl"].paginator.get_elided_page_range(4)) == [1, 2, 3, 4, 5, 6, 7, "…"]
    assert last.context["cl"].paginator.exact and last.context["cl"].result_count == 16
    assert len(last.context["cl"].result_list) == 2
    # Every part is on one of the pages, once.
    shown = [part.pk for page in range(1, 9) for part in client.get(url, {"p": page}).context["cl"].result_list]
    assert sorted(shown) == sorted(Part.objects.values_list("pk", flat=True))


@pytest.mark.parametrize("page", ["9", "0", "-1", str(10**30), "x"])
def test_a_page_past_the_end_or_nonsense_is_what_the_admin_makes_of_it(client, editor, now, short_lists, page):
    add_parts(16, now)
    client.force_login(editor)

    response = client.get(admin_url("part", "changelist"), {"p": page})

    # As Django: a page that is not there sends the editor back with ?e=1; nonsense is the first page.
    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    ("model", "user", "params"),
    [
        ("part", "editor", {}),
        ("part", "editor", {"status__exact": "published", "q": "Story", "o": "-4"}),
        ("storyteller", "consent_officer", {}),
        ("storyteller", "consent_officer", {"review": "due", "q": "Teller"}),
    ],
)
def test_neither_list_counts_past_its_bound(db, client, request, now, model, user, params):
    add_parts(3, now)
    add_storytellers(3, now)
    client.force_login(request.getfixturevalue(user))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(admin_url(model, "changelist"), params).status_code == 200

    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]
    # One count, of the rows up to one past the bound, never of the whole table.
    assert len(counts) == 1
    assert f"LIMIT {admin.site._registry[Part].count_bound + 1}" in counts[0]


# --- 6. No navigation sidebar -------------------------------------------------------------------------


def test_lists_draw_no_sidebar_and_build_no_list_of_apps_while_the_index_still_lists_them(
    client, editor, now, monkeypatch
):
    add_parts(3, now)
    client.force_login(editor)
    built = []
    original = ArchiveAdminSite.get_app_list
    monkeypatch.setattr(
        ArchiveAdminSite,
        "get_app_list",
        lambda site, *args, **kwargs: built.append(1) or original(site, *args, **kwargs),
    )

    page = client.get(admin_url("part", "changelist")).content.decode()

    assert 'id="nav-sidebar"' not in page
    assert built == []
    # The index still leads to the lists (and the breadcrumbs to it).
    index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{admin_url("part", "changelist")}"' in index
    assert f'href="{reverse("admin:index")}"' in page


@pytest.mark.parametrize("interface", ["en", "ko"])
def test_storyteller_list_names_every_storyteller_in_the_interface_language_or_says_which_it_is_in(
    client, consent_officer, interface
):
    make_storyteller(pseudonym_en="Morning Lark", pseudonym_ko="아침 종달새")
    make_storyteller(pseudonym_en="Quiet Heron", pseudonym_ko="")
    make_storyteller(pseudonym_en="", pseudonym_ko="푸른 소나무")
    client.force_login(consent_officer)

    response = client.get(admin_url("storyteller", "changelist"), headers={"accept-language": interface})

    shown = [cell for cell in cells(response, "pseudonym_shown").values()]
    expected = {
        "en": ["Morning Lark", "Quiet Heron", "푸른 소나무 (Korean)"],
        "ko": ["아침 종달새", "Quiet Heron (영어)", "푸른 소나무"],
    }[interface]
    assert sorted(shown) == sorted(expected)
    # Each is the link to the storyteller's page: no row of the list is a bare "-".
    html = page_text(response)
    for name in expected:
        assert f">{name}</a>" in html


@pytest.mark.parametrize("interface", ["en", "ko"])
def test_part_and_story_lists_name_every_title_in_the_interface_language_or_say_which_it_is_in(
    client, editor, interface
):
    teller = make_storyteller(pseudonym_en="Quiet Heron", pseudonym_ko="")
    story = make_story(storyteller=teller, title_en="Winter Road", title_ko="")
    make_part(story=story, title_en="The Crossing", title_ko="")
    make_part(story=story, title_en="", title_ko="강을 건너며")
    make_part(story=story, title_en="At the Border", title_ko="국경에서")
    client.force_login(editor)

    parts = client.get(admin_url("part", "changelist"), headers={"accept-language": interface})
    stories = client.get(admin_url("story", "changelist"), headers={"accept-language": interface})

    expected = {
        "en": (["The Crossing", "강을 건너며 (Korean)", "At the Border"], "Winter Road", "Quiet Heron"),
        "ko": (["The Crossing (영어)", "강을 건너며", "국경에서"], "Winter Road (영어)", "Quiet Heron (영어)"),
    }[interface]
    assert sorted(cells(parts, "title_shown").values()) == sorted(expected[0])
    assert list(cells(stories, "title_shown").values()) == [expected[1]]
    assert list(cells(stories, "storyteller_shown").values()) == [expected[2]]
    # Drawn in the lists, each escaped as any cell is: no row is a bare "-".
    for name in [*expected[0], *expected[1:]]:
        assert f">{name}<" in page_text(parts) + page_text(stories)


@pytest.mark.parametrize("interface", ["en", "ko"])
def test_a_storyteller_and_a_story_are_named_in_either_interface_language_wherever_the_back_office_names_them(
    client, editor, interface
):
    """``str()`` names them where no list column does: the story form's and the part form's pickers, messages,
    breadcrumbs. modeltranslation's field reads the interface language alone, so a storyteller with no Korean
    pseudonym was "" in the Korean back office, and a story with no Korean title its slug."""
    teller = make_storyteller(pseudonym_en="Quiet Heron", pseudonym_ko="")
    story = make_story(storyteller=teller, title_en="Winter Road", title_ko="", slug="winter-road")
    untitled = make_story(storyteller=teller, title_en="", title_ko="", slug="still-untitled")
    client.force_login(editor)

    def picked(model: str, field: str, term: str) -> list[str]:
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": "stories", "model_name": model, "field_name": field, "term": term},
            headers={"accept-language": interface},
        )
        assert response.status_code == 200
        return [result["text"] for result in response.json()["results"]]

    teller_name, story_name = {
        "en": ("Quiet Heron", "Winter Road"),
        "ko": ("Quiet Heron (영어)", "Winter Road (영어)"),
    }[interface]
    assert picked("story", "storyteller", "Heron") == [teller_name]
    assert picked("part", "story", "winter") == [story_name]
    with translation.override(interface):
        assert str(teller) == teller_name
        assert str(story) == story_name
        assert str(untitled) == "still-untitled"
        part_name = {"en": "Winter Road: Part 2", "ko": "Winter Road (영어): 2편"}[interface]
        assert str(make_part(story=story, number=2, title_en="Rain")) == part_name
        # A storyteller still being written down has no name yet, in no language.
        assert str(Storyteller(pseudonym_en="", pseudonym_ko="")) == ""
