"""The back office as each role sees it: the real admin, driven through the test client."""

import datetime
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from stories.models import Consent, Part, Story, Storyteller
from tests.conftest import make_part, make_staff, make_story, make_storyteller

# Invented details standing in for a storyteller's real identity; none may reach editors or translators.
LEGAL_NAME = "Quorra Vendelmark"
CASEWORKER_NOTE = "Sentinel caseworker note: prefers calls after dusk"
IDENTIFYING_TERM = "Xelvorin County"
CONSENT_NOTE = "Sentinel consent note: agreed at the spring meeting"
SECRETS = [LEGAL_NAME, CASEWORKER_NOTE, IDENTIFYING_TERM, CONSENT_NOTE]


# --- Reading and submitting admin forms the way a browser does ----------------------------------


class _FormFields(HTMLParser):
    """Collect what a browser would submit for one form, and the blank rows of its inlines."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.found = False
        self.pairs: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._in_form = attributes.get("id") == self.form_id
            self.found = self.found or self._in_form
            return
        name = attributes.get("name")
        if not self._in_form or "disabled" in attributes:
            return
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    self.pairs.append((name, attributes.get("value") or "on"))
                return
            self.pairs.append((name, attributes.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attributes, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "selected": "selected" in attributes, "text": []}
            self._select["options"].append(self._option)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        if self._option is not None:
            self._option["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the newline that follows <textarea>.
            self.pairs.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [option for option in options if option["selected"]]
            if not chosen and not self._select["multiple"] and options:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else "".join(option["text"]).strip()
                self.pairs.append((self._select["name"], value))
            self._select = None


@dataclass
class AdminForm:
    """An admin change or add form as rendered, ready to be edited and posted back."""

    url: str
    response: object
    data: dict[str, str | list[str]]
    # The empty "__prefix__" row each inline renders for its "Add another" button.
    blank_rows: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add_row(self, prefix: str, **values: str) -> None:
        """Fill in one more inline row, starting from the inline's blank row."""
        index = int(self.data[f"{prefix}-TOTAL_FORMS"])
        for name, value in self.blank_rows[prefix]:
            self.data[name.replace("__prefix__", str(index))] = value
        for name, value in values.items():
            self.data[f"{prefix}-{index}-{name}"] = value
        self.data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)

    def post(self, client, **changes: str):
        """Submit the form with some fields changed, as a browser would."""
        return client.post(self.url, {**self.data, **changes})


def open_form(client, url: str) -> AdminForm:
    """GET an admin add or change page and read its form back into POST data."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    model_name = response.context["opts"].model_name
    parser = _FormFields(form_id=f"{model_name}_form")
    parser.feed(response.content.decode())
    assert parser.found, f"no #{model_name}_form on {url}"
    data: dict[str, str | list[str]] = {}
    blank_rows: dict[str, list[tuple[str, str]]] = {}
    for name, value in parser.pairs:
        if "-__prefix__-" in name:
            prefix = name.removeprefix("initial-").split("-__prefix__-")[0]
            blank_rows.setdefault(prefix, []).append((name, value))
        elif name in data:
            previous = data[name]
            data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[name] = value
    return AdminForm(url=url, response=response, data=data, blank_rows=blank_rows)


def split_datetime(moment: datetime.datetime) -> dict[str, str]:
    """Give the two inputs of the admin's date-and-time widget for a moment."""
    local = timezone.localtime(moment)
    return {"_0": local.strftime("%Y-%m-%d"), "_1": local.strftime("%H:%M:%S")}


def datetime_fields(name: str, moment: datetime.datetime | None) -> dict[str, str]:
    if moment is None:
        return {f"{name}_0": "", f"{name}_1": ""}
    return {f"{name}{suffix}": value for suffix, value in split_datetime(moment).items()}


def admin_url(model: str, action: str, *args) -> str:
    return reverse(f"admin:stories_{model}_{action}", args=args)


def page_text(response) -> str:
    return response.content.decode()


def form_errors(response) -> dict:
    """Return the main form's errors and each inline formset's errors and non-form errors."""
    errors = {"form": dict(response.context["adminform"].form.errors)}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        errors[formset.prefix] = [dict(e) for e in formset.errors if e] + list(formset.non_form_errors())
    return errors


def inline_prefixes(response) -> set[str]:
    return {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}


# --- Data --------------------------------------------------------------------------------------


