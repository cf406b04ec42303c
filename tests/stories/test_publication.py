"""The publication table is the visibility rule materialised: it must always equal the definition.

A property-based test builds random states (statuses, schedules, consent ledgers with scopes and
review dates, translation states, photos, withdrawals, stories moving between storytellers), changes
them through the models as the services and the admin do, moves the clock, and compares the fast
path with the definition in both languages after every step.
"""

import datetime
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stories import services
from stories.models import (
    Consent,
    ImagePublication,
    Part,
    PartPublication,
    Story,
    StoryImage,
    StoryPublication,
    Storyteller,
)
from stories.publication import publication_batch, publication_check, publication_rebuild
from tests.conftest import make_part, make_story, make_storyteller
from translations.models import Translation

LANGUAGES = ("en", "ko")
OTHER = {"en": "ko", "ko": "en"}
BASE = timezone.now().replace(microsecond=0)
# The moments each state is looked at: the clock moves across schedules and review dates.
CLOCK_MOVES = (datetime.timedelta(0), datetime.timedelta(days=-3), datetime.timedelta(days=4, hours=5))
TRANSLATION_STATES = ("none", "draft", "in_review", "approved", "stale_kept", "stale_hidden")
translation_state = st.sampled_from(TRANSLATION_STATES + ("approved",) * 8)

# Biased towards states where things are public, so that the edges (a day either side of a
# schedule or a review date, one missing scope or approval) are where most examples fall.
days = st.integers(min_value=-5, max_value=5)
review_days = st.sampled_from([*range(-2, 9), None])
publication_days = st.sampled_from([*range(-8, 3), None])
mostly = st.sampled_from([True] * 7 + [False])
language = st.sampled_from(LANGUAGES)

consent_record = st.fixed_dictionaries(
    {
        "decision": st.sampled_from([Consent.Decision.GIVEN] * 9 + [Consent.Decision.WITHDRAWN]),
        "review_in_days": review_days,
        "covers_web": mostly,
        "covers_english": mostly,
        "covers_korean": mostly,
        "covers_photos": st.booleans(),
        "covers_advocacy": st.booleans(),
    }
)
text_presence = st.fixed_dictionaries({"en": mostly, "ko": mostly})
image = st.fixed_dictionaries(
    {
        "identifiable": st.booleans(),
        "cleaned": mostly,
        "alt": text_presence,
        "translation": translation_state,
    }
)
part = st.fixed_dictionaries(
    {
        "status": st.sampled_from(list(Part.Status.values) + [Part.Status.PUBLISHED] * 12),
        "published_in_days": publication_days,
        "title": text_presence,
        "body": text_presence,
        "translation": translation_state,
        "images": st.lists(image, max_size=1),
    }
)
story = st.fixed_dictionaries(
    {
        "status": st.sampled_from(list(Story.Status.values) + [Story.Status.PUBLISHED] * 12),
        "original_language": language,
        "title": text_presence,
        "translation": translation_state,
        "parts": st.lists(part, min_size=1, max_size=3),
    }
)
storyteller = st.fixed_dictionaries(
    {
        "original_language": language,
        "translation": translation_state,
        "consents": st.lists(consent_record, min_size=1, max_size=3),
        "stories": st.lists(story, min_size=1, max_size=2),
    }
)
# Changes made after the state is built, through the models' save() and the services.
change = st.one_of(
    st.tuples(st.just("withdraw"), st.integers(0, 9)),
    st.tuples(st.just("give"), st.integers(0, 9), consent_record),
    st.tuples(st.just("part_status"), st.integers(0, 99), st.sampled_from(Part.Status.values)),
    st.tuples(st.just("reschedule"), st.integers(0, 99), days),
    st.tuples(st.just("story_status"), st.integers(0, 99), st.sampled_from(Story.Status.values)),
    st.tuples(st.just("move_story"), st.integers(0, 99), st.integers(0, 9)),
    st.tuples(st.just("translation"), st.integers(0, 999), st.sampled_from(TRANSLATION_STATES)),
    st.tuples(st.just("delete_part"), st.integers(0, 99)),
    st.tuples(st.just("delete_image"), st.integers(0, 99)),
    st.tuples(st.just("photo_unmark"), st.integers(0, 99)),
)


def text(obj, field: str, presence: dict, original: str) -> None:
    for code in LANGUAGES:
        value = f"{field} {code} {obj.__class__.__name__}" if presence[code] or code == original else ""
        setattr(obj, f"{field}_{code}", value)


