"""Typography on reader pages: separators, list numbering, where titles and links may break, the warning note."""

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

from stories.models import ContentWarning
from tests.conftest import make_part

NBSP = "\u00a0"
SITE_CSS = Path(settings.BASE_DIR, "static", "css", "site.css").read_text()


def html_of(client, obj, language: str = "en") -> str:
    with translation.override(language):
        url = obj.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def css_rule(selector: str) -> str:
    """The declarations of the last rule whose selector list names `selector` exactly."""
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", re.sub(r"/\*.*?\*/", "", SITE_CSS, flags=re.S))
    found = [body for selectors, body in rules if selector in [s.strip() for s in selectors.split(",")]]
    assert found, f"no rule for {selector}"
    return found[-1]


def test_part_meta_line_separates_its_items_with_a_dot_screen_readers_skip(client, story):
    part = make_part(story=story, body_en="word " * 450)
    html = html_of(client, part)
    meta = html[html.index('<p class="part__meta">') : html.index("</p>", html.index('<p class="part__meta">'))]
    separator = '<span class="part__meta-separator" aria-hidden="true">&nbsp;·</span>'
    # Date · reading time · teller: two separators, each right after the item before it.
    assert meta.count(separator) == 2
    assert re.search(r"</time>" + re.escape(separator), meta)
    assert re.search(r"minute read</span>" + re.escape(separator), meta)
    assert "·" not in re.sub(re.escape(separator), "", meta)


def test_lists_of_parts_do_not_number_a_label_that_already_says_part_n(client, story):
    parts = [make_part(story=story) for _ in range(3)]
    part_page = html_of(client, parts[1])
    story_page = html_of(client, story)
    # Still ordered lists, for screen readers ("list, 3 items") and Safari, which drops the role otherwise.
    assert '<ol class="toc__list" role="list">' in part_page
    assert '<ol class="part-list" role="list">' in story_page
    for selector in (".toc__list", ".part-list"):
        assert "list-style: none" in css_rule(selector)


def test_titles_keep_the_dash_with_the_word_before_it(client, story):
    parts = [make_part(story=story, title_en="Crossing the river", title_ko="강을 건너다") for _ in range(3)]
    english = html_of(client, parts[1])
    assert f"<title>{story.title_en}: Part 2{NBSP}— Crossing the river · " in english
    assert f'<h1 class="part__title">{story.title_en}: Part 2{NBSP}— Crossing the river</h1>' in english
    # The previous/next links and the contents list too; no breakable space is left before a dash.
    assert f"Part 1{NBSP}— Crossing the river" in english
    assert f"Part 3{NBSP}— Crossing the river" in english
    assert " —" not in english
    korean = html_of(client, parts[1], "ko")
    assert f"<title>{story.title_ko}: 2편{NBSP}— 강을 건너다 · " in korean
    assert f'<h1 class="part__title">{story.title_ko}: 2편{NBSP}— 강을 건너다</h1>' in korean
    assert " —" not in korean
    assert f"Part 1{NBSP}— Crossing the river" in html_of(client, story)


def test_keeping_the_dash_does_not_unescape_a_title(client, story):
    part = make_part(story=story, title_en="<b>bold</b> — and more")
    html = html_of(client, part)
    assert "<b>bold</b>" not in html
    assert f"&lt;b&gt;bold&lt;/b&gt;{NBSP}— and more" in html


def test_start_links_keep_their_dot_off_the_start_of_a_line(client, story):
    parts = [make_part(story=story) for _ in range(3)]
    html = html_of(client, parts[2])
    start = html[html.index('class="part__start"') :]
    start = start[: start.index("</nav>")]
    assert "</a>&nbsp;· <a " in start


def test_warning_note_says_hidden_only_while_the_gate_is_closed(client, story):
    story.content_warnings.add(ContentWarning.objects.create(slug="violence", label_en="Violence", label_ko="폭력"))
    part = make_part(story=story)
    html = html_of(client, part)
    assert (
        '<span class="content-warning__while-hidden">The story stays hidden until you choose to continue. </span>'
        "You can stop here, and leave at any time with Quick exit." in html
    )
    assert 'class="warning-gate"' in html and "<details" in html
    # The gate's open state, not a script or an inline style, hides the sentence.
    assert "display: none" in css_rule(".part:has(.warning-gate[open]) .content-warning__while-hidden")
    korean = html_of(client, part, "ko")
    assert (
        '<span class="content-warning__while-hidden">계속 읽기를 고르기 전까지 이야기는 가려져 있습니다. </span>'
        in korean
    )


def relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def colour(value: str) -> str:
    value = value.strip()
    variable = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if variable:
        value = re.search(re.escape(variable.group(1)) + r":\s*(#[0-9a-fA-F]{6})", SITE_CSS).group(1)
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", value), value
    return value


def test_warning_note_text_meets_wcag_aa_contrast_on_its_background():
    text = colour(re.search(r"(?<![-\w])color:\s*([^;]+);", css_rule(".content-warning__note")).group(1))
    background = colour(re.search(r"background:\s*([^;]+);", css_rule(".content-warning")).group(1))
    lighter, darker = sorted((relative_luminance(text), relative_luminance(background)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5


def test_numbered_titles_built_in_python_are_the_template_tags_output_byte_for_byte(db):
    """part_label / part_heading / other_language_link replace blocktranslate + keep_dash on long lists."""
    from django.template import Context, Template

    from stories.models import Part, Story
    from stories.templatetags.typography import other_language_link, part_heading, part_label

    tags = Template(
        "{% load i18n typography %}"
        "{% filter keep_dash %}{% blocktranslate with number=part.number title=part.title %}"
        "Part {{ number }} — {{ title }}{% endblocktranslate %}{% endfilter %}|"
        "{% filter keep_dash %}{% blocktranslate with story=part.story.title number=part.number title=part.title %}"
        "{{ story }}: Part {{ number }} — {{ title }}{% endblocktranslate %}{% endfilter %}"
    )
    story = Story(slug="lamps", title_en='Rain & "<Lamps>" — 100%', title_ko="비 & <등불> — 100%")
    for number, title in ((3, "A <b>Difficult</b> Decision — & 'after'"), (1234, "%(story)s 50%"), (7, "")):
        part = Part(story=story, number=number, title_en=title, title_ko=title + " 편")
        for language in ("en", "ko"):
            with translation.override(language):
                expected = tags.render(Context({"part": part}))
                assert f"{part_label(part)}|{part_heading(part)}" == expected
    part = Part(story=story, number=2, title_en="Across", title_ko="건너서")
    part.available_language = "ko"
    with translation.override("en"):
        link = other_language_link(part)
    with translation.override("ko"):
        url = part.get_absolute_url()
        heading = part_heading(part)
    assert link == f'<a href="{url}" hreflang="ko" lang="ko">{heading}</a>'
    assert "2편" in link and "&lt;등불&gt;" in link