@pytest.fixture
def secret_storyteller(db):
    """A storyteller whose identity and consent carry sentinel text."""
    return make_storyteller(
        original_language="ko",
        pseudonym_en="Morning Lark",
        pseudonym_ko="아침 종달새",
        identity={
            "legal_name": LEGAL_NAME,
            "caseworker_notes": CASEWORKER_NOTE,
            "identifying_terms": f"{IDENTIFYING_TERM}\nOrbisk Vendelmark",
        },
        consent={"note": CONSENT_NOTE},
    )


@pytest.fixture
def english_story(secret_storyteller):
    return make_story(storyteller=secret_storyteller, slug="river-crossing", title_en="The River Crossing")


@pytest.fixture
def korean_story(secret_storyteller):
    return make_story(
        storyteller=secret_storyteller,
        slug="mountain-letters",
        title_en="",
        title_ko="산의 편지",
        original_language="ko",
    )


@pytest.fixture
def published_part(english_story):
    return make_part(story=english_story, number=1)


@pytest.fixture
def draft_part(english_story, published_part):
    return make_part(
        story=english_story,
        number=2,
        title_en="Across the Ice",
        title_ko="얼음을 건너",
        body_en="We crossed the frozen river at night.",
        body_ko="우리는 밤에 얼어붙은 강을 건넜다.",
        status=Part.Status.DRAFT,
        published_at=None,
    )


@pytest.fixture
def staff(editor, translator, consent_officer):
    """Look a role fixture up by name, for tests parametrized over roles."""
    return {"editor": editor, "translator": translator, "consent_officer": consent_officer}


# --- Who may open what -------------------------------------------------------------------------

ALLOWED, FORBIDDEN = 200, 403

PAGE_ACCESS = [
    # Editors write and schedule stories and parts; storytellers only as display text.
    ("editor", "story", "changelist", ALLOWED),
    ("editor", "story", "add", ALLOWED),
    ("editor", "story", "change", ALLOWED),
    ("editor", "story", "delete", FORBIDDEN),
    ("editor", "part", "changelist", ALLOWED),
    ("editor", "part", "add", ALLOWED),
    ("editor", "part", "change", ALLOWED),
    ("editor", "part", "delete", FORBIDDEN),
    ("editor", "storyteller", "changelist", ALLOWED),
    ("editor", "storyteller", "change", ALLOWED),
    ("editor", "storyteller", "add", FORBIDDEN),
    ("editor", "storyteller", "delete", FORBIDDEN),
    ("editor", "theme", "add", ALLOWED),
    ("editor", "contentwarning", "add", ALLOWED),
    # Translators open existing display text; they never add or delete.
    ("translator", "story", "changelist", ALLOWED),
    ("translator", "story", "change", ALLOWED),
    ("translator", "story", "add", FORBIDDEN),
    ("translator", "story", "delete", FORBIDDEN),
    ("translator", "part", "changelist", ALLOWED),
    ("translator", "part", "change", ALLOWED),
    ("translator", "part", "add", FORBIDDEN),
    ("translator", "part", "delete", FORBIDDEN),
    ("translator", "storyteller", "changelist", ALLOWED),
    ("translator", "storyteller", "change", ALLOWED),
    ("translator", "storyteller", "add", FORBIDDEN),
    ("translator", "storyteller", "delete", FORBIDDEN),
    ("translator", "theme", "changelist", ALLOWED),
    ("translator", "theme", "add", FORBIDDEN),
    # Consent officers keep storytellers, identity and consent; stories and parts are view-only.
    ("consent_officer", "storyteller", "changelist", ALLOWED),
    ("consent_officer", "storyteller", "add", ALLOWED),
    ("consent_officer", "storyteller", "change", ALLOWED),
    ("consent_officer", "storyteller", "delete", FORBIDDEN),
    ("consent_officer", "story", "changelist", ALLOWED),
    ("consent_officer", "story", "change", ALLOWED),
    ("consent_officer", "story", "add", FORBIDDEN),
    ("consent_officer", "part", "change", ALLOWED),
    ("consent_officer", "part", "add", FORBIDDEN),
    ("consent_officer", "theme", "changelist", FORBIDDEN),
]


