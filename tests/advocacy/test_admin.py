"""The back office: campaign managers keep the recipient directory honest and link stories."""

import datetime

import pytest
from django.utils import timezone

from advocacy.models import Action, Recipient
from tests.advocacy.conftest import make_action, make_campaign, make_recipient
from tests.conftest import make_part, make_staff, make_story, make_storyteller


def test_recipients_not_verified_for_a_year_are_flagged(client, db):
    today = timezone.localdate()
    fresh = make_recipient(label_en="Fresh office", last_verified_on=today - datetime.timedelta(days=365))
    stale = make_recipient(label_en="Stale office", last_verified_on=today - datetime.timedelta(days=366))
    assert list(Recipient.objects.needing_verification()) == [stale]
    assert stale.needs_verification() and not fresh.needs_verification()

    campaign = make_campaign()
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[fresh, stale])
    client.force_login(make_staff("Campaign managers"))
    page = client.get(f"/admin/advocacy/campaign/{campaign.pk}/change/").content.decode()
    assert "1 address this campaign writes to has not been verified for over 365 days." in page
    assert "Not verified for over a year: Stale office" in page

    overdue = client.get("/admin/advocacy/recipient/?verification=overdue").content.decode()
    assert "Stale office" in overdue and "Fresh office" not in overdue

    response = client.post(
        "/admin/advocacy/recipient/", {"action": "mark_verified", "_selected_action": [stale.pk]}, follow=True
    )
    assert response.status_code == 200
    stale.refresh_from_db()
    assert stale.last_verified_on == today


def test_campaign_admin_shows_where_each_linked_story_may_appear(client, db):
    consenting = make_story(title_en="May appear")
    make_part(story=consenting)
    refusing = make_story(title_en="May not", storyteller=make_storyteller(consent={"covers_advocacy": False}))
    make_part(story=refusing)
    campaign = make_campaign(stories=[consenting, refusing])
    client.force_login(make_staff("Campaign managers"))
    page = client.get(f"/admin/advocacy/campaign/{campaign.pk}/change/").content.decode()
    assert "English, Korean" in page
    assert "its teller has not agreed to its use in campaigns" in page


def test_editors_can_link_stories_but_not_see_subscribers(client, db):
    campaign = make_campaign()
    client.force_login(make_staff("Editors"))
    assert client.get(f"/admin/advocacy/campaign/{campaign.pk}/change/").status_code == 200
    assert client.get("/admin/advocacy/subscriber/").status_code == 403
    assert client.get("/admin/advocacy/campaign/add/").status_code == 403


def campaign_form(story, **overrides) -> dict:
    today = timezone.localdate().isoformat()
    data = {
        "kicker_en": "Urgent",
        "kicker_ko": "긴급",
        "title_en": "Write today",
        "title_ko": "오늘 편지를 보내 주세요",
        "slug": "write-today",
        "byline_en": "",
        "byline_ko": "",
        "date": today,
        "summary_en": "",
        "summary_ko": "",
        "body_en": "Background with **emphasis**.",
        "body_ko": "",
        "status": "published",
        "starts_on": today,
        "ends_on": "",
        "priority": "0",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
        "actions-0-kind": "social",
        "actions-0-position": "0",
        "actions-0-post_template_en": "Read their stories and act:",
        "actions-0-post_template_ko": "이야기를 읽고 행동해 주세요:",
        "story_links-TOTAL_FORMS": "1",
        "story_links-INITIAL_FORMS": "0",
        "story_links-MIN_NUM_FORMS": "0",
        "story_links-MAX_NUM_FORMS": "1000",
        "story_links-0-story": str(story.pk),
        "story_links-0-position": "0",
    }
    data.update(overrides)
    return data


def test_campaign_manager_creates_a_campaign_with_actions_and_stories_in_the_admin(client, db):
    story = make_story()
    make_part(story=story)
    client.force_login(make_staff("Campaign managers"))
    assert client.get("/admin/advocacy/campaign/add/").status_code == 200

    too_long = client.post(
        "/admin/advocacy/campaign/add/", campaign_form(story, **{"actions-0-post_template_ko": "가" * 140})
    )
    assert too_long.status_code == 200
    assert "the limit is 280" in too_long.content.decode()

    response = client.post("/admin/advocacy/campaign/add/", campaign_form(story))
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = story.campaign_links.get().campaign
    assert campaign.body_html_en == "<p>Background with <strong>emphasis</strong>.</p>"
    assert campaign.actions.get().post_template_ko == "이야기를 읽고 행동해 주세요:"
    assert client.get("/en/act/write-today/").status_code == 200


@pytest.mark.parametrize("object_id", ["abc", "999999"])
def test_a_junk_or_unknown_campaign_id_is_answered_as_django_does_not_a_500(client, db, object_id):
    client.force_login(make_staff("Campaign managers"))
    response = client.get(f"/admin/advocacy/campaign/{object_id}/change/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get(response["Location"]).content.decode()
    assert f"Campaign with ID “{object_id}” doesn’t exist. Perhaps it was deleted?" in page
