"""What readers did: per-campaign, per-day counts of each kind of click, and nothing about the readers."""

import datetime
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.utils import timezone

from advocacy import ratelimit, services
from advocacy.admin import activity
from advocacy.models import Action, ActionCount, Campaign
from advocacy.views import COUNTS_PER_MINUTE
from tests.advocacy.conftest import make_action, make_campaign
from tests.conftest import make_staff


def counts(campaign) -> dict[str, int]:
    return dict(campaign.counts.filter(day=timezone.localdate()).values_list("kind", "count"))


def test_giving_and_sharing_links_count_then_redirect_without_javascript(client, campaign):
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    monthly = make_action(campaign=campaign, kind=Action.Kind.MONTHLY)
    social = make_action(campaign=campaign, kind=Action.Kind.SOCIAL)

    response = client.get(f"/en/act/{campaign.slug}/go/{donate.pk}/")
    assert response.status_code == 302 and response["Location"] == "https://donate.example.org/now"
    assert "max-age=0" in response["Cache-Control"]  # every click reaches us, none is cached
    assert client.get(f"/en/act/{campaign.slug}/go/{donate.pk}/")["Location"] == "https://donate.example.org/now"
    assert client.get(f"/en/act/{campaign.slug}/go/{monthly.pk}/")["Location"] == "https://donate.example.org/monthly"

    share = urlsplit(client.get(f"/ko/act/{campaign.slug}/go/{social.pk}/")["Location"])
    assert (share.netloc, share.path) == ("x.com", "/intent/post")
    assert parse_qs(share.query) == {
        "text": ["읽고 행동해 주세요:"],
        "url": [f"http://testserver/ko/act/{campaign.slug}/"],
    }

    assert counts(campaign) == {
        ActionCount.Kind.DONATE_CLICKED: 2,
        ActionCount.Kind.MONTHLY_CLICKED: 1,
        ActionCount.Kind.POST_SHARED: 1,
    }


def test_beacon_counts_copies_and_opened_letters_without_a_csrf_token(db):
    campaign = make_campaign()
    make_action(campaign=campaign, kind=Action.Kind.LETTER)
    make_action(campaign=campaign, kind=Action.Kind.SOCIAL)
    client = Client(enforce_csrf_checks=True)
    url = f"/en/act/{campaign.slug}/count/"
    for kind in ("letter_copied", "letter_copied", "letter_opened", "post_copied"):
        response = client.post(url, {"kind": kind})
        assert response.status_code == 204
        assert not response.cookies
    assert counts(campaign) == {"letter_copied": 2, "letter_opened": 1, "post_copied": 1}


def test_beacon_refuses_what_it_does_not_count(client, campaign):
    url = f"/en/act/{campaign.slug}/count/"
    assert client.get(url).status_code == 405
    assert client.post(url, {"kind": "donate_clicked"}).status_code == 400  # counted by the redirect only
    assert client.post(url, {"kind": "<script>"}).status_code == 400
    assert client.post(url, {"kind": "letter_copied"}).status_code == 404  # this campaign has no letter
    assert client.post("/en/act/no-such-campaign/count/", {"kind": "letter_copied"}).status_code == 404
    draft = make_campaign(status=Campaign.Status.DRAFT)
    make_action(campaign=draft, kind=Action.Kind.LETTER)
    assert client.post(f"/en/act/{draft.slug}/count/", {"kind": "letter_copied"}).status_code == 404
    assert not ActionCount.objects.exists()


def test_counts_are_one_row_per_campaign_day_and_kind(db):
    first, second = make_campaign(), make_campaign()
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    for _ in range(3):
        services.action_count_add(campaign=first, kind=ActionCount.Kind.LETTER_OPENED)
    services.action_count_add(campaign=first, kind=ActionCount.Kind.LETTER_OPENED, day=yesterday)
    services.action_count_add(campaign=second, kind=ActionCount.Kind.LETTER_OPENED)
    assert sorted(ActionCount.objects.values_list("campaign", "day", "count")) == sorted(
        [(first.pk, today, 3), (first.pk, yesterday, 1), (second.pk, today, 1)]
    )


