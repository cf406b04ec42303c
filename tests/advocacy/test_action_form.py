"""The campaign form: each action names the fields of its kind, and a post for X is counted as X counts it."""

import json
import re

import pytest
from django.urls import reverse

from advocacy.models import Action
from advocacy.sharing import X_LINK_LENGTH, X_MAX_WEIGHTED_LENGTH, x_post_length
from tests.advocacy.conftest import make_action, make_campaign
from tests.conftest import make_staff
from tests.stories.test_back_office import form_errors, open_form

# (post text, its length as X counts it with a space and the campaign link). The browser test checks the
# page's script gives the same numbers (tests/browser/test_campaign_editor.py).
X_CASES = [
    ("", 24),
    ("Read and act", 12 + 24),
    ("읽고 행동해 주세요", 8 * 2 + 2 + 24),
    ("Write today: https://example.org/a/very/long/path/that/is/longer/than/twenty-three", 13 + 23 + 24),
    ("Two links http://a.example http://b.example", 10 + 23 + 1 + 23 + 24),
    ("bare domain example.org/path counts as a link", 12 + 23 + 17 + 24),
    ("A short one x.co too", 12 + 23 + 4 + 24),
    ("email me@example.org is not a link", 6 + 14 + 14 + 24),
    ("中文字 and 日本語", 6 + 5 + 6 + 24),
    ("Curly “quotes” — and dashes – count once", 40 + 24),
    ("Emoji 👍🏽 counts per code point", 6 + 4 + 22 + 24),
    ("Line one\r\nLine two\n\n\nLine three  ", 8 + 1 + 8 + 3 + 10 + 24),
    ("  spaces around  \u3000", 13 + 24),
    ("Hidden\u202econtrol\u200bcharacters go", 6 + 7 + 10 + 3 + 24),
    ("Joiners stay: 👩\u200d👩\u200d👧", 14 + 2 + 1 + 2 + 1 + 2 + 24),
    ("Decomposed e\u0301 is composed first", 11 + 1 + 18 + 24),
    ("한글과 English 섞어서 https://example.org 링크", 3 * 2 + 9 + 3 * 2 + 1 + 23 + 1 + 2 * 2 + 24),
    # No hand count: the browser test still checks that the script agrees with the server.
    ("Underscores_and-hyphens.in domain_name.example.com", None),
    ("Exactly at the limit " + "x" * (X_MAX_WEIGHTED_LENGTH - 24 - 21), X_MAX_WEIGHTED_LENGTH),
    ("One over the limit " + "x" * (X_MAX_WEIGHTED_LENGTH - 24 - 19 + 1), X_MAX_WEIGHTED_LENGTH + 1),
    ("한" * 128, 256 + 24),
]


@pytest.mark.parametrize(("text", "expected"), [case for case in X_CASES if case[1] is not None])
def test_posts_are_counted_as_x_counts_them(text, expected):
    assert x_post_length(text) == expected


def test_the_count_table_covers_links_korean_and_the_limit():
    assert X_LINK_LENGTH == 23 and X_MAX_WEIGHTED_LENGTH == 280
    assert any(length == X_MAX_WEIGHTED_LENGTH for _text, length in X_CASES)
    assert any((length or 0) > X_MAX_WEIGHTED_LENGTH for _text, length in X_CASES)


@pytest.fixture
def manager(db):
    return make_staff("Campaign managers")


def change_url(campaign) -> str:
    return reverse("admin:advocacy_campaign_change", args=[campaign.pk])


def test_each_action_names_the_fields_of_every_kind_for_the_script_and_the_form_loads_it(client, manager):
    campaign = make_campaign()
    make_action(campaign=campaign, kind=Action.Kind.SOCIAL)
    client.force_login(manager)
    html = client.get(change_url(campaign)).content.decode()
    assert '<script src="/static/js/advocacy-admin.js"' in html
    match = re.search(r'name="actions-0-kind"[^>]*data-kind-fields="([^"]+)"', html) or re.search(
        r'data-kind-fields="([^"]+)"[^>]*name="actions-0-kind"', html
    )
    fields = json.loads(match.group(1).replace("&quot;", '"'))
    assert fields["post_template"] == ["social"]
    assert fields["subject_template"] == ["letter"] and fields["recipients"] == ["letter"]
    assert fields["url"] == ["donate", "monthly"]
    # Every field is in the page: without the script, nothing is hidden.
    for name in ["subject_template_en", "body_template_en", "post_template_en", "button_label_en", "url"]:
        assert f'name="actions-0-{name}"' in html
    assert 'data-x-count=""' in html and f'data-x-limit="{X_MAX_WEIGHTED_LENGTH}"' in html
    assert "<script>" not in html.split("</head>", 1)[1].replace('<script src="', "")


def test_the_server_refuses_a_post_one_over_the_limit_and_accepts_one_at_it(client, manager):
    campaign = make_campaign()
    make_action(campaign=campaign, kind=Action.Kind.SOCIAL)
    client.force_login(manager)
    at_limit = next(text for text, length in X_CASES if length == X_MAX_WEIGHTED_LENGTH)
    over = next(text for text, length in X_CASES if length == X_MAX_WEIGHTED_LENGTH + 1)
    form = open_form(client, change_url(campaign))
    response = form.post(client, **{"actions-0-post_template_en": over})
    assert response.status_code == 200
    errors = form_errors(response)["actions"][0]["post_template_en"]
    assert errors == [
        "With the campaign link this post is 281 characters as X counts them (Korean letters count twice); "
        "the limit is 280."
    ]
    response = form.post(client, **{"actions-0-post_template_en": at_limit})
    assert response.status_code == 302, form_errors(response)
    assert Action.objects.get(campaign=campaign).post_template_en == at_limit