def set_translation(obj, original: str, state: str) -> None:
    """Put the translation of an object into the other language in a state, as the workflow leaves it."""
    content_type = ContentType.objects.get_for_model(obj)
    lookup = {"content_type": content_type, "object_id": obj.pk, "language": OTHER[original]}
    if state == "none":
        Translation.objects.filter(**lookup).delete()
        return
    approved = state in {"approved", "stale_kept", "stale_hidden"}
    fields = {
        "status": Translation.Status.APPROVED if approved else state,
        "approved_at": BASE if approved else None,
        "needs_update": state.startswith("stale"),
        "keep_public_while_updating": state != "stale_hidden",
    }
    translation, created = Translation.objects.get_or_create(**lookup, defaults=fields)
    if not created:
        for name, value in fields.items():
            setattr(translation, name, value)
        translation.save()


def add_consent(teller: Storyteller, record: dict, at: datetime.datetime) -> None:
    review = record["review_in_days"]
    Consent.objects.create(
        storyteller=teller,
        decision=record["decision"],
        review_by=None if review is None else (BASE + datetime.timedelta(days=review)).date(),
        recorded_at=at,
        **{name: record[name] for name in record if name.startswith("covers_")},
    )


def build(tellers: list[dict]) -> dict:
    """Create the state through the models, as the admin and the services save it."""
    made = {"tellers": [], "stories": [], "parts": [], "images": [], "objects": []}
    for teller_state in tellers:
        original = teller_state["original_language"]
        teller = Storyteller(original_language=original)
        text(teller, "pseudonym", {"en": True, "ko": True}, original)
        teller.save()
        set_translation(teller, original, teller_state["translation"])
        made["tellers"].append(teller)
        made["objects"].append((teller, original))
        for index, record in enumerate(teller_state["consents"]):
            add_consent(teller, record, BASE - datetime.timedelta(days=30 - index))
        for story_state in teller_state["stories"]:
            story_original = story_state["original_language"]
            story = Story(
                storyteller=teller,
                slug=f"s{len(made['stories'])}-{teller.pk}",
                status=story_state["status"],
                original_language=story_original,
            )
            text(story, "title", story_state["title"], story_original)
            story.save()
            set_translation(story, story_original, story_state["translation"])
            made["stories"].append(story)
            made["objects"].append((story, story_original))
            for number, part_state in enumerate(story_state["parts"], start=1):
                published = part_state["published_in_days"]
                part = Part(
                    story=story,
                    number=number,
                    status=part_state["status"],
                    published_at=None if published is None else BASE + datetime.timedelta(days=published),
                )
                text(part, "title", part_state["title"], story_original)
                text(part, "body", part_state["body"], story_original)
                part.save()
                set_translation(part, story_original, part_state["translation"])
                made["parts"].append(part)
                made["objects"].append((part, story_original))
                for image_state in part_state["images"]:
                    photo = StoryImage(
                        part=part,
                        shows_identifiable_person=image_state["identifiable"],
                        rendition_key=f"k{len(made['images'])}x{part.pk}" if image_state["cleaned"] else "",
                    )
                    text(photo, "alt_text", image_state["alt"], story_original)
                    photo.save()
                    set_translation(photo, story_original, image_state["translation"])
                    made["images"].append(photo)
                    made["objects"].append((photo, story_original))
    return made


