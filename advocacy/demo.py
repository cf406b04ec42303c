"""Invented demo campaign: every person, office and address here is made up for this project.

Addresses use the reserved example.org, example.net and example.com domains, so no demo letter can
reach a real inbox.
"""

import datetime
import io

from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from advocacy import services
from advocacy.models import Action, Campaign, CampaignStory, Country, PressMention, Recipient, RecipientGroup
from stories import images
from stories.models import Story

COUNTRIES = [
    {"code": "US", "name_en": "United States", "name_ko": "미국"},
    {"code": "GB", "name_en": "United Kingdom", "name_ko": "영국"},
    {"code": "KR", "name_en": "South Korea", "name_ko": "대한민국"},
    {"code": "CH", "name_en": "Switzerland", "name_ko": "스위스"},
    {"code": "CA", "name_en": "Canada", "name_ko": "캐나다"},
]

# Shown to every reader, whatever their country: an invented international office, filed under no country.
GROUPS = [{"key": "international", "name_en": "International organisations", "name_ko": "국제기구", "position": 0}]

# "verified_days_ago" over 365 shows campaign managers the flag for an address nobody has checked.
RECIPIENTS = [
    {
        "email": "embassy-washington@example.org",
        "country": "US",
        "kind": Recipient.Kind.EMBASSY,
        "label_en": "Embassy in Washington, DC",
        "label_ko": "워싱턴 DC 대사관",
        "verified_days_ago": 20,
    },
    {
        "email": "consulate-newyork@example.org",
        "country": "US",
        "kind": Recipient.Kind.CONSULATE,
        "label_en": "Consulate General in New York",
        "label_ko": "뉴욕 총영사관",
        "verified_days_ago": 20,
    },
    {
        "email": "consulate-losangeles@example.org",
        "country": "US",
        "kind": Recipient.Kind.CONSULATE,
        "label_en": "Consulate General in Los Angeles",
        "label_ko": "로스앤젤레스 총영사관",
        "verified_days_ago": 45,
    },
    {
        "email": "un-mission-newyork@example.org",
        "country": "US",
        "kind": Recipient.Kind.UN_MISSION,
        "label_en": "Permanent Mission to the United Nations, New York",
        "label_ko": "뉴욕 유엔 대표부",
        "verified_days_ago": 20,
    },
    {
        "email": "embassy-london@example.net",
        "country": "GB",
        "kind": Recipient.Kind.EMBASSY,
        "label_en": "Embassy in London",
        "label_ko": "런던 대사관",
        "verified_days_ago": 60,
    },
    {
        "email": "consulate-manchester@example.net",
        "country": "GB",
        "kind": Recipient.Kind.CONSULATE,
        "label_en": "Consulate General in Manchester",
        "label_ko": "맨체스터 총영사관",
        "verified_days_ago": 400,
    },
    {
        "email": "embassy-seoul@example.com",
        "country": "KR",
        "kind": Recipient.Kind.EMBASSY,
        "label_en": "Embassy in Seoul",
        "label_ko": "서울 대사관",
        "verified_days_ago": 10,
    },
    {
        "email": "consulate-busan@example.com",
        "country": "KR",
        "kind": Recipient.Kind.CONSULATE,
        "label_en": "Consulate General in Busan",
        "label_ko": "부산 총영사관",
        "verified_days_ago": 10,
    },
    {
        "email": "un-mission-geneva@example.com",
        "country": "CH",
        "kind": Recipient.Kind.UN_MISSION,
        "label_en": "Permanent Mission to the United Nations, Geneva",
        "label_ko": "제네바 유엔 대표부",
        "verified_days_ago": 30,
    },
    {
        "email": "refugee-rights-office@example.org",
        "group": "international",
        "kind": Recipient.Kind.INTERNATIONAL,
        "label_en": "International Office for Refugee Protection, Geneva",
        "label_ko": "제네바 국제난민보호사무소",
        "verified_days_ago": 20,
    },
    {
        "email": "embassy-ottawa@example.com",
        "country": "CA",
        "kind": Recipient.Kind.EMBASSY,
        "label_en": "Embassy in Ottawa",
        "label_ko": "오타와 대사관",
        "verified_days_ago": 90,
    },
]

