"""Survivor-safety guarantees, each attacked: withdrawal with caches on, the identifying-detail
guard, encryption at rest, private evidence, the audit trail and stale edits."""

import datetime
import logging
import sys

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone, translation
from django.views.debug import ExceptionReporter

from stories import audit, privacy, services
from stories.fields import IdentityKeyMissing, Sealed
from stories.models import Consent, ConsentEvidence, Part, ProtectedTerm, Story, StorytellerIdentity
from tests.advocacy.conftest import make_campaign
from tests.conftest import make_part, make_story, make_storyteller, sitemap_pages

SENTINEL = "Zq7-SENTINEL-칠성"


def url_in(obj, language):
    with translation.override(language):
        return obj.get_absolute_url()


def reader_urls(parts, campaigns=()):
    urls = ["/en/", "/ko/", "/en/stories/", "/ko/stories/", "/en/feed/", "/ko/feed/", "/robots.txt"]
    # Every page the sitemap lists now: ranges of ids, whose numbers depend on the database's sequences.
    urls += sitemap_pages(Client())
    for campaign in campaigns:
        urls += [url_in(campaign, "en"), url_in(campaign, "ko")]
    for part in parts:
        for language in ("en", "ko"):
            urls += [url_in(part, language), url_in(part.story, language)]
    return urls


# --- Withdrawal reaches everywhere at the next request, with caches on -------------------------


def test_withdrawal_hides_everything_at_the_next_request_with_the_cache_on(client, storyteller, consent_officer):
    story = make_story(storyteller=storyteller)
    parts = [make_part(story=story) for _ in range(3)]
    other = make_part()  # someone else's story stays public
    campaign = make_campaign(stories=[story, other.story])
    urls = reader_urls(parts, [campaign])
    etags = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        etags[url] = response.get("ETag")
        # Served from the cache the second time round.
        assert client.get(url).content == response.content

    services.consent_withdraw(storyteller=storyteller, reason="Asked to take it down.", recorded_by=consent_officer)

    for part in parts:
        for language in ("en", "ko"):
            for url in (url_in(part, language), url_in(part.story, language)):
                assert client.get(url).status_code == 404
                # A reader holding an old ETag gets the 404, never a 304 for the old page.
                assert client.get(url, headers={"if-none-match": etags[url]}).status_code == 404
    listings = ("/en/", "/ko/", "/en/stories/", "/ko/stories/", "/en/feed/", "/ko/feed/", *sitemap_pages(client))
    for listing in (*listings, url_in(campaign, "en"), url_in(campaign, "ko")):
        html = client.get(listing).content.decode()
        assert story.slug not in html
        assert storyteller.pseudonym_en not in html and storyteller.pseudonym_ko not in html
    assert client.get(url_in(other, "en")).status_code == 200


def test_etag_revalidation_still_works_for_unchanged_public_pages(client, part):
    url = url_in(part, "en")
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304


def test_scheduled_parts_never_go_live_after_a_withdrawal(story, now):
    scheduled = make_part(story=story, published_at=now + datetime.timedelta(days=2))
    services.consent_withdraw(storyteller=story.storyteller, reason="Withdrawn.", recorded_by=None)
    services.consent_record(
        storyteller=story.storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=300),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
    )
    scheduled.refresh_from_db()
    assert scheduled.status == Part.Status.DRAFT
    later = now + datetime.timedelta(days=3)
    assert not Part.objects.public("en", now=later).filter(pk=scheduled.pk).exists()


def test_consent_lapses_on_its_review_date_even_for_cached_pages(client, db, monkeypatch):
    today = timezone.localdate()
    part = make_part(story=make_story(storyteller=make_storyteller(consent={"review_by": today})))
    url = url_in(part, "en")
    assert client.get(url).status_code == 200
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    assert client.get(url).status_code == 404


def test_withdrawal_refuses_edit_forms_opened_before_it(part):
    opened_at = part.version
    services.consent_withdraw(storyteller=part.story.storyteller, reason="Withdrawn.", recorded_by=None)
    stale = Part.objects.get(pk=part.pk)
    with pytest.raises(ValidationError, match="Someone else saved this"):
        services.part_publish(part=stale, expected_version=opened_at)