def apply(made: dict, step: tuple) -> None:
    """Make one change through the paths editors and consent officers use."""
    kind, target, *rest = step
    tellers, stories, parts, images = made["tellers"], made["stories"], made["parts"], made["images"]
    if kind == "withdraw":
        teller = tellers[target % len(tellers)]
        services.consent_withdraw(storyteller=teller, reason="Asked to withdraw.", recorded_by=None)
    elif kind == "give":
        teller = tellers[target % len(tellers)]
        add_consent(teller, rest[0], timezone.now())
    elif kind in {"part_status", "reschedule", "delete_part"}:
        alive = [part for part in parts if Part.objects.filter(pk=part.pk).exists()]
        if not alive:
            return
        part = Part.objects.get(pk=alive[target % len(alive)].pk)
        if kind == "part_status":
            part.status = rest[0]
            part.save()
        elif kind == "reschedule":
            part.published_at = BASE + datetime.timedelta(days=rest[0])
            part.save()
        else:
            part.images.all().delete()
            part.delete()
    elif kind == "story_status":
        story = Story.objects.get(pk=stories[target % len(stories)].pk)
        story.status = rest[0]
        story.save()
    elif kind == "move_story":
        story = Story.objects.get(pk=stories[target % len(stories)].pk)
        story.storyteller = tellers[rest[0] % len(tellers)]
        story.save()
    elif kind == "translation":
        obj, original = made["objects"][target % len(made["objects"])]
        if type(obj).objects.filter(pk=obj.pk).exists():
            set_translation(obj, original, rest[0])
    elif kind in {"delete_image", "photo_unmark"}:
        alive = list(StoryImage.objects.filter(pk__in=[photo.pk for photo in images]))
        if not alive:
            return
        photo = alive[target % len(alive)]
        if kind == "delete_image":
            photo.delete()
        else:
            photo.shows_identifiable_person = not photo.shows_identifiable_person
            photo.save()


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def assert_fast_path_is_the_definition() -> None:
    """Compare live() with public(), and every other fast form with its definition, at each moment."""
    for move in CLOCK_MOVES:
        now = BASE + move
        for code in LANGUAGES:
            for model in (Part, Story, StoryImage):
                assert ids(model.objects.live(code, now=now)) == ids(model.objects.public(code, now=now)), (
                    model,
                    code,
                    move,
                )
            assert ids(Story.objects.live_for_advocacy(code, now=now)) == ids(
                Story.objects.public_for_advocacy(code, now=now)
            )
            for model in (Part, Story) if move == CLOCK_MOVES[0] else ():
                fast = model.objects.live_awaiting_translation(code, available_in=OTHER[code], now=now)
                defined = model.objects.awaiting_translation(code, available_in=OTHER[code], now=now)
                assert ids(fast) == ids(defined), (model, code, move, "awaiting translation")
            rows = PartPublication.objects.awaiting_translation(code, available_in=OTHER[code], now=now)
            fast = Part.objects.live_awaiting_translation(code, available_in=OTHER[code], now=now)
            assert set(rows.values_list("part_id", flat=True)) == ids(fast), (code, move, "rows awaiting")
    assert not publication_check()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tellers=st.lists(storyteller, min_size=1, max_size=3), changes=st.lists(change, max_size=3))
def test_the_fast_path_always_returns_what_the_definition_returns(db, tellers, changes):
    with transaction.atomic():
        # Built in one batch, refreshed once at its end, as an import would; each change after it
        # goes through the signals on its own.
        with publication_batch():
            made = build(tellers)
        event(f"public in English: {Part.objects.live('en').exists()}, in Korean: {Part.objects.live('ko').exists()}")
        assert_fast_path_is_the_definition()
        for step in changes:
            apply(made, step)
            assert_fast_path_is_the_definition()
        transaction.set_rollback(True)


# --- What readers rely on, case by case ---------------------------------------------------------


def test_a_withdrawal_removes_every_row_in_its_own_transaction(db, consent_officer):
    story = make_story()
    parts = [make_part(story=story) for _ in range(3)]
    assert PartPublication.objects.filter(part__in=parts).count() == 6
    with transaction.atomic():
        services.consent_withdraw(storyteller=story.storyteller, reason="Asked.", recorded_by=consent_officer)
        # Before the transaction commits: nothing of theirs is left for a reader to find.
        assert not PartPublication.objects.filter(storyteller=story.storyteller).exists()
        assert not StoryPublication.objects.filter(storyteller=story.storyteller).exists()
        assert not Part.objects.live("en").filter(story=story).exists()


def test_a_scheduled_part_comes_due_and_a_review_date_lapses_with_no_write(db):
    review_by = timezone.localdate() + datetime.timedelta(days=10)
    teller = make_storyteller(consent={"review_by": review_by})
    due = timezone.now() + datetime.timedelta(days=2)
    part = make_part(story=make_story(storyteller=teller), published_at=due)
    rows = list(PartPublication.objects.filter(part=part).values_list("published_at", "review_by"))
    assert rows == [(due, review_by), (due, review_by)]
    assert not Part.objects.live("en").filter(pk=part.pk).exists()
    assert Part.objects.live("en", now=due).filter(pk=part.pk).exists()
    next_day = review_by + datetime.timedelta(days=1)
    after_review = timezone.make_aware(datetime.datetime.combine(next_day, datetime.time()))
    assert not Part.objects.live("en", now=after_review).filter(pk=part.pk).exists()
    assert not Story.objects.live("ko", now=after_review).filter(pk=part.story_id).exists()