CAMPAIGN = {
    "slug": "stop-forced-returns",
    "kicker_en": "Urgent",
    "kicker_ko": "긴급",
    "title_en": "Refugees at risk of forced repatriation: write to the embassies now",
    "title_ko": "강제북송 위기의 난민들: 지금 대사관에 편지를 보내 주세요",
    "byline_en": "A call for action from our director",
    "byline_ko": "대표가 드리는 행동 요청",
    "summary_en": (
        "A group of refugees, among them mothers and children, is held near a border and could be "
        "sent back within days. Governments listen when many people write at once."
    ),
    "summary_ko": (
        "어머니와 아이들을 포함한 난민들이 국경 근처에 구금되어 있으며, 며칠 안에 송환될 수 있습니다. "
        "많은 사람이 한꺼번에 목소리를 내면 정부는 귀를 기울입니다."
    ),
    "not_listed_en": (
        "Write to the international organisations below, and send the same "
        "letter to the nearest embassy of that government: its address is on its foreign ministry's website."
    ),
    "not_listed_ko": (
        "아래 국제기구에 편지를 보내 주시고, 가장 가까운 곳에 있는 "
        "그 정부의 대사관에도 같은 편지를 보내 주세요. 주소는 그 정부 외교부 누리집에 있습니다."
    ),
    "body_en": (
        "Our caseworkers have learned that a group of people who escaped North Korea has been detained "
        "near a border. People who are sent back face interrogation, prison camps and worse; women who "
        "were trafficked are punished again for having left.\n\n"
        "**Forced return is not inevitable.** In the past, letters from around the world have delayed "
        "returns long enough for people to reach safety. The government that holds them has embassies, "
        "consulates and missions to the United Nations in many countries, and each of them reports the "
        "letters it receives.\n\n"
        "Please write today: choose the country you live in below, and send the letter to every address "
        "listed. It takes five minutes.\n\n"
        "*This campaign and everything in it is invented for the demo site.*"
    ),
    "body_ko": (
        "저희 상담원들은 북한을 탈출한 사람들이 국경 근처에서 구금되었다는 소식을 들었습니다. 송환된 "
        "사람들은 취조와 정치범수용소, 그보다 더한 일을 겪습니다. 인신매매 피해를 입은 여성들은 떠났다는 "
        "이유로 다시 처벌받습니다.\n\n"
        "**강제송환은 피할 수 없는 일이 아닙니다.** 과거에도 세계 곳곳에서 보낸 편지가 송환을 늦추어 "
        "사람들이 안전한 곳에 닿을 수 있었습니다. 이들을 붙잡고 있는 정부는 여러 나라에 대사관과 "
        "영사관, 유엔 대표부를 두고 있으며, 각 공관은 받은 편지를 본국에 보고합니다.\n\n"
        "오늘 편지를 보내 주세요. 아래에서 사시는 나라를 고르고, 나오는 모든 주소로 편지를 보내시면 "
        "됩니다. 5분이면 충분합니다.\n\n"
        "*이 캠페인과 그 내용은 모두 데모 사이트를 위해 지어낸 것입니다.*"
    ),
}