def test_counts_store_nothing_about_the_reader(client, campaign):
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    client.cookies["sessionid"] = "a-readers-cookie"
    client.get(
        f"/en/act/{campaign.slug}/go/{donate.pk}/",
        REMOTE_ADDR="203.0.113.77",
        HTTP_USER_AGENT="ReaderBrowser/1.0",
        HTTP_REFERER="http://testserver/en/stories/x/",
    )
    assert {field.name for field in ActionCount._meta.get_fields()} == {"id", "campaign", "day", "kind", "count"}
    stored = " ".join(str(value) for row in ActionCount.objects.values() for value in row.values())
    for personal in ("203.0.113.77", "ReaderBrowser", "a-readers-cookie", "stories/x"):
        assert personal not in stored
    # The rate limiter's cache key is a keyed hash of the network, never the address itself.
    assert "203.0.113.77" not in ratelimit.client_key(type("R", (), {"META": {"REMOTE_ADDR": "203.0.113.77"}})())


def test_a_flood_of_clicks_from_one_client_is_not_counted_but_still_redirected(client, campaign):
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    url = f"/en/act/{campaign.slug}/go/{donate.pk}/"
    for _ in range(COUNTS_PER_MINUTE + 5):
        assert client.get(url).status_code == 302
    assert counts(campaign) == {ActionCount.Kind.DONATE_CLICKED: COUNTS_PER_MINUTE}


def test_a_click_does_not_invalidate_the_cached_pages(client, campaign, django_assert_num_queries):
    donate = make_action(campaign=campaign, kind=Action.Kind.DONATE)
    page = f"/en/act/{campaign.slug}/"
    client.get(page)
    client.get(f"/en/act/{campaign.slug}/go/{donate.pk}/")
    with django_assert_num_queries(0):
        client.get(page)


def test_activity_chart_lays_out_the_last_thirty_days(db):
    campaign = make_campaign()
    today = timezone.localdate()
    services.action_count_add(campaign=campaign, kind=ActionCount.Kind.DONATE_CLICKED, day=today)
    services.action_count_add(campaign=campaign, kind=ActionCount.Kind.DONATE_CLICKED, day=today)
    services.action_count_add(campaign=campaign, kind=ActionCount.Kind.SIGNED_UP, day=today)
    services.action_count_add(campaign=campaign, kind=ActionCount.Kind.LETTER_COPIED, day=today - datetime.timedelta(9))
    services.action_count_add(campaign=campaign, kind=ActionCount.Kind.SIGNED_UP, day=today - datetime.timedelta(40))

    chart = activity(campaign, today=today)
    assert len(chart["bars"]) == 30 and chart["bars"][-1]["day"] == today
    assert chart["total"] == 4 and chart["peak"] == 3
    last = chart["bars"][-1]
    assert [segment["count"] for segment in last["segments"]] == [2, 1]
    # The busiest day fills the chart's height.
    assert sum(segment["height"] for segment in last["segments"]) == chart["height"]
    totals = {kind["label"]: kind["total"] for kind in chart["kinds"]}
    assert totals[ActionCount.Kind.SIGNED_UP.label] == 1  # the sign-up 40 days ago is outside the window


def test_campaign_managers_see_the_chart_in_the_admin(client, db):
    campaign = make_campaign()
    services.action_count_add(campaign=campaign, kind=ActionCount.Kind.LETTER_OPENED)
    client.force_login(make_staff("Campaign managers"))
    html = client.get(f"/admin/advocacy/campaign/{campaign.pk}/change/").content.decode()
    assert "<svg" in html and "<rect" in html
    assert str(ActionCount.Kind.LETTER_OPENED.label) in html
    listing = client.get("/admin/advocacy/actioncount/")
    assert listing.status_code == 200
    assert client.get("/admin/advocacy/actioncount/add/").status_code == 403
