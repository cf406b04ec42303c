"""Paragraphs pasted with single line breaks are caught before saving; section breaks render as breaks."""

import time

import pytest

from archive.richtext import paragraphs_from_line_breaks, render_markdown, single_line_breaks
from archive.validators import MAX_BODY_LENGTH
from stories.models import Part
from tests.conftest import make_part
from tests.stories.test_back_office import admin_url, open_form

PASTED = "\n".join(f"Paragraph {n} of a letter pasted from an email." for n in range(1, 10))


# --- archive.richtext -------------------------------------------------------------------------------------


def test_nine_pasted_paragraphs_are_found_and_fixed_into_nine():
    assert render_markdown(PASTED).count("<p>") == 1
    assert single_line_breaks(PASTED) == 8
    fixed = paragraphs_from_line_breaks(PASTED)
    assert render_markdown(fixed).count("<p>") == 9
    assert single_line_breaks(fixed) == 0


@pytest.mark.parametrize(
    "text",
    [
        "One paragraph.\n\nAnother, written as Markdown asks.\nWith a line joined on purpose.",
        "- a list\n- of items\n- stays a list",
        "> a quotation\n> over two lines",
        "Roses are red,  \nviolets are blue",
        "A line ending in a backslash\\\nand the next",
        "    indented code\n    stays code",
        "Only one line.",
        "",
    ],
)
def test_text_that_means_its_line_breaks_is_left_alone(text):
    assert single_line_breaks(text) == 0
    assert paragraphs_from_line_breaks(text) == text


def test_the_fix_keeps_each_list_and_quotation_together_and_sets_every_block_apart():
    text = "## A heading\nFirst line.\nSecond line.\n- one\n- two\n> said\n> twice\n***\nLast line."
    fixed = paragraphs_from_line_breaks(text)
    assert fixed == (
        "## A heading\n\nFirst line.\n\nSecond line.\n\n- one\n- two\n\n> said\n> twice\n\n***\n\nLast line."
    )
    assert render_markdown(fixed) == (
        "<h2>A heading</h2>\n<p>First line.</p>\n<p>Second line.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        "<blockquote>\n<p>said\ntwice</p>\n</blockquote>\n<hr>\n<p>Last line.</p>"
    )


def test_windows_line_endings_are_counted_too():
    assert single_line_breaks("One.\r\nTwo.\r\nThree.") == 2


@pytest.mark.parametrize(
    "text",
    [
        "Before.\n***\nAfter.",
        "Before.\n\n* * *\n\nAfter.",
        "Before.\n---\nAfter.",
        "Before.\n_ _ _\nAfter.",
        "Before.\n\u2042\nAfter.",
        "Before.\n   ***   \nAfter.",
    ],
)
def test_section_breaks_render_as_a_visible_break_never_a_heading(text):
    html = render_markdown(text)
    assert html == "<p>Before.</p>\n<hr>\n<p>After.</p>"


def test_indented_stars_stay_code_and_bold_stays_bold():
    assert "<hr>" not in render_markdown("    ***\n    code")
    assert render_markdown("***bold and emphasis***") == "<p><strong><em>bold and emphasis</em></strong></p>"


@pytest.mark.parametrize(
    "text",
    [
        "***\n<script>alert(1)</script>",
        "* * *\n<hr onclick=alert(1) style=color:red class=x>",
        "***\n<hr/><img src=x onerror=alert(1)>\n***<svg onload=alert(1)>",
        "***\n[link](javascript:alert(1))\n***",
        "\u2042<iframe src=//evil></iframe>",
    ],
)
def test_hostile_text_around_section_breaks_is_cleaned(text):
    html = render_markdown(text)
    for bad in ("<script", "onclick", "onerror", "onload", "javascript:", "<iframe", "<svg", "style=", "class="):
        assert bad not in html, (bad, html)


def test_hostile_paste_is_fixed_without_letting_anything_through():
    text = "Hello <script>alert(1)</script>\n<img src=x onerror=alert(1)>\nGoodbye"
    html = render_markdown(paragraphs_from_line_breaks(text))
    assert "<script" not in html and "onerror" not in html
    assert html.count("<p>") == 3


LONGEST = MAX_BODY_LENGTH


@pytest.mark.parametrize(
    "text",
    [
        ("* " * LONGEST)[:LONGEST],
        ("*\n" * LONGEST)[:LONGEST],
        ("line\n" * LONGEST)[:LONGEST],
        ("-\n" * LONGEST)[: LONGEST - 1] + "x",
        ("\u2042\n" * LONGEST)[:LONGEST],
        ("- " * 30 + "x\n") * (LONGEST // 63),
    ],
)
def test_the_longest_hostile_body_is_checked_and_fixed_quickly(text):
    started = time.perf_counter()
    single_line_breaks(text)
    fixed = paragraphs_from_line_breaks(text)
    # Linear in the text: well under a second here, however the lines are shaped.
    assert time.perf_counter() - started < 2
    render_markdown(fixed)


# --- The part form -----------------------------------------------------------------------------------------


@pytest.fixture
def draft(story):
    return make_part(story=story, status=Part.Status.DRAFT, published_at=None, body_en="Short.")


def test_the_part_form_warns_with_a_preview_and_saves_nothing(client, editor, draft):
    client.force_login(editor)
    url = admin_url("part", "change", draft.pk)
    response = open_form(client, url).post(client, body_en=PASTED)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Paragraphs separated by single line breaks" in html
    assert "8 lines would be joined" in html
    assert 'name="split_paragraphs"' in html and 'name="keep_line_breaks"' in html
    assert html.count("<p>Paragraph ") >= 9  # the preview with each line a paragraph
    draft.refresh_from_db()
    assert draft.body_en == "Short."


def test_one_tick_turns_the_lines_into_paragraphs(client, editor, draft):
    client.force_login(editor)
    url = admin_url("part", "change", draft.pk)
    response = open_form(client, url).post(client, body_en=PASTED, split_paragraphs="on")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.body_html_en.count("<p>") == 9


def test_the_editor_may_keep_the_text_as_it_is(client, editor, draft):
    client.force_login(editor)
    url = admin_url("part", "change", draft.pk)
    response = open_form(client, url).post(client, body_en=PASTED, keep_line_breaks="on")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.body_en == PASTED
    # Opened again, the form still shows how it reads, so nobody is surprised later.
    assert "Paragraphs separated by single line breaks" in client.get(url).content.decode()


def test_a_body_written_with_blank_lines_saves_without_a_question(client, editor, draft):
    client.force_login(editor)
    url = admin_url("part", "change", draft.pk)
    response = open_form(client, url).post(client, body_en="One.\n\nTwo.\n\n* * *\n\nThree.")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.body_html_en == "<p>One.</p>\n<p>Two.</p>\n<hr>\n<p>Three.</p>"


def test_the_reader_sees_a_section_break(client, story):
    part = make_part(story=story, body_en="Before the river.\n***\nAfter the river.")
    html = client.get(f"/en/stories/{story.slug}/part-{part.number}/").content.decode()
    assert "<p>Before the river.</p>\n<hr>\n<p>After the river.</p>" in html


def test_the_fix_is_offered_right_under_the_body(client, editor, draft):
    client.force_login(editor)
    html = client.get(admin_url("part", "change", draft.pk)).content.decode()
    body, split, title = html.find('name="body_en"'), html.find('name="split_paragraphs"'), html.find('name="title_en"')
    assert -1 < body < split and title < body