ACTIONS = [
    {
        "kind": Action.Kind.LETTER,
        "heading_en": "Write to the embassies",
        "heading_ko": "대사관에 편지 쓰기",
        "blurb_en": "A short, polite letter is the most effective. Add a sentence of your own if you like.",
        "blurb_ko": "짧고 정중한 편지가 가장 효과적입니다. 원하시면 직접 한 문장을 덧붙여 주세요.",
        "subject_template_en": "Please do not return North Korean refugees",
        "subject_template_ko": "탈북 난민을 강제송환하지 말아 주십시오",
        "body_template_en": (
            "Your Excellency,\n\n"
            "I am writing about the refugees from North Korea who are detained in your country and may "
            "soon be returned.\n\n"
            "People who are sent back to North Korea face interrogation, imprisonment and torture. "
            "Returning them would break the principle of non-refoulement, which your government has "
            "promised to respect.\n\n"
            "I respectfully ask your government to release them, to let them travel to a country of their "
            "choice, and to allow the UN refugee agency to meet them.\n\n"
            "Thank you for passing this letter on to your government.\n\n"
            "Yours sincerely,\n"
            "[Your name]\n"
            "[Your town and country]"
        ),
        "body_template_ko": (
            "관계자 여러분께\n\n"
            "귀 정부가 구금하고 있는 탈북 난민들에 관해 편지를 드립니다. "
            "이들은 곧 북한으로 송환될 수 있습니다.\n\n"
            "북한으로 송환된 사람들은 취조와 구금, 고문을 겪습니다. 이들을 돌려보내는 것은 귀 정부가 "
            "존중하기로 약속한 강제송환 금지 원칙을 어기는 일입니다.\n\n"
            "귀 정부가 이들을 석방하고, 스스로 원하는 나라로 갈 수 있게 하며, 유엔난민기구가 이들을 "
            "만날 수 있도록 허락해 주시기를 정중히 요청합니다.\n\n"
            "이 편지를 귀 정부에 전해 주시면 감사하겠습니다.\n\n"
            "[이름] 올림\n"
            "[사는 도시와 나라]"
        ),
    },
    {
        "kind": Action.Kind.SOCIAL,
        "heading_en": "Share on X",
        "heading_ko": "X에 알리기",
        "blurb_en": "The more people know, the harder it is to send them back quietly.",
        "blurb_ko": "더 많은 사람이 알수록 조용히 돌려보내기 어려워집니다.",
        "post_template_en": (
            "Refugees who escaped North Korea are detained and could be sent back within days. "
            "Forced return means prison camps and worse. Read their stories and write to the embassies:"
        ),
        "post_template_ko": (
            "북한을 탈출한 난민들이 구금되어 며칠 안에 송환될 수 있습니다. "
            "강제북송되면 정치범수용소와 그보다 더한 일이 기다립니다. "
            "이들의 이야기를 읽고 대사관에 편지를 보내 주세요:"
        ),
    },
    {
        "kind": Action.Kind.DONATE,
        "heading_en": "Help with a gift today",
        "heading_ko": "오늘 후원으로 함께해 주세요",
        "blurb_en": "Your gift pays for safe houses, food and the long journey to safety.",
        "blurb_ko": "후원금은 안전가옥과 식량, 그리고 안전한 곳까지의 긴 여정에 쓰입니다.",
        "button_label_en": "Donate now",
        "button_label_ko": "지금 후원하기",
        "url": "https://donate.example.org/refugee-rescue",
    },
    {
        "kind": Action.Kind.MONTHLY,
        "heading_en": "Give every month",
        "heading_ko": "매달 후원하기",
        "blurb_en": "Monthly gifts let our caseworkers plan rescues ahead instead of waiting for funds.",
        "blurb_ko": "정기 후원이 있으면 상담원들이 기금을 기다리지 않고 미리 구출을 계획할 수 있습니다.",
        "button_label_en": "Become a monthly supporter",
        "button_label_ko": "정기 후원자 되기",
        "url": "https://donate.example.org/monthly",
    },
    {
        "kind": Action.Kind.NEWSLETTER,
        "heading_en": "Hear what happens next",
        "heading_ko": "다음 소식 받기",
        "blurb_en": "We will tell you how this campaign ends and when new stories are published.",
        "blurb_ko": "이 캠페인이 어떻게 마무리되는지, 새 이야기가 언제 실리는지 알려 드립니다.",
        "button_label_en": "Sign up",
        "button_label_ko": "구독 신청",
    },
]

# The demo serial, whose teller agreed to its use in campaigns.
LINKED_STORIES = ["dawns-story"]


@transaction.atomic
def load_demo_campaigns() -> Campaign:
    """Create the demo campaign, its recipients and actions once; later runs change nothing."""
    today = timezone.localdate()
    countries = {}
    for data in COUNTRIES:
        country, _created = Country.objects.get_or_create(code=data["code"], defaults=data)
        countries[data["code"]] = country
    groups = {}
    for data in GROUPS:
        fields = {key: value for key, value in data.items() if key != "key"}
        group = RecipientGroup.objects.filter(name_en=data["name_en"]).first()
        if group is None:
            group = RecipientGroup(**fields)
            group.full_clean()
            group.save()
        groups[data["key"]] = group
    recipients = []
    for data in RECIPIENTS:
        recipient = Recipient.objects.filter(email=data["email"]).first()
        if recipient is None:
            fields = {key: value for key, value in data.items() if key not in {"country", "group", "verified_days_ago"}}
            recipient = Recipient(
                country=countries.get(data.get("country")),
                group=groups.get(data.get("group")),
                last_verified_on=today - datetime.timedelta(days=data["verified_days_ago"]),
                **fields,
            )
            recipient.full_clean()
            recipient.save()
        recipients.append(recipient)

    campaign = Campaign.objects.filter(slug=CAMPAIGN["slug"]).first()
    if campaign is not None:
        load_demo_photo_and_press(campaign)
        return campaign
    campaign = Campaign(
        **CAMPAIGN,
        date=today - datetime.timedelta(days=3),
        starts_on=today - datetime.timedelta(days=3),
        ends_on=None,
        priority=10,
        status=Campaign.Status.PUBLISHED,
        is_featured=True,
    )
    campaign.full_clean()
    campaign.save()
    for position, data in enumerate(ACTIONS):
        action = Action(campaign=campaign, position=position, **data)
        action.full_clean()
        action.save()
        if action.kind == Action.Kind.LETTER:
            action.recipients.set(recipients)
    for position, slug in enumerate(LINKED_STORIES):
        story = Story.objects.filter(slug=slug).first()
        if story is not None:
            link = CampaignStory(campaign=campaign, story=story, position=position)
            link.full_clean()
            link.save()
    load_demo_photo_and_press(campaign)
    return campaign