@pytest.mark.parametrize(("role", "model", "action", "expected"), PAGE_ACCESS)
def test_each_role_opens_exactly_its_admin_pages(client, staff, published_part, role, model, action, expected):
    from stories.models import Theme

    theme = Theme.objects.create(name_en="Escape", slug="escape")
    objects = {
        "story": published_part.story,
        "part": published_part,
        "storyteller": published_part.story.storyteller,
        "theme": theme,
    }
    args = [objects[model].pk] if action in {"change", "delete"} else []
    client.force_login(staff[role])

    response = client.get(admin_url(model, action, *args))

    assert response.status_code == expected


def test_consent_officer_sees_stories_and_parts_read_only(client, consent_officer, published_part):
    client.force_login(consent_officer)

    for url in [admin_url("story", "change", published_part.story.pk), admin_url("part", "change", published_part.pk)]:
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert 'name="_save"' not in page_text(response)


def test_consent_officer_cannot_change_story_or_part_by_post(client, consent_officer, editor, published_part):
    client.force_login(editor)
    story_form = open_form(client, admin_url("story", "change", published_part.story.pk))
    part_form = open_form(client, admin_url("part", "change", published_part.pk))
    client.force_login(consent_officer)

    story_response = story_form.post(client, title_en="Changed by the wrong person", status=Story.Status.ARCHIVED)
    part_response = part_form.post(client, title_en="Changed by the wrong person", status=Part.Status.ARCHIVED)

    assert story_response.status_code == 403
    assert part_response.status_code == 403
    published_part.refresh_from_db()
    published_part.story.refresh_from_db()
    assert published_part.title_en == "Part title 1"
    assert published_part.status == Part.Status.PUBLISHED
    assert published_part.story.title_en == "The River Crossing"
    assert published_part.story.status == Story.Status.PUBLISHED


def test_translator_cannot_add_part_or_story_by_post(client, translator, english_story):
    client.force_login(translator)

    part_response = client.post(
        admin_url("part", "add"), {"story": english_story.pk, "number": 7, "title_en": "Sneaked in", "status": "draft"}
    )
    story_response = client.post(
        admin_url("story", "add"),
        {"title_en": "Sneaked in", "slug": "sneaked-in", "storyteller": english_story.storyteller.pk},
    )

    assert part_response.status_code == 403
    assert story_response.status_code == 403
    assert not Part.objects.filter(number=7).exists()
    assert not Story.objects.filter(slug="sneaked-in").exists()


# --- Identity and consent stay with consent officers ------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("editor", set()), ("translator", set()), ("consent_officer", {"identity", "consents"})],
)
def test_identity_and_consent_inlines_appear_only_for_consent_officers(
    client, staff, secret_storyteller, role, expected
):
    client.force_login(staff[role])

    response = client.get(admin_url("storyteller", "change", secret_storyteller.pk))

    assert response.status_code == 200
    assert inline_prefixes(response) == expected
    html = page_text(response)
    for prefix in ["identity", "consents"]:
        assert (f'name="{prefix}-TOTAL_FORMS"' in html) is (prefix in expected)


