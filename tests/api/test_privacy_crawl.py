"""Nothing private or unapproved is ever in the read API.

Every private field the models hold (found by reading them: identity records, the consent ledger and its
evidence, the guard's and the audit trail's records, drafts and unapproved translations, photo originals
and their hidden details, staff accounts, subscribers, recipients' notes, letters, imports and exports)
is filled with a sentinel, beside public stories that make the API answer in full; then the whole API is
walked, in both languages, following every cursor and every link, and no answer may hold a sentinel.
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from advocacy.models import Action, Campaign, Country, Recipient, Subscriber
from background.models import Export, WorkerHeartbeat
from stories import services
from stories.models import (
    ConsentEvidence,
    FileDeletion,
    GuardRefusal,
    Part,
    ProtectedTerm,
    Story,
    StoryImage,
    StorytellerIdentity,
    Theme,
)
from tests.advocacy.conftest import make_campaign
from tests.api.conftest import API
from tests.conftest import make_part, make_story, make_storyteller
from tests.stories.test_images import jpeg_with_everything, make_image
from translations.models import PoImport, Translation

MARK = "QX7SECRET"


def secret(where: str) -> str:
    """A sentinel that names the field it was put in, so a leak says where it came from."""
    return f"{MARK}-{where}"


def staff(name: str):
    return get_user_model().objects.create_user(
        username=secret(f"username-{name}"),
        email=f"{MARK.lower()}-{name}@example.org",
        first_name=secret(f"first-name-{name}"),
        last_name=secret(f"last-name-{name}"),
        password="not-a-real-password-1",
        is_staff=True,
    )


def texts(prefix: str) -> dict:
    """Every translated text field of a story and a part, in both languages, filled with sentinels."""
    return {
        f"{field}_{code}": secret(f"{prefix}-{field}-{code}") for field in ("title", "summary") for code in ("en", "ko")
    }


def part_texts(prefix: str) -> dict:
    return {
        **texts(prefix),
        **{f"body_{code}": secret(f"{prefix}-body-{code}") for code in ("en", "ko")},
    }


@pytest.fixture
def archive_with_secrets(db, settings):
    editor = staff("editor")
    officer = staff("officer")
    theme = Theme.objects.create(slug="family", name_en="Family", name_ko="가족")

    # Public stories, so that every endpoint answers with content (and photos, themes, campaigns).
    teller = make_storyteller(
        consent={"covers_photos": True, "note": secret("consent-note")},
        identity={
            "legal_name": secret("legal-name"),
            "caseworker_notes": secret("caseworker-notes"),
            "identifying_terms": secret("identifying-term"),
        },
    )
    public = make_story(storyteller=teller)
    public.themes.add(theme)
    first = make_part(story=public)
    make_part(story=public)
    # An earlier title, now only in the audit trail.
    second = make_part(story=public, title_en=secret("earlier-title"))
    second.title_en = "A later title"
    second.save()
    # Parts of a public story that readers may not see: draft, in review, archived, scheduled.
    for status in (Part.Status.DRAFT, Part.Status.IN_REVIEW, Part.Status.ARCHIVED):
        make_part(story=public, status=status, **part_texts(f"part-{status}"))
    make_part(story=public, published_at=timezone.now() + datetime.timedelta(days=3), **part_texts("scheduled"))
    # A photo: its upload's name and hidden details (GPS, camera, comments) and its stored files stay private.
    photo = make_image(first, jpeg_with_everything(), credit_en="Invented Photographer")
    StoryImage.objects.filter(pk=photo.pk).update(processing_error=secret("processing-error"))
    photo.refresh_from_db()
    private_names = [photo.original.name, *(item["name"] for item in photo.renditions["items"])]
    # That photo is the story's cover too: the API shows it as the pages do, and nothing more of it.
    public.cover = photo
    services.story_save(story=public)
    # A photo of a person whose teller never consented to photos, the cover of that teller's public story.
    unconsented = make_story()
    identifiable = make_image(
        make_part(story=unconsented),
        jpeg_with_everything(),
        shows_identifiable_person=True,
        alt_text_en=secret("alt-identifiable"),
        alt_text_ko=secret("alt-identifiable-ko"),
        caption_en=secret("caption-identifiable"),
    )
    unconsented.cover = identifiable
    services.story_save(story=unconsented)
    private_names += [identifiable.rendition_key, *(item["name"] for item in identifiable.renditions["items"])]

    # An unapproved translation: text in the fields and in the workspace's draft, never approved.
    mixed = make_story()
    unapproved = Part.objects.create(
        story=mixed,
        number=1,
        status=Part.Status.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(hours=1),
        title_en="Written in English",
        body_en="An English body.",
        title_ko=secret("unapproved-title-ko"),
        summary_ko=secret("unapproved-summary-ko"),
        body_ko=secret("unapproved-body-ko"),
    )
    Translation.objects.update_or_create(
        content_type=ContentType.objects.get_for_model(Part),
        object_id=first.pk,
        language="ko",
        defaults={
            "status": Translation.Status.APPROVED,
            "approved_at": timezone.now(),
            "approved_by": editor,
            "submitted_by": editor,
            "draft": {"title": secret("translation-draft"), "body": secret("translation-draft-body")},
            "draft_source": {"title": secret("translation-draft-source")},
            "needs_update": True,
            "keep_public_while_updating": True,
        },
    )
    PoImport.objects.create(story=mixed, language="ko", by=editor, interface_language="ko", content=secret("po-file"))

    # Storytellers whose stories are not public: withdrawn, lapsed, never consented to Korean, draft story.
    withdrawn = make_story(storyteller=make_storyteller(), **texts("withdrawn"))
    make_part(story=withdrawn, **part_texts("withdrawn-part"))
    services.consent_withdraw(
        storyteller=withdrawn.storyteller, reason=secret("withdrawal-reason"), recorded_by=officer
    )
    lapsed = make_story(
        storyteller=make_storyteller(
            consent={"review_by": timezone.localdate() - datetime.timedelta(days=1)},
            pseudonym_en=secret("lapsed-pseudonym"),
            bio_en=secret("lapsed-bio"),
        ),
        **texts("lapsed"),
    )
    make_part(story=lapsed, **part_texts("lapsed-part"))
    english_only = make_story(
        storyteller=make_storyteller(consent={"covers_korean": False}),
        title_ko=secret("english-only-title-ko"),
        summary_ko=secret("english-only-summary-ko"),
    )
    make_part(
        story=english_only,
        title_ko=secret("english-only-part-ko"),
        body_ko=secret("english-only-body-ko"),
        summary_ko=secret("english-only-part-summary-ko"),
    )
    draft = make_story(status=Story.Status.DRAFT, **texts("draft-story"))
    make_part(story=draft, **part_texts("draft-story-part"))

    # The ledger and its evidence, the guard's records, files to delete, protected terms.
    consent = teller.consents.first()
    consent.recorded_by = officer
    consent.save()
    ConsentEvidence.objects.create(
        consent=consent,
        description=secret("evidence-description"),
        file=SimpleUploadedFile(f"{MARK}-evidence.pdf", secret("evidence-file").encode()),
    )
    StorytellerIdentity.objects.filter(storyteller=withdrawn.storyteller).update(legal_name=secret("withdrawn-name"))
    ProtectedTerm.objects.create(term=secret("protected-term"), note=secret("protected-term-note"))
    GuardRefusal.objects.create(
        username=secret("refused-user"), object_type=secret("refused-type"), field=secret("refused-field")
    )
    FileDeletion.objects.create(name=f"{MARK}-deleted-file.jpg", last_error=secret("deletion-error"))

    # Campaigns readers may not see, private advocacy records, and one live campaign beside the public story.
    live = make_campaign(stories=[public, lapsed, withdrawn])
    make_campaign(status=Campaign.Status.DRAFT, title_en=secret("draft-campaign"), body_en=secret("draft-body"))
    make_campaign(ends_on=timezone.localdate() - datetime.timedelta(days=1), title_en=secret("ended-campaign"))
    make_campaign(title_ko="", summary_ko=secret("campaign-without-korean-title"))
    country = Country.objects.create(code="ZZ", name_en="Invented Country", name_ko="지어낸 나라")
    recipient = Recipient.objects.create(
        label_en="An office",
        label_ko="사무소",
        email=f"{MARK.lower()}-recipient@example.org",
        country=country,
        kind=Recipient.Kind.EMBASSY,
        note=secret("recipient-note"),
    )
    action = Action.objects.create(
        campaign=live,
        kind=Action.Kind.LETTER,
        subject_template_en=secret("letter-subject"),
        body_template_en=secret("letter-body"),
        post_template_en=secret("post"),
    )
    action.recipients.add(recipient)
    Subscriber.objects.create(email=f"{MARK.lower()}-subscriber@example.org")
    Export.objects.create(kind="audit", requested_by=officer, content=secret("export").encode(), error=secret("x")[:90])
    WorkerHeartbeat.objects.create(
        worker_id="w1", hostname=secret("host"), pid=1, started_at=timezone.now(), seen_at=timezone.now()
    )
    return {"private_names": private_names, "unapproved": unapproved}


def test_a_crawl_of_the_whole_api_finds_no_private_or_unapproved_text(api, archive_with_secrets):
    bodies = api.crawl(page_size=1)
    # The walk reached every kind of answer: lists, stories, parts with photos, campaigns.
    assert any(
        "/parts/" in url and b'"body_html"' in body and b'"renditions": [{' in body for url, body in bodies.items()
    )
    assert any("/campaigns/" in url and b'"stories": [{' in body for url, body in bodies.items())
    # Covers in the lists and details of stories and parts, and beside the stories of a campaign.
    for kind in ("/stories/", "/parts/", "/campaigns/"):
        assert any(kind in url and b'"cover": {"language"' in body for url, body in bodies.items()), kind
    assert any("/stories/?theme=" in url for url in bodies)
    schema = api.client.get(f"{API}schema/").content
    for url, body in {**bodies, f"{API}schema/": schema}.items():
        text = body.decode()
        assert MARK not in text and MARK.lower() not in text, (url, text[text.find(MARK) :][:200])
        for name in archive_with_secrets["private_names"]:
            assert name not in text, url
        assert "Hyesan" not in text and "GPS" not in text
    assert len(bodies) > 20