def test_second_of_two_concurrent_edits_is_refused(part):
    first = Part.objects.get(pk=part.pk)
    second = Part.objects.get(pk=part.pk)
    first.title_en = "Edited by the first editor"
    services.part_set_status(part=first, status=Part.Status.IN_REVIEW, expected_version=part.version)
    second.title_en = "Edited by the second editor"
    with pytest.raises(ValidationError):
        services.part_set_status(part=second, status=Part.Status.ARCHIVED, expected_version=part.version)
    part.refresh_from_db()
    assert part.title_en == "Edited by the first editor"
    assert part.status == Part.Status.IN_REVIEW


# --- The identifying-detail guard ------------------------------------------------------------


@pytest.fixture
def guarded_story(db):
    storyteller = make_storyteller(identity={"identifying_terms": "Kim Sunhee\n혜산\nOkryu Street"})
    return make_story(storyteller=storyteller)


@pytest.mark.parametrize(
    ("field", "text", "where"),
    [
        ("body_en", "We met near okryu street at dawn.", "part body (English)"),
        ("title_en", "KIM SUNHEE remembers", "part title (English)"),
        ("body_ko", "그녀는 혜산에서 왔다.", "part body (Korean)"),
        # Full-width Latin letters.
        ("summary_en", "Ｋｉｍ Ｓｕｎｈｅｅ", "part summary (English)"),
        # A zero-width space hidden inside the term.
        ("body_ko", "혜\u200b산 근처", "part body (Korean)"),
        # Decomposed Hangul jamo that render the same syllables.
        ("title_ko", "\u1112\u1168\u1109\u1161\u11ab 이야기", "part title (Korean)"),
    ],
)
def test_publishing_is_refused_when_public_text_names_an_identifying_term(guarded_story, field, text, where):
    part = make_part(story=guarded_story, status=Part.Status.DRAFT)
    setattr(part, field, text)
    with pytest.raises(ValidationError) as refused:
        services.part_publish(part=part)
    message = " ".join(refused.value.messages)
    assert where in message
    part.refresh_from_db()
    assert part.status == Part.Status.DRAFT


def test_site_wide_protected_terms_are_guarded_too(guarded_story):
    ProtectedTerm.objects.create(term="Shelter on Maple Hill")
    part = make_part(story=guarded_story, status=Part.Status.DRAFT, body_en="We hid at the shelter on maple hill.")
    with pytest.raises(ValidationError) as refused:
        services.part_publish(part=part)
    # The place in the editor's own text, never the protected term itself.
    assert "part body (English), line 1, from character 15: “shelter on…”" in refused.value.messages
    assert "Maple Hill" not in " ".join(refused.value.messages)


def test_story_and_storyteller_text_are_guarded(guarded_story):
    guarded_story.summary_ko = "혜산 출신"
    with pytest.raises(ValidationError, match="story summary"):
        guarded_story.full_clean()
    storyteller = guarded_story.storyteller
    storyteller.bio_en = "Born in Hyesan, near okryu street."
    with pytest.raises(ValidationError, match="storyteller bio"):
        storyteller.full_clean()


def test_clean_text_publishes(guarded_story):
    part = make_part(story=guarded_story, status=Part.Status.DRAFT, body_en="Nothing here names anyone.")
    services.part_publish(part=part)
    assert part.is_public("en")


def test_privacy_audit_exits_non_zero_and_never_prints_the_term(guarded_story, capsys):
    part = make_part(story=guarded_story)
    call_command("privacy_audit")
    # Planted behind the guard's back, as a direct database edit would.
    Part.objects.filter(pk=part.pk).update(body_ko="혜산에서")
    with pytest.raises(CommandError):
        call_command("privacy_audit")
    output = capsys.readouterr().out
    assert "part body (Korean)" in output
    assert "혜산" not in output


# --- Identity encrypted at rest ----------------------------------------------------------------


def test_identity_is_encrypted_at_rest(db):
    storyteller = make_storyteller(
        identity={"legal_name": SENTINEL, "caseworker_notes": SENTINEL, "identifying_terms": SENTINEL}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_name, caseworker_notes, identifying_terms FROM stories_storytelleridentity "
            "WHERE storyteller_id = %s",
            [storyteller.pk],
        )
        raw = cursor.fetchone()
        cursor.execute("SELECT legal_name FROM stories_historicalstorytelleridentity")
        history = [row[0] for row in cursor.fetchall()]
    assert all(SENTINEL not in value for value in raw + tuple(history))
    assert StorytellerIdentity.objects.get(storyteller=storyteller).legal_name == SENTINEL