def test_consent_officer_sees_the_identity_record(client, consent_officer, secret_storyteller):
    """The sentinels are on the page when permitted, so their absence elsewhere means something."""
    client.force_login(consent_officer)

    html = page_text(client.get(admin_url("storyteller", "change", secret_storyteller.pk)))

    assert LEGAL_NAME in html
    assert CASEWORKER_NOTE in html
    assert IDENTIFYING_TERM in html
    assert CONSENT_NOTE in html


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_identity_and_consent_never_appear_in_admin_pages_for_editors_and_translators(
    client, staff, secret_storyteller, english_story, draft_part, role
):
    client.force_login(staff[role])
    teller = secret_storyteller.pk
    pages = [
        (reverse("admin:index"), {}),
        (reverse("admin:app_list", args=["stories"]), {}),
        (admin_url("storyteller", "changelist"), {}),
        (admin_url("storyteller", "change", teller), {}),
        (admin_url("storyteller", "history", teller), {}),
        (admin_url("story", "changelist"), {}),
        (admin_url("story", "change", english_story.pk), {}),
        (admin_url("part", "changelist"), {}),
        (admin_url("part", "change", draft_part.pk), {}),
        (
            reverse("admin:autocomplete"),
            {"app_label": "stories", "model_name": "story", "field_name": "storyteller", "term": LEGAL_NAME},
        ),
    ]
    for secret in [LEGAL_NAME, IDENTIFYING_TERM]:
        for model in ["storyteller", "story", "part"]:
            pages.append((admin_url(model, "changelist"), {"q": secret}))

    for url, query in pages:
        response = client.get(url, query)
        assert response.status_code == 200, (url, query)
        html = page_text(response)
        # A search box shows back what was typed into it; that is not a leak.
        if "q" in query:
            html = html.replace(f'value="{query["q"]}"', "")
        for secret in SECRETS:
            assert secret not in html, f"{secret!r} shown to {role} at {url}?{query}"


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_searching_by_identity_finds_no_storyteller(client, staff, secret_storyteller, role):
    client.force_login(staff[role])

    response = client.get(admin_url("storyteller", "changelist"), {"q": LEGAL_NAME})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("storyteller", "identity__legal_name__icontains"),
        ("storyteller", "identity__identifying_terms__icontains"),
        ("storyteller", "consents__note__icontains"),
        ("story", "storyteller__identity__legal_name__icontains"),
    ],
)
def test_editors_cannot_filter_by_identity_or_consent_fields(client, editor, english_story, model, lookup):
    client.force_login(editor)

    response = client.get(admin_url(model, "changelist"), {lookup: "Vendelmark"})

    # A disallowed lookup is refused outright rather than filtered, so it cannot confirm a guess.
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_consent_state_is_not_shown_to_editors_and_translators(client, staff, role, secret_storyteller):
    Consent.objects.create(
        storyteller=secret_storyteller, decision=Consent.Decision.WITHDRAWN, note="Moved away; asked to stop."
    )
    client.force_login(staff[role])

    response = client.get(admin_url("storyteller", "changelist"))

    assert "consent_status" not in response.context["cl"].list_display
    assert "Withdrawn" not in page_text(response)


def test_consent_officer_sees_consent_state_in_storyteller_list(client, consent_officer, secret_storyteller):
    client.force_login(consent_officer)

    response = client.get(admin_url("storyteller", "changelist"))

    assert "consent_status" in response.context["cl"].list_display
    assert "Public in: English, Korean" in page_text(response)


def test_editor_changes_storyteller_display_text_but_not_identity(client, editor, secret_storyteller):
    client.force_login(editor)
    form = open_form(client, admin_url("storyteller", "change", secret_storyteller.pk))
    identity = secret_storyteller.identity
    # Inline data a browser would never send to an editor, forged onto the form.
    forged = {
        "identity-TOTAL_FORMS": "1",
        "identity-INITIAL_FORMS": "1",
        "identity-MIN_NUM_FORMS": "0",
        "identity-MAX_NUM_FORMS": "1",
        "identity-0-id": str(identity.pk),
        "identity-0-storyteller": str(secret_storyteller.pk),
        "identity-0-legal_name": "Overwritten Name",
        "identity-0-caseworker_notes": "",
        "identity-0-identifying_terms": "",
        "consents-TOTAL_FORMS": "1",
        "consents-INITIAL_FORMS": "0",
        "consents-MIN_NUM_FORMS": "0",
        "consents-MAX_NUM_FORMS": "1000",
        "consents-0-decision": "withdrawn",
        "consents-0-note": "Forged withdrawal",
        "consents-0-recorded_at_0": "2020-01-01",
        "consents-0-recorded_at_1": "10:00:00",
    }

    # The storyteller's original language is Korean, so the Korean pseudonym is the editable one.
    response = form.post(client, pseudonym_ko="떠오르는 종달새", **forged)

    assert response.status_code == 302
    secret_storyteller.refresh_from_db()
    identity.refresh_from_db()
    assert secret_storyteller.pseudonym_ko == "떠오르는 종달새"
    assert identity.legal_name == LEGAL_NAME
    assert identity.caseworker_notes == CASEWORKER_NOTE
    assert secret_storyteller.consents.count() == 1
    assert secret_storyteller.effective_consent().decision == Consent.Decision.GIVEN


# --- Translators touch only the languages a story was not written in --------------------------


@pytest.mark.parametrize("model", ["part", "story", "storyteller"])
def test_translator_sees_display_text_read_only_and_is_sent_to_the_workspace(client, translator, draft_part, model):
    obj = {"part": draft_part, "story": draft_part.story, "storyteller": draft_part.story.storyteller}[model]
    client.force_login(translator)

    response = client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200
    html = page_text(response)
    # A view-only page: no inputs for any text, in any language.
    for name in ["title_en", "title_ko", "body_ko", "summary_ko", "pseudonym_en", "pseudonym_ko", "status"]:
        assert f'name="{name}"' not in html
    if obj._meta.model_name != "storyteller" or obj.original_language != "ko":
        assert "/en/translate/ko/" in html or "/en/translate/en/" in html


