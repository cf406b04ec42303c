"""A term added after publication: the search of the whole archive is a task, fast, and never misses a place.

The search reads every published text, so it has a cheap test in front of the guard's letter-by-letter one
(``privacy.Matcher.candidates``): the first tests here prove, over hostile text, that the cheap test lets
through every text the guard's rule finds a term in. The rest follow an officer who adds a term: the save
queues the search, a worker runs it, the page shows where the term is and takes it back in one step.
"""

import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive.richtext import render_markdown
from stories import privacy

# Invented names and places, in both scripts, with the parts a writer may split them into.
TERMS = [
    "Ri Son-hwa",
    "Lantern House",
    "Kim Sun-hee",
    "Pak Ok",
    "Hyesan 7",
    "리선화",
    "혜산",
    "등불의 집",
    "김순희",
    "Ｏｋ Ｐａｋ",
]
DASHES = [chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Pd"] + ["\u2212", "\u30fc"]
SPACES = ["", " ", "  ", "\n", "\u00a0", "\u202f", "\u2007", "\u3000", "\t"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]
MARKUP = [
    "*",
    "**",
    "_",
    "`",
    "\\",
    "<em>",
    "</em>",
    "<b>",
    "</b>",
    "<span class='x'>",
    "<br>",
    "<!-- a comment -->",
    "<script>alert(1)</script>",
    "<style>p{}</style>",
    "](https://example.org/a-b)",
    "[",
    "](",
    ")",
    "[x]: https://example.org\n",
    "\n\n1. ",
    "\n\n- ",
    "\n\n> ",
    "\n\n# ",
    "\n===\n",
    "\n    ",
    "&amp;",
    "&nbsp;",
    "&#8209;",
    "&shy;",
    "<http://example.org/",
    ">",
]
SEPARATOR = st.sampled_from(DASHES + SPACES + INVISIBLE + MARKUP)
NOISE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("<>&[]()*_`\\#!\n 1."),
    max_size=12,
)


def _width(char: str, full: bool) -> str:
    return chr(ord(char) + 0xFEE0) if full and "!" <= char <= "~" else char


@st.composite
def spelled(draw, term: str) -> str:
    """The term as a hostile writer might spell it: case, width, decomposed Hangul, references, breaks anywhere."""
    out = []
    for char in term:
        if char.isalpha() and draw(st.booleans()):
            char = char.swapcase()
        char = _width(char, draw(st.integers(0, 5)) == 0)
        if "\uac00" <= char <= "\ud7a3" and draw(st.booleans()):
            char = unicodedata.normalize("NFD", char)
        encoding = draw(st.integers(0, 9))
        if encoding == 0:
            char = "".join(f"&#{ord(c)};" for c in char)
        elif encoding == 1:
            char = "".join(f"&#x{ord(c):x};" for c in char)
        out.append(char)
        out.extend(draw(st.lists(SEPARATOR, max_size=2)))
    spelling = "".join(out)
    wrap = draw(st.integers(0, 5))
    if wrap == 0:
        spelling = f"[{spelling}](https://example.org/)"
    elif wrap == 1:
        spelling = f"**{spelling}**"
    elif wrap == 2:
        spelling = f"<em>{spelling}</em>"
    return spelling


@st.composite
def hostile_text(draw) -> tuple[str, str]:
    term = draw(st.sampled_from(TERMS))
    pieces = [draw(NOISE), draw(spelled(term)), draw(NOISE)]
    if draw(st.booleans()):
        pieces.insert(draw(st.integers(0, 3)), draw(spelled(draw(st.sampled_from(TERMS)))))
    return term, "".join(pieces)


def found_letter_by_letter(matcher: privacy.Matcher, text: str, rendered: str | None = None) -> set[str]:
    """The guard's rule with no cheap test in front: every reading, every term, letter by letter."""
    return {
        term.term
        for skeleton, _traced in privacy.readings(text, rendered)
        for term in matcher.terms
        if privacy._find(skeleton, term.letters) is not None
    }


EVERY_TERM = privacy.Matcher([(term, True) for term in TERMS])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_text())
# Each way rendering joins letters that the text keeps apart, at least once whatever hypothesis draws.
@example(("Pak Ok", "Pak\n\n1. Ok"))  # an ordered list's number goes into its markup
@example(("리선화", "리\n\n- 1. 선화"))
@example(("Kim Sun-hee", "Kim Sun<script>x</script>hee"))  # an element dropped whole
@example(("Kim Sun-hee", "[Kim Sun](https://example.org)hee"))  # a link's address
@example(("Kim Sun-hee", "Kim Sun&#104;ee"))  # a character reference
@example(("혜산", "혜<b>산</b>"))
def test_the_cheap_test_lets_through_every_text_the_guard_finds_a_term_in(case):
    _term, text = case
    found = found_letter_by_letter(EVERY_TERM, text)
    # Without a stored rendering, and with one (a part's body_html is this rendering, stored on save).
    assert found <= {term.term for term in EVERY_TERM.candidates(text)}
    assert found <= {term.term for term in EVERY_TERM.candidates(text, render_markdown(text))}
    # And so the guard's answer, with the cheap test in front, is what it was without it.
    assert {term.term for term, _hit in EVERY_TERM.search(text)} == found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40))
def test_the_fast_fold_is_the_guards_fold_for_any_character(text):
    assert privacy.normalise(text) == privacy._skeleton((char, index) for index, char in enumerate(text)).letters


def test_the_fast_fold_is_the_guards_fold_for_every_dash_space_and_invisible_character():
    text = "".join(DASHES + SPACES + INVISIBLE) + "Ｒｉ Ｓｏｎ－ｈｗａ 리\u00a0선\u200b화 Sŏn"
    assert privacy.normalise(text) == privacy._skeleton((char, index) for index, char in enumerate(text)).letters
    assert privacy.normalise(text) == privacy._skeleton((char, index) for index, char in enumerate(text)).letters


def test_text_that_holds_no_term_costs_no_rendering(monkeypatch):
    def render(text):
        raise AssertionError("rendered")

    monkeypatch.setattr(privacy, "_rendered", render)
    # Markdown that cannot change the letters (emphasis, quotes, headings, bullets) is never rendered.
    assert EVERY_TERM.search("# A heading\n\n> We *walked* for **twenty** days.\n\n- a river\n- a hill") == []
    assert EVERY_TERM.search("A [link](https://example.org) and &amp;", "<p>A <a>link</a> and &amp;</p>") == []