def test_without_the_key_the_site_runs_and_identity_stays_sealed(client, db):
    storyteller = make_storyteller(identity={"legal_name": SENTINEL, "identifying_terms": "Okryu"})
    part = make_part(story=make_story(storyteller=storyteller))
    draft = make_part(story=part.story, status=Part.Status.DRAFT)
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[]):
        assert client.get(url_in(part, "en")).status_code == 200
        identity = StorytellerIdentity.objects.get(storyteller=storyteller)
        assert isinstance(identity.legal_name, Sealed)
        assert SENTINEL not in identity.legal_name
        # Saving it back keeps the ciphertext instead of destroying or exposing it.
        identity.save()
        with pytest.raises(IdentityKeyMissing), transaction.atomic():
            StorytellerIdentity.objects.filter(pk=identity.pk).update(legal_name="new name")
        # The guard cannot read the terms, so it refuses rather than waving text through.
        with pytest.raises(ValidationError, match="identity key is missing"):
            services.part_publish(part=draft)
    assert StorytellerIdentity.objects.get(storyteller=storyteller).legal_name == SENTINEL


# --- Private data never reaches public pages, headers, logs or error reports --------------------


def test_sentinel_in_every_private_field_never_reaches_a_public_response(client, db, caplog, tmp_path):
    from advocacy.models import Action, Subscriber
    from tests.advocacy.conftest import make_action, make_recipient
    from translations import services as translation_services

    storyteller = make_storyteller(
        identity={"legal_name": SENTINEL, "caseworker_notes": SENTINEL, "identifying_terms": SENTINEL},
        consent={"note": SENTINEL},
    )
    story = make_story(storyteller=storyteller)
    parts = [make_part(story=story) for _ in range(2)]
    # Text that exists but is not public: a draft part, a translation draft, a draft campaign.
    draft_part = make_part(story=story, status=Part.Status.DRAFT, title_en=SENTINEL, body_en=SENTINEL)
    translation_services.translation_save_draft(
        obj=parts[0], language="ko", text={"title": SENTINEL, "body": SENTINEL}, by=None
    )
    make_campaign(status="draft", title_en=SENTINEL, body_en=SENTINEL)
    campaign = make_campaign(stories=[story])
    letter = make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[make_recipient(note=SENTINEL)])
    ProtectedTerm.objects.create(term=SENTINEL, note=SENTINEL)
    Subscriber.objects.create(email="zq7sentinel@example.org", status=Subscriber.Status.CONFIRMED)
    withdrawn = make_storyteller(pseudonym_en="Withdrawn Teller")
    make_part(story=make_story(storyteller=withdrawn, slug="withdrawn-story"))
    services.consent_withdraw(storyteller=withdrawn, reason=SENTINEL, recorded_by=None)
    consent = storyteller.effective_consent()
    ConsentEvidence.objects.create(consent=consent, description=SENTINEL, file=ContentFile(SENTINEL, name="form.txt"))
    caplog.set_level(logging.DEBUG)

    urls = reader_urls(parts, [campaign]) + [
        "/en/no-such-page/",
        "/ko/stories/no-such-story/part-1/",
        url_in(draft_part, "en"),
        "/en/stories/withdrawn-story/",
        "/en/stories/?theme=family",
        "/ko/stories/?page=2",
        "/evidence/1/",
        f"/en/act/{campaign.slug}/go/{letter.pk}/",
        "/en/newsletter/",
        f"/ko/newsletter/?campaign={campaign.slug}",
        "/en/newsletter/sent/",
        "/en/newsletter/token/",
        "/en/newsletter/confirm/not-a-token/",
        "/en/newsletter/unsubscribe/not-a-token/",
        f"/en/preview/parts/{draft_part.pk}/",
        "/en/translate/",
        f"/en/translate/ko/part/{parts[0].pk}/",
        "/admin/login/",
    ]
    for url in urls:
        for method in (client.get, client.head):
            response = method(url)
            assert response.status_code < 500, url
            blob = response.content.decode() + str(response.headers)
            assert SENTINEL not in blob, url
            assert "zq7sentinel" not in blob, url
    assert SENTINEL not in caplog.text and "zq7sentinel" not in caplog.text


def test_the_server_error_page_holds_nothing_of_the_failure(client, part, monkeypatch):
    from stories.views import PartDetailView

    def fail(self, queryset=None):
        raise RuntimeError(f"failed while reading {SENTINEL}")

    monkeypatch.setattr(PartDetailView, "get_object", fail)
    client.raise_request_exception = False
    for language in ("en", "ko"):
        response = client.get(url_in(part, language))
        assert response.status_code == 500
        html = response.content.decode()
        assert f'<html lang="{language}">' in html
        assert SENTINEL not in html and "failed while reading" not in html and "Traceback" not in html