@pytest.mark.parametrize("model", ["part", "story", "storyteller"])
def test_translator_cannot_save_anything_through_the_admin(client, translator, draft_part, model):
    obj = {"part": draft_part, "story": draft_part.story, "storyteller": draft_part.story.storyteller}[model]
    client.force_login(translator)

    response = client.post(admin_url(model, "change", obj.pk), {"title_ko": "번역", "pseudonym_ko": "번역"})

    assert response.status_code == 403
    type(obj).objects.get(pk=obj.pk)  # still there, unchanged below
    assert (
        not type(obj)
        .objects.filter(pk=obj.pk, **{"title_ko" if model != "storyteller" else "pseudonym_ko": "번역"})
        .exists()
    )


def test_editor_cannot_publish_a_translation_unreviewed_through_the_admin(client, editor, draft_part):
    before = Part.objects.get(pk=draft_part.pk)
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft_part.pk))

    # The English original is editable; the Korean translation is not, and a forged value is ignored.
    assert "title_en" in form.data
    assert not {"title_ko", "summary_ko", "body_ko"} & set(form.data)
    assert f"/en/translate/ko/part/{draft_part.pk}/" in page_text(form.response)
    response = form.post(client, title_en="A new English title", title_ko="검토 안 된 번역")

    assert response.status_code == 302
    part = Part.objects.get(pk=draft_part.pk)
    assert part.title_en == "A new English title"
    assert part.title_ko == before.title_ko


def test_editor_edits_the_original_text_of_a_korean_original_story(client, editor, korean_story):
    client.force_login(editor)
    form = open_form(client, admin_url("story", "change", korean_story.pk))

    assert {"title_ko", "summary_ko"} <= set(form.data)
    assert not {"title_en", "summary_en"} & set(form.data)
    response = form.post(client, title_ko="산에서 온 편지", title_en="Forged English title")

    assert response.status_code == 302
    korean_story.refresh_from_db()
    assert korean_story.title_ko == "산에서 온 편지"
    assert korean_story.title_en != "Forged English title"


def test_translator_has_no_admin_actions(client, translator, draft_part):
    client.force_login(translator)

    response = client.get(admin_url("part", "changelist"))
    forced = client.post(
        admin_url("part", "changelist"), {"action": "publish_now", ACTION_CHECKBOX_NAME: [draft_part.pk]}
    )

    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert 'name="action"' not in page_text(response)
    assert forced.status_code in {200, 302}
    draft_part.refresh_from_db()
    assert draft_part.status == Part.Status.DRAFT


# --- Editors publish, schedule and archive -----------------------------------------------------


def run_action(client, action: str, *parts: Part):
    return client.post(
        admin_url("part", "changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [part.pk for part in parts]},
        follow=True,
    )


def test_editor_publishes_a_draft_part_now_with_the_admin_action(client, editor, draft_part):
    public_url = draft_part.get_absolute_url()
    assert client.get(public_url).status_code == 404
    client.force_login(editor)

    before = timezone.now()
    response = run_action(client, "publish_now", draft_part)

    assert response.status_code == 200
    assert "1 part published." in page_text(response)
    draft_part.refresh_from_db()
    assert draft_part.status == Part.Status.PUBLISHED
    assert before <= draft_part.published_at <= timezone.now()
    client.logout()
    assert client.get(public_url).status_code == 200


def test_editor_sends_parts_to_review_with_the_admin_action(client, editor, draft_part):
    client.force_login(editor)

    response = run_action(client, "send_to_review", draft_part)

    assert "1 part sent to review." in page_text(response)
    draft_part.refresh_from_db()
    assert draft_part.status == Part.Status.IN_REVIEW


def test_editor_archives_a_published_part_and_readers_lose_it(client, editor, published_part):
    public_url = published_part.get_absolute_url()
    assert client.get(public_url).status_code == 200
    client.force_login(editor)

    response = run_action(client, "archive", published_part)

    assert "1 part archived." in page_text(response)
    published_part.refresh_from_db()
    assert published_part.status == Part.Status.ARCHIVED
    client.logout()
    assert client.get(public_url).status_code == 404


def test_publish_action_leaves_a_part_without_original_text_unchanged(client, editor, english_story):
    empty = make_part(story=english_story, number=3, body_en="", status=Part.Status.DRAFT, published_at=None)
    client.force_login(editor)

    response = run_action(client, "publish_now", empty)

    assert "was not changed" in page_text(response)
    empty.refresh_from_db()
    assert empty.status == Part.Status.DRAFT
    assert empty.published_at is None


def test_editor_schedules_a_part_that_stays_hidden_until_its_time(client, editor, draft_part, now):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft_part.pk))
    tomorrow = now + datetime.timedelta(days=1)

    response = form.post(client, status=Part.Status.PUBLISHED, **datetime_fields("published_at", tomorrow))

    assert response.status_code == 302
    draft_part.refresh_from_db()
    assert draft_part.status == Part.Status.PUBLISHED
    assert draft_part.is_scheduled()
    client.logout()
    assert client.get(draft_part.get_absolute_url()).status_code == 404
    assert draft_part in Part.objects.public("en", now=tomorrow + datetime.timedelta(minutes=1))


