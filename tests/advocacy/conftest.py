"""Small factories for campaigns, their actions and recipients."""

import datetime
import itertools

import pytest
from django.utils import timezone

from advocacy.models import Action, Campaign, CampaignStory, Country, Recipient

_counter = itertools.count(1)


def make_country(code: str = "US", name_en: str = "United States", name_ko: str = "미국") -> Country:
    country, _created = Country.objects.get_or_create(code=code, defaults={"name_en": name_en, "name_ko": name_ko})
    return country


def make_recipient(*, country: Country | None = None, **fields) -> Recipient:
    n = next(_counter)
    defaults = {
        "label_en": f"Embassy number {n}",
        "label_ko": f"대사관 {n}",
        "email": f"office-{n}@example.org",
        "kind": Recipient.Kind.EMBASSY,
        "last_verified_on": timezone.localdate() - datetime.timedelta(days=10),
    }
    defaults.update(fields)
    recipient = Recipient(country=country or make_country(), **defaults)
    recipient.full_clean()
    recipient.save()
    return recipient


def make_campaign(*, stories=(), **fields) -> Campaign:
    """Create a published campaign that started yesterday, with text in both languages."""
    n = next(_counter)
    today = timezone.localdate()
    defaults = {
        "slug": f"campaign-{n}",
        "kicker_en": "Urgent",
        "kicker_ko": "긴급",
        "title_en": f"Campaign {n}",
        "title_ko": f"캠페인 {n}",
        "summary_en": "An invented summary.",
        "summary_ko": "지어낸 요약.",
        "body_en": "Some *background*.",
        "body_ko": "배경 *설명*.",
        "starts_on": today - datetime.timedelta(days=1),
        "status": Campaign.Status.PUBLISHED,
    }
    defaults.update(fields)
    campaign = Campaign(**defaults)
    campaign.full_clean()
    campaign.save()
    for position, story in enumerate(stories):
        CampaignStory.objects.create(campaign=campaign, story=story, position=position)
    return campaign


def make_action(*, campaign: Campaign, kind: str, recipients=(), **fields) -> Action:
    """Create an action of the kind with the text it needs in both languages."""
    defaults = {
        Action.Kind.LETTER: {
            "subject_template_en": "Please do not return them",
            "subject_template_ko": "송환하지 말아 주십시오",
            "body_template_en": "Your Excellency,\n\nPlease let them go.\n\n[Your name]",
            "body_template_ko": "대사님께,\n\n그들을 보내 주십시오.\n\n[이름]",
        },
        Action.Kind.SOCIAL: {"post_template_en": "Read and act:", "post_template_ko": "읽고 행동해 주세요:"},
        Action.Kind.DONATE: {
            "button_label_en": "Donate now",
            "button_label_ko": "지금 후원하기",
            "url": "https://donate.example.org/now",
        },
        Action.Kind.MONTHLY: {
            "button_label_en": "Give monthly",
            "button_label_ko": "매달 후원하기",
            "url": "https://donate.example.org/monthly",
        },
        Action.Kind.NEWSLETTER: {"button_label_en": "Sign up", "button_label_ko": "구독 신청"},
    }[kind]
    defaults = {**defaults, **fields}
    position = defaults.pop("position", campaign.actions.count())
    action = Action(campaign=campaign, kind=kind, position=position, **defaults)
    action.full_clean()
    action.save()
    if recipients:
        action.recipients.set(recipients)
    return action


@pytest.fixture
def campaign(db):
    return make_campaign()