def test_error_reports_hide_the_guards_terms(rf, guarded_story, monkeypatch):
    part = make_part(story=guarded_story, status=Part.Status.DRAFT)
    ProtectedTerm.objects.create(term=SENTINEL)

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(privacy, "normalise", explode)
    request = rf.get("/admin/")
    try:
        privacy.check(part)
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    assert "boom" in report
    assert SENTINEL not in report
    assert "Kim Sunhee" not in report


# --- Private evidence --------------------------------------------------------------------------


@pytest.fixture
def evidence(storyteller, settings):
    consent = storyteller.effective_consent()
    return ConsentEvidence.objects.create(
        consent=consent, description="Signed form", file=ContentFile(b"%PDF-1.4 invented", name="form.pdf")
    )


def test_evidence_is_stored_outside_the_public_media_root(evidence, settings):
    path = evidence.file.path
    assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert not path.startswith(str(settings.MEDIA_ROOT))
    assert "form" not in evidence.file.name  # random name, nothing about the person


def test_evidence_is_served_only_to_consent_officers(client, evidence, consent_officer, editor, translator):
    url = f"/evidence/{evidence.pk}/"
    assert client.get(url).status_code == 404
    for user in (editor, translator):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(consent_officer)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 invented"
    assert "no-store" in response["Cache-Control"]
    assert client.get("/evidence/999999/").status_code == 404


# --- The audit trail ---------------------------------------------------------------------------


def test_audit_trail_records_who_changed_consent_identity_and_publication(storyteller, consent_officer):
    story = make_story(storyteller=storyteller)
    part = make_part(story=story, status=Part.Status.DRAFT)
    services.part_publish(part=part)
    identity = storyteller.identity
    identity.legal_name = "Invented Legal Name"
    identity.save()
    services.consent_withdraw(storyteller=storyteller, reason="Moved away.", recorded_by=consent_officer)

    entries = audit.audit_entries()
    status_changes = [e for e in entries if e.field == "status" and e.object_id == part.pk and e.model == "part"]
    assert any(e.before == Part.Status.DRAFT and e.after == Part.Status.PUBLISHED for e in status_changes)
    assert any(e.field == "legal_name" and e.after == "Invented Legal Name" for e in entries)
    withdrawal = [e for e in entries if e.model == "consent record" and e.field == "decision"]
    assert withdrawal[0].after == Consent.Decision.WITHDRAWN
    csv_text = audit.audit_csv(entries)
    assert csv_text.splitlines()[0] == "when,who,action,model,object_id,field,before,after"
    assert "Moved away." in csv_text


def test_audit_trail_is_append_only(part):
    services.part_set_status(part=part, status=Part.Status.ARCHIVED)
    count = Part.history.count()
    services.part_set_status(part=part, status=Part.Status.DRAFT)
    assert Part.history.count() == count + 1
    assert Story.history.filter(id=part.story_id).exists()


def test_only_content_changes_invalidate_cached_pages(db):
    from django.core.cache import cache

    from advocacy.models import Subscriber
    from stories.caching import WRITES

    part = make_part()
    before = cache.get(WRITES)
    Subscriber.objects.create(email="reader@example.org")
    assert cache.get(WRITES) == before
    part.save()
    assert cache.get(WRITES) != before


@pytest.mark.parametrize("changes", [1, 20])
def test_audit_trail_query_count_does_not_grow_with_history(part, django_assert_max_num_queries, changes):
    for n in range(changes):
        services.part_set_status(part=part, status=[Part.Status.ARCHIVED, Part.Status.DRAFT][n % 2])
    with django_assert_max_num_queries(2 * len(audit.audited_models()) + 2):
        entries = audit.audit_entries(limit=50)
    assert entries


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("body_en", "Kim Sun**hee** was there."),
        ("body_en", "Kim Sun&#104;ee was there."),
        ("body_en", "Kim Sun<b></b>hee was there."),
        ("body_en", "[Kim](https://example.org) [Sunhee](https://example.org)"),
        ("body_ko", "혜*산*에서 왔다."),
        ("body_ko", "혜&#49328;에서 왔다."),
        ("title_en", "Kim Sun&#x68;ee"),
    ],
)
def test_markup_cannot_split_an_identifying_term_past_the_guard(guarded_story, field, text):
    part = make_part(story=guarded_story, status=Part.Status.DRAFT)
    setattr(part, field, text)
    with pytest.raises(ValidationError, match="identifying details"):
        services.part_publish(part=part)