def test_editor_writes_a_story_and_its_first_part_through_add_pages(client, editor, secret_storyteller, now):
    client.force_login(editor)
    story_form = open_form(client, admin_url("story", "add"))
    story_response = story_form.post(
        client,
        title_en="The Long Road South",
        slug="long-road-south",
        storyteller=str(secret_storyteller.pk),
        original_language="en",
        status=Story.Status.PUBLISHED,
    )
    assert story_response.status_code == 302, form_errors(story_response)
    story = Story.objects.get(slug="long-road-south")

    part_form = open_form(client, admin_url("part", "add"))
    part_response = part_form.post(
        client,
        story=str(story.pk),
        number="1",
        title_en="Leaving Home",
        body_en="The first night was the coldest.",
        status=Part.Status.PUBLISHED,
        **datetime_fields("published_at", now - datetime.timedelta(minutes=5)),
    )

    assert part_response.status_code == 302, form_errors(part_response)
    part = story.parts.get()
    assert part.title_en == "Leaving Home"
    assert part.body_html_en == "<p>The first night was the coldest.</p>"
    client.logout()
    assert client.get(part.get_absolute_url()).status_code == 200


# --- Invalid input shows errors and saves nothing --------------------------------------------


def test_publishing_a_part_without_publication_time_shows_a_field_error(client, editor, draft_part):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", draft_part.pk))

    response = form.post(client, status=Part.Status.PUBLISHED, title_en="Half-saved title")

    assert response.status_code == 200
    assert "published_at" in response.context["adminform"].form.errors
    assert "A published part needs a publication time" in page_text(response)
    draft_part.refresh_from_db()
    assert draft_part.status == Part.Status.DRAFT
    assert draft_part.title_en == "Across the Ice"


def test_duplicate_part_number_on_the_part_page_is_refused(client, editor, published_part):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "add"))

    response = form.post(client, story=str(published_part.story.pk), number="1", title_en="A second part one")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert "already exists" in page_text(response)
    assert published_part.story.parts.count() == 1


def test_duplicate_part_number_in_story_inline_saves_nothing(client, editor, draft_part):
    story = draft_part.story
    client.force_login(editor)
    form = open_form(client, admin_url("story", "change", story.pk))
    form.add_row("parts", number="2", title_en="Another part two", status=Part.Status.DRAFT)

    response = form.post(client, title_en="A title that must not be saved")

    assert response.status_code == 200
    assert form_errors(response)["parts"]
    story.refresh_from_db()
    assert story.title_en == "The River Crossing"
    assert list(story.parts.values_list("number", "title_en")) == [(1, "Part title 1"), (2, "Across the Ice")]


def test_editor_adds_a_part_through_the_story_inline(client, editor, draft_part):
    story = draft_part.story
    client.force_login(editor)
    form = open_form(client, admin_url("story", "change", story.pk))
    form.add_row("parts", number="3", title_en="The Border Town", title_ko="국경 마을", status=Part.Status.DRAFT)

    response = form.post(client)

    assert response.status_code == 302, form_errors(response)
    added = story.parts.get(number=3)
    assert added.title_en == "The Border Town"
    # The Korean title is a translation: it comes through the workspace's review, not this row.
    assert not added.title_ko