def test_a_story_moved_to_another_storyteller_takes_that_storytellers_consent(db):
    consenting = make_storyteller()
    withdrawn = make_storyteller()
    services.consent_withdraw(storyteller=withdrawn, reason="Asked.", recorded_by=None)
    part = make_part(story=make_story(storyteller=consenting))
    assert Part.objects.live("en").filter(pk=part.pk).exists()
    story = part.story
    story.storyteller = withdrawn
    story.save()
    assert not PartPublication.objects.filter(part=part).exists()
    assert not Part.objects.live("en").filter(pk=part.pk).exists()


def test_an_unapproved_translation_leaves_only_the_original_language(db):
    part = make_part()
    translation = Translation.objects.get(
        content_type=ContentType.objects.get_for_model(Part), object_id=part.pk, language="ko"
    )
    translation.needs_update = True
    translation.keep_public_while_updating = False
    translation.save()
    assert set(PartPublication.objects.filter(part=part).values_list("language", flat=True)) == {"en"}


def test_publishing_one_part_writes_the_rows_of_one_storyteller_only(db, django_assert_max_num_queries):
    others = [make_part() for _ in range(3)]
    story = make_story()
    parts = [make_part(story=story) for _ in range(5)]
    draft = make_part(story=story, status=Part.Status.DRAFT)
    before = {row.pk for row in PartPublication.objects.filter(part__in=others)}
    # A constant number of queries, however many parts the storyteller has or the archive holds.
    with django_assert_max_num_queries(30):
        services.part_publish(part=draft)
    assert PartPublication.objects.filter(part=draft).count() == 2
    assert {row.pk for row in PartPublication.objects.filter(part__in=others)} == before
    assert PartPublication.objects.filter(part__in=parts).count() == 10


def test_photos_follow_their_part_and_the_consent_to_photos(db):
    teller = make_storyteller(consent={"covers_photos": False})
    part = make_part(story=make_story(storyteller=teller))
    anonymous = StoryImage.objects.create(
        part=part, rendition_key="a1", shows_identifiable_person=False, alt_text_en="Hills", alt_text_ko="언덕"
    )
    face = StoryImage.objects.create(
        part=part, rendition_key="b2", shows_identifiable_person=True, alt_text_en="A face", alt_text_ko="얼굴"
    )
    for obj in (anonymous, face):
        obj.refresh_from_db()
        from tests.conftest import approve_translations

        approve_translations(obj)
    assert ids(StoryImage.objects.live("en")) == {anonymous.pk}
    assert PartPublication.objects.get(part=part, language="en").image_count == 1
    assert not ImagePublication.objects.filter(image=face).exists()


def test_publication_check_finds_and_repairs_a_table_out_of_step(db):
    part = make_part()
    hidden = make_part(status=Part.Status.DRAFT)
    # Out of step, as a bulk import or a hand edit of the database would leave it.
    PartPublication.objects.filter(part=part, language="ko").delete()
    PartPublication.objects.create(
        part=hidden,
        story=hidden.story,
        storyteller=hidden.story.storyteller,
        language="en",
        number=hidden.number,
        published_at=timezone.now() - datetime.timedelta(days=1),
        review_by=timezone.localdate() + datetime.timedelta(days=30),
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="differs"):
        call_command("publication_check", stdout=out)
    assert "1 served but not public" in out.getvalue() and "1 public but not served" in out.getvalue()
    with pytest.raises(CommandError, match="repaired"):
        call_command("publication_check", "--repair", stdout=io.StringIO())
    call_command("publication_check", stdout=io.StringIO())
    assert ids(Part.objects.live("ko")) == ids(Part.objects.public("ko"))
    assert not Part.objects.live("en").filter(pk=hidden.pk).exists()


def test_privacy_audit_runs_the_publication_check_and_repairs(db):
    part = make_part()
    PartPublication.objects.filter(part=part).delete()
    out = io.StringIO()
    with pytest.raises(CommandError, match="publication table"):
        call_command("privacy_audit", stdout=out)
    assert "out of step" in out.getvalue()
    assert Part.objects.live("en").filter(pk=part.pk).exists()
    call_command("privacy_audit", stdout=io.StringIO())


def test_rebuild_writes_what_the_definition_says(db):
    parts = [make_part() for _ in range(3)]
    PartPublication.objects.all().delete()
    StoryPublication.objects.all().delete()
    assert publication_rebuild() == 3 * 2 * 2
    assert ids(Part.objects.live("ko")) == {part.pk for part in parts}
    assert not publication_check()
