"""The scale data generator, run at a tiny size: every case the visibility rule knows, and valid data."""

import io
import re
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from modeltranslation.translator import translator

from advocacy.models import Action, Campaign
from archive.richtext import render_markdown
from stories.management.commands import generate_scale_data
from stories.models import Consent, Part, Story, Storyteller, reading_minutes
from stories.publication import publication_check, publication_rebuild
from translations.models import Translation
from translations.registry import REGISTRY

PARTS = 60
STORYTELLERS = 8


def generate(**options) -> str:
    out = io.StringIO()
    call_command("generate_scale_data", parts=PARTS, storytellers=STORYTELLERS, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def generated(db):
    return generate(force=True)


def due_parts(now):
    """Published parts of published stories whose time has come: public unless something else hides them."""
    return Part.objects.filter(
        status=Part.Status.PUBLISHED, published_at__lte=now, story__status=Story.Status.PUBLISHED
    )


def public_anywhere() -> set[int]:
    return {pk for code in ("en", "ko") for pk in Part.objects.public(code).values_list("pk", flat=True)}


def test_writes_the_parts_and_storytellers_asked_for_in_numbered_serials(generated):
    assert Part.objects.count() == PARTS
    assert Storyteller.objects.count() == STORYTELLERS
    for story in Story.objects.prefetch_related("parts"):
        numbers = [part.number for part in story.parts.all()]
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) <= 30
    assert Campaign.objects.exists() and Action.objects.exists()
    assert "Done in" in generated

    with pytest.raises(CommandError, match="already holds"):
        generate(force=True)
    assert Part.objects.count() == PARTS


def test_both_languages_have_public_parts_and_hidden_ones_for_every_reason(generated, now):
    assert Part.objects.public("en", now=now).exists()
    assert Part.objects.public("ko", now=now).exists()
    shown = public_anywhere()

    withdrawn = due_parts(now).filter(story__storyteller__in=Storyteller.objects.withdrawn())
    assert withdrawn.exists()
    assert not shown & set(withdrawn.values_list("pk", flat=True))

    lapsed_tellers = Consent.objects.effective().filter(
        decision=Consent.Decision.GIVEN, review_by__lt=timezone.localdate(now)
    )
    lapsed = due_parts(now).filter(story__storyteller__in=lapsed_tellers.values("storyteller_id"))
    assert lapsed.exists()
    assert not shown & set(lapsed.values_list("pk", flat=True))

    # Public in its original language, consented to in the other, kept from it by its own translation.
    untranslated = []
    for original, other in (("en", "ko"), ("ko", "en")):
        unapproved = Translation.objects.for_model("stories.part").filter(language=other, approved_at__isnull=True)
        untranslated += (
            Part.objects.public(original, now=now)
            .filter(story__original_language=original)
            .filter(story__storyteller__in=Storyteller.objects.consenting(language=other))
            .filter(pk__in=unapproved.values("object_id"))
            .exclude(pk__in=Part.objects.public(other, now=now).values("pk"))
        )
    assert untranslated

    scheduled = Part.objects.filter(status=Part.Status.PUBLISHED, published_at__gt=now)
    assert scheduled.exists()
    assert not shown & set(scheduled.values_list("pk", flat=True))


def test_approved_translations_fill_the_columns_readers_see_and_bodies_are_stored_rendered(generated):
    """Readers see the text columns: approved text is there, unapproved text is not."""
    states = set(Translation.objects.values_list("status", "needs_update"))
    assert {
        (Translation.Status.APPROVED, False),
        (Translation.Status.APPROVED, True),
        (Translation.Status.IN_REVIEW, False),
        (Translation.Status.DRAFT, False),
        (Translation.Status.MISSING, False),
    } <= states
    for record in Translation.objects.filter(approved_at__isnull=False).select_related("content_type"):
        entry = REGISTRY[f"{record.content_type.app_label}.{record.content_type.model}"]
        obj = entry.model.objects.get(pk=record.object_id)
        # What readers see in the language, and whether the original changed since approval.
        assert entry.text_in(obj, record.language)[entry.fields[0]]
        assert (record.approved_source != entry.original_text(obj)) == record.needs_update
    for record in Translation.objects.filter(approved_at__isnull=True).select_related("content_type"):
        entry = REGISTRY[f"{record.content_type.app_label}.{record.content_type.model}"]
        assert not entry.text_in(entry.model.objects.get(pk=record.object_id), record.language)[entry.fields[0]]

    # Stored rendered, as Part.save renders them.
    for part in Part.objects.select_related("story"):
        for code in ("en", "ko"):
            html = render_markdown(getattr(part, f"body_{code}") or "")
            assert getattr(part, f"body_html_{code}") == html
            assert getattr(part, f"reading_minutes_{code}") == reading_minutes(html, code)
        if part.story.original_language == "en":
            # About 300 to 2,000 words; the last paragraph may run past the target.
            assert 300 <= len(part.body_en.split()) <= 2200


def test_generated_data_passes_model_validation_and_the_privacy_audit(generated):
    # The privacy audit below reads all public text for identifying terms; here, every other rule.
    with mock.patch("stories.privacy.check"):
        for model in (Storyteller, Consent, Story, Part, Campaign, Action):
            exclude = list(translator.get_options_for_model(model).all_fields) if model is not Consent else []
            for obj in model.objects.all():
                obj.full_clean(exclude=exclude)
    out = io.StringIO()
    call_command("privacy_audit", stdout=out)
    assert "No identifying terms found" in out.getvalue()
    assert not publication_check()


def test_refuses_to_run_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        generate()
    assert not Storyteller.objects.exists()


def test_each_step_reports_its_own_time_and_cpu(generated):
    assert re.search(r"publication table rebuilt: [\d,]+ rows  \(\d+\.\d s, CPU \d+\.\d s\)", generated)


def test_on_sqlite_the_run_caches_more_pages_and_puts_the_setting_back(db):
    if connection.vendor != "sqlite":
        pytest.skip("PRAGMA cache_size is SQLite's")

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    before = cache_size()
    during = []

    def rebuild():
        during.append(cache_size())
        return publication_rebuild()

    with mock.patch.object(generate_scale_data, "publication_rebuild", rebuild):
        generate(force=True)
    assert during == [-generate_scale_data.SQLITE_CACHE_KIB]
    assert cache_size() == before != during[0]