# --- The consent ledger is append-only --------------------------------------------------------


def test_consent_officer_records_a_withdrawal_that_hides_the_story(client, consent_officer, published_part):
    teller = published_part.story.storyteller
    public_url = published_part.get_absolute_url()
    assert client.get(public_url).status_code == 200
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", teller.pk))
    form.add_row("consents", decision=Consent.Decision.WITHDRAWN, note="Asked us to take everything down.")

    response = form.post(client)

    assert response.status_code == 302, form_errors(response)
    consent = teller.effective_consent()
    assert consent.decision == Consent.Decision.WITHDRAWN
    assert consent.recorded_by == consent_officer
    assert consent.note == "Asked us to take everything down."
    assert teller.consents.count() == 2
    client.logout()
    assert client.get(public_url).status_code == 404


def test_consent_officer_records_given_consent_with_scopes(client, consent_officer, secret_storyteller):
    review_by = timezone.localdate() + datetime.timedelta(days=180)
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", secret_storyteller.pk))
    form.add_row(
        "consents",
        decision=Consent.Decision.GIVEN,
        review_by=review_by.isoformat(),
        covers_web="on",
        covers_korean="on",
        note="Korean only for now.",
    )

    response = form.post(client)

    assert response.status_code == 302, form_errors(response)
    consent = secret_storyteller.effective_consent()
    assert consent.recorded_by == consent_officer
    assert consent.review_by == review_by
    assert (consent.covers_web, consent.covers_english, consent.covers_korean) == (True, False, True)
    assert consent.is_active(language="ko")
    assert not consent.is_active(language="en")


def test_consent_officer_records_a_new_storyteller_with_identity_and_consent(client, consent_officer):
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "add"))
    form.add_row("identity", legal_name="Brannoc Ilvesh", identifying_terms="Ilvesh\nNorthmere")
    form.add_row(
        "consents",
        decision=Consent.Decision.GIVEN,
        review_by=(timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        covers_web="on",
        covers_english="on",
    )

    response = form.post(client, pseudonym_en="Quiet Heron", original_language="en")

    assert response.status_code == 302, form_errors(response)
    teller = Storyteller.objects.get(pseudonym_en="Quiet Heron")
    assert teller.identity.legal_name == "Brannoc Ilvesh"
    assert teller.identity.terms() == ["Ilvesh", "Northmere"]
    assert teller.effective_consent().recorded_by == consent_officer


def test_existing_consent_records_are_shown_read_only(client, consent_officer, secret_storyteller):
    client.force_login(consent_officer)

    form = open_form(client, admin_url("storyteller", "change", secret_storyteller.pk))

    existing = [name for name in form.data if name.startswith("consents-0-")]
    assert existing == ["consents-0-id", "consents-0-storyteller"]
    assert "consents-0-DELETE" not in page_text(form.response)


def test_consent_officer_cannot_change_or_delete_existing_consent_records(client, consent_officer, secret_storyteller):
    record = secret_storyteller.consents.get()
    before = Consent.objects.filter(pk=record.pk).values().get()
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", secret_storyteller.pk))

    response = form.post(
        client,
        **{
            "consents-0-decision": Consent.Decision.WITHDRAWN,
            "consents-0-note": "Rewritten history",
            "consents-0-review_by": "2001-01-01",
            "consents-0-covers_web": "",
            "consents-0-recorded_at_0": "2001-01-01",
            "consents-0-recorded_at_1": "00:00:00",
            "consents-0-DELETE": "on",
        },
    )

    assert response.status_code == 302, form_errors(response)
    assert list(secret_storyteller.consents.values()) == [before]


def test_consent_cannot_be_changed_or_deleted_by_anyone_in_the_groups(db):
    for group in ["Editors", "Translators", "Consent officers"]:
        user = make_staff(group)
        assert not user.has_perm("stories.change_consent")
        assert not user.has_perm("stories.delete_consent")
        assert not user.has_perm("stories.delete_storytelleridentity")


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"decision": Consent.Decision.GIVEN, "covers_web": "on", "covers_english": "on"}, "review_by", "reviewed"),
        ({"decision": Consent.Decision.WITHDRAWN, "note": "  "}, "note", "reason for the withdrawal"),
    ],
)
def test_invalid_consent_shows_a_field_error_and_saves_nothing(
    client, consent_officer, secret_storyteller, row, field, message
):
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", secret_storyteller.pk))
    form.add_row("consents", **row)

    response = form.post(client, pseudonym_en="Renamed Halfway")

    assert response.status_code == 200
    assert any(field in errors for errors in form_errors(response)["consents"])
    assert message in page_text(response)
    secret_storyteller.refresh_from_db()
    assert secret_storyteller.pseudonym_en == "Morning Lark"
    assert secret_storyteller.consents.count() == 1


