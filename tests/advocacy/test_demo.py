"""The demo campaign: invented, urgent, every kind of action, reserved addresses, beside the demo serial."""

from django.core.management import call_command

from advocacy.models import Action, Campaign, Recipient
from stories.models import Story

RESERVED_DOMAINS = ("example.org", "example.net", "example.com")


def test_demo_campaign_has_every_action_and_is_safe_to_load_twice(client, db, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(tmp_path / "credentials.json"))
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    sizes = (Campaign.objects.count(), Action.objects.count(), Recipient.objects.count())
    call_command("load_demo", "--allow-without-debug", verbosity=0)
    assert sizes == (Campaign.objects.count(), Action.objects.count(), Recipient.objects.count())

    campaign = Campaign.objects.live("en").get()
    assert campaign.is_live("ko") and campaign.is_featured
    assert campaign.kicker_en == "Urgent"
    assert {action.kind for action in campaign.actions.all()} == set(Action.Kind.values)
    letter = campaign.actions.get(kind=Action.Kind.LETTER)
    assert letter.recipients.values("country").distinct().count() >= 3
    assert all(email.endswith(RESERVED_DOMAINS) for email in Recipient.objects.values_list("email", flat=True))
    for action in campaign.actions.exclude(url=""):
        assert action.url.startswith("https://") and ".example." in action.url
    # Shows campaign managers the flag for an address nobody has checked in a year.
    assert Recipient.objects.needing_verification().exists()

    assert list(Story.objects.filter(campaign_links__campaign=campaign).values_list("slug", flat=True)) == [
        "dawns-story"
    ]
    for language in ("en", "ko"):
        html = client.get(f"/{language}/act/{campaign.slug}/").content.decode()
        assert "dawns-story" in html
        assert client.get(f"/{language}/stories/dawns-story/part-1/").content.decode().count(campaign.slug) >= 1
    # Mr. Pine's story, whose teller did not agree to advocacy use, still shows the featured campaign.
    assert campaign.slug in client.get("/en/stories/the-teacher-who-kept-counting/part-1/").content.decode()