# Invented, drawn here: a photo of no real place or person, and logos of outlets that do not exist.
PHOTO_TEXT = {
    "photo_alt_en": "Candles burning on a stone step at dusk, beside a folded paper crane.",
    "photo_alt_ko": "해 질 무렵 돌계단 위에서 타는 촛불들과 그 옆에 놓인 종이학.",
    "photo_caption_en": "Candles left by readers at a vigil for the families waiting for news.",
    "photo_caption_ko": "소식을 기다리는 가족들을 위한 촛불 모임에서 독자들이 놓고 간 촛불.",
    "photo_credit_en": "Archive volunteer",
    "photo_credit_ko": "기록관 자원봉사자",
}
PRESS = [
    {"name": "The Lantern Ledger", "colour": (24, 52, 96), "alt_ko": "더 랜턴 레저"},
    {"name": "Riverbend Weekly", "colour": (120, 36, 24), "alt_ko": "리버벤드 위클리"},
    {"name": "Meridian Radio Review", "colour": (28, 92, 64), "alt_ko": "메리디언 라디오 리뷰"},
    {"name": "Paper Crane Press", "colour": (70, 60, 110), "alt_ko": "페이퍼 크레인 프레스"},
]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def demo_photo() -> bytes:
    """Draw the demo campaign's photo: dusk, a stone step and candle flames, nothing real."""
    width, height = 1600, 900
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = y / height
        draw.line([(0, y), (width, y)], fill=(int(40 + 60 * shade), int(34 + 30 * shade), int(70 - 20 * shade)))
    draw.rectangle([0, 620, width, height], fill=(88, 84, 80))
    draw.rectangle([0, 600, width, 628], fill=(120, 116, 110))
    for number, x in enumerate(range(260, 1400, 150)):
        top = 520 - (number % 3) * 18
        draw.rectangle([x, top, x + 36, 610], fill=(236, 228, 210))
        for radius, colour in ((60, (120, 80, 40)), (34, (220, 150, 60)), (16, (255, 226, 150))):
            draw.ellipse([x + 18 - radius, top - 30 - radius, x + 18 + radius, top - 30 + radius], fill=colour)
    # A folded paper crane, as a few pale triangles.
    draw.polygon([(1420, 600), (1500, 520), (1540, 600)], fill=(245, 242, 236))
    draw.polygon([(1480, 600), (1560, 470), (1520, 600)], fill=(226, 222, 214))
    return _png(image.filter(ImageFilter.GaussianBlur(2)))


def demo_logo(name: str, colour: tuple[int, int, int]) -> bytes:
    """Draw an invented outlet's logo: its name beside a simple mark, on a transparent background."""
    font = ImageFont.load_default(size=40)
    left, top, right, bottom = font.getbbox(name)
    width, height = right - left + 110, 96
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([8, 18, 68, 78], outline=colour + (255,), width=8)
    draw.text((86 - left, (height - (bottom - top)) // 2 - top), name, font=font, fill=colour + (255,))
    return _png(image)


def load_demo_photo_and_press(campaign: Campaign) -> None:
    """Give the demo campaign its photo and the site its press strip, once; later runs change nothing."""
    if not campaign.photo:
        for name, value in PHOTO_TEXT.items():
            setattr(campaign, name, value)
        campaign.full_clean()
        services.campaign_photo_set(campaign=campaign, prepared=images.render(demo_photo()))
    elif not campaign.photo_credit_ko and campaign.photo_credit_en == PHOTO_TEXT["photo_credit_en"]:
        # A demo loaded while the credit was one English text (before advocacy 0010) gets its Korean credit.
        campaign.photo_credit_ko = PHOTO_TEXT["photo_credit_ko"]
        campaign.full_clean()
        campaign.save(update_fields=["photo_credit_ko"])
    for position, outlet in enumerate(PRESS):
        if PressMention.objects.filter(name=outlet["name"]).exists():
            continue
        slug = outlet["name"].lower().replace(" ", "-")
        mention = PressMention(
            name=outlet["name"],
            link=f"https://{slug}.example.com/reports/testimony-archive",
            alt_text_en=outlet["name"],
            alt_text_ko=outlet["alt_ko"],
            position=position,
        )
        services.press_mention_save(
            mention=mention, prepared=images.render(demo_logo(outlet["name"], outlet["colour"]))
        )