def test_consent_decisions_stay_out_of_the_history_editors_can_read(client, consent_officer, editor, published_part):
    teller = published_part.story.storyteller
    client.force_login(consent_officer)
    form = open_form(client, admin_url("storyteller", "change", teller.pk))
    form.add_row("consents", decision=Consent.Decision.WITHDRAWN, note="Asked us to stop.")
    assert form.post(client).status_code == 302
    client.force_login(editor)

    response = client.get(admin_url("storyteller", "history", teller.pk))

    assert response.status_code == 200
    assert "Withdrawn" not in page_text(response)


# --- Preview ----------------------------------------------------------------------------------


def preview_url(part: Part) -> str:
    return reverse("stories:part-preview", kwargs={"pk": part.pk})


@pytest.mark.parametrize("role", ["editor", "translator"])
def test_staff_preview_a_draft_part_marked_and_never_cached(client, staff, draft_part, role):
    client.force_login(staff[role])

    response = client.get(preview_url(draft_part))

    assert response.status_code == 200
    assert preview_url(draft_part).startswith("/en/preview/parts/")
    assert [t.name for t in response.templates][0] == "stories/part_detail.html"
    html = page_text(response)
    assert 'class="preview-banner"' in html
    assert "<strong>Preview</strong>" in html
    assert "Across the Ice" in html
    assert "We crossed the frozen river at night." in html
    cache_control = {directive.strip() for directive in response["Cache-Control"].split(",")}
    assert {"no-cache", "no-store", "private"} <= cache_control


def test_preview_is_not_found_for_a_logged_in_reader(client, draft_part):
    reader = get_user_model().objects.create_user(username="reader", password="not-a-real-password-1")
    client.force_login(reader)

    assert client.get(preview_url(draft_part)).status_code == 404


def test_preview_is_not_found_for_staff_without_permissions(client, draft_part):
    bare = get_user_model().objects.create_user(username="bare-staff", password="not-a-real-password-1", is_staff=True)
    client.force_login(bare)

    response = client.get(preview_url(draft_part))

    assert response.status_code == 404
    assert "Across the Ice" not in page_text(response)


def test_preview_is_not_found_for_staff_with_unrelated_permissions(client, draft_part):
    user = get_user_model().objects.create_user(username="theme-staff", password="not-a-real-password-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_theme"))
    client.force_login(user)

    assert client.get(preview_url(draft_part)).status_code == 404


def test_preview_redirects_anonymous_visitors_to_the_admin_login(client, draft_part):
    response = client.get(preview_url(draft_part))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "no-store" in response["Cache-Control"]


def test_story_page_part_rows_cannot_publish_a_translation_unreviewed(client, editor, draft_part):
    before = Part.objects.get(pk=draft_part.pk)
    client.force_login(editor)
    form = open_form(client, admin_url("story", "change", draft_part.story.pk))
    index = next(
        name.split("-")[1] for name, value in form.data.items() if name.endswith("-id") and value == str(draft_part.pk)
    )
    assert f"parts-{index}-title_ko" not in form.data

    response = form.post(client, **{f"parts-{index}-title_ko": "검토 안 된 제목"})

    assert response.status_code == 302
    assert Part.objects.get(pk=draft_part.pk).title_ko == before.title_ko


def test_the_part_list_reads_no_bodies_and_does_not_list_every_story(client, editor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        make_part(story=make_story())
    client.force_login(editor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/stories/part/")
    assert response.status_code == 200
    listed = [query["sql"] for query in queries.captured_queries if 'FROM "stories_part"' in query["sql"]]
    assert listed and not any('"stories_part"."body_en"' in sql for sql in listed)
    # A filter by story would print every story of the archive on every page of the list.
    assert "story__id__exact" not in response.content.decode()
    # The change form still reads and shows the body.
    part = Part.objects.first()
    assert part.body_en in client.get(f"/admin/stories/part/{part.pk}/change/").content.decode()
