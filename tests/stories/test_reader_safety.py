"""Every public page offers the quick exit and carries no inline code; warned parts keep their body folded."""

import json
from html.parser import HTMLParser

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from archive.views import server_error
from stories.models import ContentWarning
from tests.conftest import make_part, make_story

LANGUAGES = ["en", "ko"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict, parent: "Element | None") -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.text = ""

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def ancestors(self) -> list["Element"]:
        found, node = [], self.parent
        while node is not None:
            found.append(node)
            node = node.parent
        return found


class Page(HTMLParser):
    """Just enough of a DOM to ask where an element sits and what inline code a page carries."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self.open[-1] if self.open else None)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs), self.open[-1] if self.open else None))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data

    def by_class(self, name: str) -> list[Element]:
        return [element for element in self.elements if name in element.classes]

    def one(self, name: str) -> Element:
        found = self.by_class(name)
        assert len(found) == 1, f"expected one .{name}, found {len(found)}"
        return found[0]


@pytest.fixture
def warned_story(story):
    story.content_warnings.add(
        ContentWarning.objects.create(slug="detention", label_en="Detention", label_ko="구금"),
        ContentWarning.objects.create(slug="violence", label_en="Violence", label_ko="폭력"),
    )
    make_part(story=story, body_en="What happened at the border.", body_ko="국경에서 있었던 일.")
    return story


@pytest.fixture
def unwarned_story(db):
    story = make_story()
    make_part(story=story)
    return story


def public_pages(warned_story, unwarned_story, language: str) -> dict[str, tuple[str, int]]:
    with translation.override(language):
        return {
            "home": (reverse("stories:home"), 200),
            "index": (reverse("stories:index"), 200),
            "story": (warned_story.get_absolute_url(), 200),
            "part with warnings": (warned_story.parts.get().get_absolute_url(), 200),
            "part without warnings": (unwarned_story.parts.get().get_absolute_url(), 200),
            "404": (f"/{language}/stories/no-such-story/", 404),
        }


def get_page(client, url: str, status: int) -> Page:
    response = client.get(url)
    assert response.status_code == status, url
    return Page(response.content.decode())


def assert_quick_exit(page: Page, url: str) -> Element:
    link = page.one("quick-exit")
    assert link.tag == "a"
    assert link.attrs["href"] == url
    # The story's address must not travel to the neutral site.
    assert "noreferrer" in link.attrs["rel"].split()
    assert "data-quick-exit" in link.attrs
    scripts = [element.attrs.get("src") or "" for element in code_scripts(page)]
    assert [src for src in scripts if src.endswith("/js/quick-exit.js")], "quick-exit.js is not loaded"
    assert all("defer" in element.attrs for element in code_scripts(page)), "a script blocks rendering"
    return link


# A script element of this type is a data block (the share card's structured data, HTML's "data block"):
# the browser never runs it, so it neither blocks rendering nor counts as inline code. Only this one type
# is let through, and only with a body that is JSON and nothing else.
DATA_BLOCK_TYPE = "application/ld+json"


def code_scripts(page: Page) -> list[Element]:
    scripts = [element for element in page.elements if element.tag == "script"]
    for element in scripts:
        if element.attrs.get("type") == DATA_BLOCK_TYPE:
            assert not element.attrs.get("src"), "a data block with a src"
            json.loads(element.text)
    return [element for element in scripts if element.attrs.get("type") != DATA_BLOCK_TYPE]


def assert_no_inline_code(page: Page) -> None:
    executable = code_scripts(page)
    for element in page.elements:
        assert element.tag != "style", "an inline <style> element"
        assert "style" not in element.attrs, f"an inline style attribute on <{element.tag}>"
        handlers = [name for name in element.attrs if name.startswith("on")]
        assert handlers == [], f"inline event handlers {handlers} on <{element.tag}>"
        if element.tag == "script" and element in executable:
            assert element.attrs.get("src"), "an inline <script>"
            assert element.text.strip() == "", "a script with a body"
        if element.tag == "a":
            assert not (element.attrs.get("href") or "").lower().startswith("javascript:")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_has_the_quick_exit_and_no_inline_code(
    client, settings, warned_story, unwarned_story, language
):
    for name, (url, status) in public_pages(warned_story, unwarned_story, language).items():
        page = get_page(client, url, status)
        link = assert_quick_exit(page, settings.QUICK_EXIT_URL)
        assert link.text.strip(), name
        assert_no_inline_code(page)


def test_the_quick_exit_destination_is_a_setting(client, settings, unwarned_story):
    settings.QUICK_EXIT_URL = "https://weather.example/today"
    page = get_page(client, unwarned_story.parts.get().get_absolute_url(), 200)
    assert page.one("quick-exit").attrs["href"] == "https://weather.example/today"


def test_the_default_destination_is_a_neutral_https_page(settings):
    assert settings.QUICK_EXIT_URL.startswith("https://")


def test_the_error_page_has_the_quick_exit_too(settings):
    response = server_error(RequestFactory().get("/en/"))
    page = Page(response.content.decode())
    assert response.status_code == 500
    assert_quick_exit(page, settings.QUICK_EXIT_URL)
    assert_no_inline_code(page)


def test_the_quick_exit_is_labelled_in_each_language(client, unwarned_story):
    labels = {}
    for language in LANGUAGES:
        with translation.override(language):
            url = unwarned_story.get_absolute_url()
        page = get_page(client, url, 200)
        labels[language] = page.one("quick-exit__label").text.strip()
        # Keyboard readers reach it early: right after the skip link, before the site's own navigation.
        links = [element for element in page.elements if element.tag == "a"]
        assert "skip-link" in links[0].classes and "quick-exit" in links[1].classes
    assert labels["en"] == "Quick exit"
    assert labels["ko"] and labels["ko"] != labels["en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_part_with_warnings_keeps_its_body_in_a_closed_gate(client, warned_story, language):
    with translation.override(language):
        url = warned_story.parts.get().get_absolute_url()
    page = get_page(client, url, 200)

    body = page.one("part__body")
    gates = [element for element in body.ancestors() if element.tag == "details"]
    assert len(gates) == 1, "the body is not inside the warning gate"
    gate = gates[0]
    assert "warning-gate" in gate.classes
    assert "open" not in gate.attrs, "the gate must start closed: the reader decides to continue"
    # The gate names the story and its warnings, so a remembered choice never carries past a new warning.
    assert gate.attrs["data-warning-gate"] == f"{warned_story.pk}:detention,violence"

    summary = [element for element in page.elements if element.tag == "summary"]
    assert len(summary) == 1 and summary[0].parent is gate
    assert summary[0].text.strip()

    warning = page.one("content-warning")
    assert warning not in body.ancestors() and gate not in warning.ancestors()
    assert page.elements.index(warning) < page.elements.index(gate), "the warning comes before the gate"
    labels = {"en": ["Detention", "Violence"], "ko": ["구금", "폭력"]}[language]
    assert all(label in warning.text for label in labels)
    # The body's text is in the page, folded, so the reader's choice needs no request.
    assert {"en": "What happened at the border.", "ko": "국경에서 있었던 일."}[language] in body.text
    assert page.by_class("content-warning__note"), "the warning does not say the story is folded"


def test_english_gate_says_continue_to_the_story(client, warned_story):
    with translation.override("en"):
        url = warned_story.parts.get().get_absolute_url()
    page = get_page(client, url, 200)
    assert page.one("warning-gate__closed-label").text.strip() == "Continue to the story"
    assert page.one("content-warning__title").text.strip() == "Content warning"


def test_a_part_without_warnings_shows_its_body_directly(client, unwarned_story):
    page = get_page(client, unwarned_story.parts.get().get_absolute_url(), 200)
    body = page.one("part__body")
    assert [element for element in body.ancestors() if element.tag == "details"] == []
    assert page.by_class("warning-gate") == [] and page.by_class("content-warning") == []
    scripts = [element.attrs.get("src") or "" for element in page.elements if element.tag == "script"]
    assert not [src for src in scripts if src.endswith("/js/content-warnings.js")]


def test_the_story_page_lists_warnings_without_a_gate(client, warned_story):
    with translation.override("en"):
        page = get_page(client, warned_story.get_absolute_url(), 200)
    assert page.by_class("content-warning") and page.by_class("warning-gate") == []
    assert page.by_class("content-warning__note") == []