def test_feed_readers_revalidating_after_a_withdrawal_get_the_new_feed(client, storyteller):
    older = make_part(
        story=make_story(storyteller=storyteller), published_at=timezone.now() - datetime.timedelta(days=9)
    )
    make_part(published_at=timezone.now() - datetime.timedelta(days=1))  # someone else's, newer
    first = client.get("/en/feed/")
    assert "Last-Modified" not in first
    assert older.story.slug in first.content.decode()
    services.consent_withdraw(storyteller=storyteller, reason="Withdrawn.", recorded_by=None)
    again = client.get(
        "/en/feed/",
        headers={"if-modified-since": "Wed, 21 Oct 2099 07:28:00 GMT", "if-none-match": first["ETag"]},
    )
    assert again.status_code == 200
    assert older.story.slug not in again.content.decode()


def test_error_reports_mask_identity_posted_to_any_view(rf):
    request = rf.post(
        "/admin/stories/storyteller/1/change/",
        {
            "identity-0-legal_name": SENTINEL,
            "identity-0-caseworker_notes": SENTINEL,
            "identity-0-identifying_terms": SENTINEL,
            "consents-0-note": SENTINEL,
            "reason": SENTINEL,
            "status": "draft",
        },
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        email = ExceptionReporter(request, *sys.exc_info(), is_email=True).get_traceback_text()
        page = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    for report in (email, page):
        assert "boom" in report
        assert SENTINEL not in report
    assert "draft" in email  # harmless fields stay readable for whoever debugs


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/en/stories/?theme=%00", None),
        ("get", "/ko/stories/?page=%00", None),
        ("get", "/en/?q=a%00b", None),
        ("post", "/en/stories/", {"x": "a\x00b"}),
    ],
)
def test_nul_bytes_anywhere_answer_the_plain_404(client, db, method, path, data):
    response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
    assert response.status_code == 404
    assert 'class="site-main"' in response.content.decode()  # the site's own 404 page, in either language


@pytest.fixture
def shared_redis_cache(settings):
    """Use the Redis server production shares between app servers, under a key prefix of this run's own."""
    import os
    import uuid

    import redis

    location = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(location, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the Redis server at {location}")
        pytest.skip(f"no Redis server at {location}")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"archive-test-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    yield cache
    # Only this test's keys: clear() would empty the database under tests running beside this one.
    client = cache._cache.get_client(None, write=True)
    for key in client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"):
        client.delete(key)


def test_withdrawal_reaches_pages_cached_in_the_shared_redis_cache(client, storyteller, shared_redis_cache):
    part = make_part(story=make_story(storyteller=storyteller))
    url = url_in(part, "ko")
    first = client.get(url)
    assert first.status_code == 200
    assert type(shared_redis_cache._cache).__name__ == "RedisCacheClient"
    assert cached_in_redis(shared_redis_cache, url)
    services.consent_withdraw(storyteller=storyteller, reason="Withdrawn.", recorded_by=None)
    assert client.get(url).status_code == 404


def cached_in_redis(cache, url):
    """Say whether Redis holds an entry for the page (stored raw, with its tag versions before it)."""
    from django.test import RequestFactory

    from stories.caching import page_key

    with translation.override(url.split("/")[1]):
        key = page_key(RequestFactory().get(url))
    return bool(cache._cache.get_client(key, write=True).exists(cache.make_and_validate_key(key)))


def test_site_wide_protected_terms_are_kept_out_of_campaigns(db, capsys):
    from advocacy.models import Campaign

    ProtectedTerm.objects.create(term="Maple Hill shelter")
    with pytest.raises(ValidationError, match="campaign body"):
        make_campaign(body_en="Supplies reach the maple hill shelter every week.")
    campaign = make_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(summary_ko="Maple Hill Shelter 소식")
    with pytest.raises(CommandError):
        call_command("privacy_audit")
    output = capsys.readouterr().out
    assert "campaign summary (Korean)" in output and f"campaign id {campaign.pk}" in output
    assert "Maple Hill" not in output


def test_the_database_refuses_to_change_or_delete_audit_history(part):
    from django.db import DatabaseError

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's (production); CI runs this on PostgreSQL")
    services.part_set_status(part=part, status=Part.Status.ARCHIVED)
    record = Part.history.filter(id=part.pk).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Part.history.filter(pk=record.pk).update(title_en="Rewritten history")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Part.history.filter(pk=record.pk).delete()
    assert Part.history.filter(pk=record.pk, title_en=part.title_en).exists()
