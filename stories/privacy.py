"""The identifying-detail guard: no public text may contain a storyteller's identifying terms.

Model ``clean()`` methods call ``check()`` whenever an object is (or stays) public, so the
admin, the services, the translation workspace and the privacy_audit command all apply the
same rule through the one ``Matcher`` below.

How a term matches (docs/back-office.md, "The identifying-detail guard"):

- Case, width (full-width Latin), accents and compatibility forms are folded away, and Hangul is
  compared jamo by jamo, so composed and decomposed syllables are the same text.
- Only letters and digits count. Everything between them (spaces of every kind, every dash and
  hyphen, punctuation, zero-width and invisible characters, soft hyphens, line breaks, markup) is
  ignored inside a term: "Ri Son-hwa" matches "Ri Son‑hwa", "Ri Son–hwa", "Ri Sonhwa",
  "ri son hwa", "RiSonhwa" and "ri-son-hwa-hyesan".
- A term in a spaced script (Latin) matches whole words only: it must not start or end inside a
  word, so "Ri Son-hwa" never matches "Son" alone, and "Kim" never matches "Kimchi". Korean is
  written with particles and suffixes attached ("리선화를", "혜산시에서") and with compounds
  unspaced, so a Hangul term matches anywhere, but never ends inside a syllable ("리" does not
  match "린").
"""

import contextvars
import datetime
import functools
import html
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django_tasks import task
from simple_history.models import HistoricalRecords

from background import queue

logger = logging.getLogger(__name__)

# Letters that look like Latin ones in other scripts, folded so that "Ri Sоn" with a Cyrillic "о"
# is still "Ri Son". Only lowercase: text is case-folded first.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "і": "i", "ј": "j", "к": "k", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
        "ѕ": "s", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ı": "i",
        "ー": " ",  # the katakana long-vowel mark, a letter drawn as a dash
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    }
)  # fmt: skip

# Scripts written without spaces between words (Hangul, kana, CJK ideographs): a term in them may
# start or end next to other letters. Ranges after folding, so Hangul appears as conjoining jamo.
_UNSPACED = (
    (0x1100, 0x11FF),  # Hangul jamo
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul jamo extended A
    (0xAC00, 0xD7A3),  # Hangul syllables (only when unfolded)
    (0xD7B0, 0xD7FF),  # Hangul jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
)
# A syllable's vowel, and the final consonant that may follow it inside the same syllable.
_JUNGSEONG = ((0x1160, 0x11A7), (0xD7B0, 0xD7C6))
_JONGSEONG = ((0x11A8, 0x11FF), (0xD7CB, 0xD7FB))


def _within(char: str, ranges) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def _spaced(char: str) -> bool:
    """Say whether a letter or digit belongs to a script that separates words with spaces."""
    return not _within(char, _UNSPACED)


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """Fold one character: compatibility forms, case, accents; Hangul syllables into their jamo."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    # Combining marks (accents, the breve of McCune-Reischauer's ŏ) are dropped without a break.
    kept = "".join(c for c in folded if unicodedata.category(c) not in {"Mn", "Me"})
    return kept.translate(_CONFUSABLES)


def _letters_of(char: str) -> str:
    return "".join(c for c in _fold_char(char) if c.isalnum())


# The same fold as a table for str.translate, which runs in C: a plain dict (a subclass would be asked
# for each character from Python) of each character's letters, None for a character that has none.
# Filled at first use for the scripts nearly all text is written in, and with any other character as
# texts bring them (_UNCOMMON finds those).
_COMMON = (
    (0x0000, 0x036F),  # ASCII, Latin-1, Latin extended, spacing modifiers, combining marks
    (0x1100, 0x11FF),  # Hangul jamo
    (0x2000, 0x206F),  # general punctuation: every dash, space, zero-width and invisible character
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xFE00, 0xFFEF),  # variation selectors, small and full-width forms
)
_UNCOMMON = re.compile("[^" + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in _COMMON) + "]")
_FOLD_TABLE: dict[int, str | None] = {}


def _fold_table(text: str) -> dict[int, str | None]:
    if not _FOLD_TABLE:
        _FOLD_TABLE.update(
            (code, _letters_of(chr(code)) or None) for low, high in _COMMON for code in range(low, high + 1)
        )
    if _UNCOMMON.search(text):
        for char in set(text):
            if ord(char) not in _FOLD_TABLE:
                _FOLD_TABLE[ord(char)] = _letters_of(char) or None
    return _FOLD_TABLE


def normalise(text: str) -> str:
    """Fold text into the letters and digits the guard compares, everything else dropped."""
    text = text or ""
    return text.translate(_fold_table(text))


# Most text the archive publishes is English in ASCII, or Korean prose: Hangul syllables, ASCII and a few
# punctuation marks. In ASCII, str.translate runs its fast path. In Korean prose, a syllable folds to its
# jamo (its canonical decomposition, NFD) and an ASCII character to itself lowercased or to nothing, so such
# text is folded as UTF-8 bytes in C, several times faster than character by character through the table.
_PROSE_MARKS = "".join(
    char for char in "\u00a0\u00b7\u2010\u2013\u2014\u2015\u2018\u2019\u201c\u201d\u2026\u3000「」『』《》〈〉・※"
    if not _letters_of(char)
)  # fmt: skip
_PROSE_MARK = re.compile(f"[{re.escape(_PROSE_MARKS)}]+")
_NOT_PROSE = re.compile(f"[^\\x00-\\x7f\\uac00-\\ud7a3{re.escape(_PROSE_MARKS)}]")
_ASCII_FOLD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_ASCII_WITHOUT_LETTERS = bytes(code for code in range(128) if not chr(code).isalnum())
_NOT_ASCII_LETTERS = _ASCII_WITHOUT_LETTERS + bytes(range(128, 256))


class _Letters:
    """One reading's letters and digits, folded as ``normalise`` folds them, in the form cheapest to search.

    ``holds`` says True whenever ``term.letters in normalise(text)`` does (tests/stories/test_exposed_scan.py
    compares the two over random text); for a Latin term in Korean prose, sometimes also when it does not.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()
        self.prose = not self.ascii and _NOT_PROSE.search(text) is None
        self._folded: dict[str, str | bytes] = {}

    def _form(self, name: str) -> str | bytes:
        if name not in self._folded:
            if name == "text":
                folded = normalise(self.text)
            elif name == "latin":
                # Only ASCII folds to ASCII letters in Korean prose: everything else goes, the syllables too,
                # which can only bring letters together, never part a term's.
                folded = self.text.encode().translate(_ASCII_FOLD, _NOT_ASCII_LETTERS)
            else:
                prose = unicodedata.normalize("NFD", _PROSE_MARK.sub("", self.text))
                folded = prose.encode().translate(_ASCII_FOLD, _ASCII_WITHOUT_LETTERS)
            self._folded[name] = folded
        return self._folded[name]

    @sensitive_variables()
    def holds(self, term: "_Term") -> bool:
        if self.ascii:
            return term.letters.isascii() and term.letters in self._form("text")
        if self.prose:
            if term.letters.isascii():
                return term.letters.encode() in self._form("latin")
            return term.letters.encode() in self._form("jamo")
        return term.letters in self._form("text")


class _Skeleton(NamedTuple):
    """A reading of a text reduced to its letters and digits, each traced back to the text."""

    letters: str
    origin: list[int]  # the index in the source text of each letter
    gap_before: list[bool]  # whether anything else stood between a letter and the one before it


def _skeleton(characters: Iterable[tuple[str, int]]) -> _Skeleton:
    letters, origin, gaps = [], [], []
    gap = False
    for char, source in characters:
        for c in _fold_char(char):
            if c.isalnum():
                letters.append(c)
                origin.append(source)
                gaps.append(gap)
                gap = False
            else:
                gap = True
    return _Skeleton("".join(letters), origin, gaps)


_MARKUP = re.compile(r"<[^>]*>|&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});?")


def _without_markup(text: str) -> Iterable[tuple[str, int]]:
    """The text with tags as breaks and character references decoded, each character at its source."""
    position = 0
    for markup in _MARKUP.finditer(text):
        for index in range(position, markup.start()):
            yield text[index], index
        token = markup.group()
        decoded = " " if token.startswith("<") else html.unescape(token)
        for char in decoded:
            yield char, markup.start()
        position = markup.end()
    for index in range(position, len(text)):
        yield text[index], index


_TAG = re.compile(r"<[^>]*>")


def _undone(text: str) -> str:
    """The text with tags as breaks and character references decoded: ``_without_markup`` as a string."""
    return _MARKUP.sub(lambda markup: " " if markup.group().startswith("<") else html.unescape(markup.group()), text)


def _shown(rendered: str) -> str:
    """What a reader reads of rendered HTML: tags as breaks, character references decoded."""
    return html.unescape(_TAG.sub(" ", rendered))


# What rendering needs to drop a letter or digit of the text, or bring in one it does not hold: a tag,
# a character reference, a link or an image, an escape, or the number of an ordered list's item (which
# goes into the list's markup). Without any of them, the rendered text holds exactly the text's letters
# and digits, in order: Markdown only drops or turns into tags the characters between them.
_LIST_NUMBER = re.compile(r"[^\w\n\r]*\d+[.)]")  # at the start of a line, after any markers and spaces


def renders_letters(text: str) -> bool:
    """Whether rendering the text could drop or bring in a letter or digit: most text cannot."""
    if "<" in text or "&" in text or "[" in text or "\\" in text:
        return True
    # Markdown reads a lone \r as a line's end too. A line that starts with a letter starts no list.
    lines = text.replace("\r", "\n").split("\n")
    return any(_LIST_NUMBER.match(line) for line in lines if line and not line[0].isalpha())


def _rendered(text: str) -> str:
    from archive.richtext import render_markdown

    return render_markdown(text)


def readings(text: str, rendered: str | None = None) -> list[tuple[_Skeleton, bool]]:
    """Every way a reader may meet this text, folded; the flag says whether it traces back to the text.

    Markup can split a term in the source while the page shows it whole ("Kim Sun**hee**",
    "Kim Sun&#104;ee", "혜*산*"), so the guard reads the text as written, with tags and character
    references undone, and as the Markdown renders: ``rendered`` when the caller has it stored (a part's
    ``body_html``, rendered from this very text on save), else rendered here.
    """
    text = text or ""
    return [(_reading(text, rendered, index), index < 2) for index in range(len(_READINGS))]


# The readings, in the order they are searched: the first two trace back to the text.
_READINGS = ("as written", "markup undone", "rendered")


def _reading(text: str, rendered: str | None, index: int) -> _Skeleton:
    if index == 0:
        return _skeleton((char, position) for position, char in enumerate(text))
    if index == 1:
        return _skeleton(_without_markup(text))
    shown = _shown(_rendered(text) if rendered is None else rendered)
    return _skeleton((char, position) for position, char in enumerate(shown))


class _Term(NamedTuple):
    term: str
    letters: str
    site_wide: bool


class _Hit(NamedTuple):
    start: int  # in the source text, or -1 when only the rendered text holds the term
    end: int


class Matcher:
    """The guard's one rule for whether a text contains a term, used by every check."""

    @sensitive_variables()
    def __init__(self, terms: Iterable[tuple[str, bool]]) -> None:
        """``terms`` yields (term, is_site_wide)."""
        self.terms = [_Term(term, normalise(term), site_wide) for term, site_wide in terms]
        self.terms = [term for term in self.terms if term.letters]

    def __repr__(self) -> str:
        return f"<Matcher of {len(self.terms)} terms>"

    @sensitive_variables()
    def candidates(self, text: str, rendered: str | None = None) -> list[_Term]:
        """The terms whose letters stand together in some reading of the text, whole words or not.

        The cheap test in front of ``search``: each reading's letters are folded in C (``normalise``) and
        searched as a substring, where ``search`` traces every letter back to the text and checks where a
        term starts and ends. A term ``search`` finds is always among these (tests/stories/
        test_exposed_scan.py proves it over hostile text); most texts hold none, and cost no more.
        """
        text = text or ""
        if rendered is None and renders_letters(text):
            rendered = _rendered(text)
        return self._candidates(text, rendered)

    def _candidates(self, text: str, rendered: str | None) -> list[_Term]:
        # ``rendered`` is None only when rendering cannot change the text's letters.
        remaining = list(self.terms)
        found = []
        for letters in _reading_letters(text, rendered):
            for term in list(remaining):
                if letters.holds(term):
                    remaining.remove(term)
                    found.append(term)
            if not remaining:
                break
        return [term for term in self.terms if term in found]

    @sensitive_variables()
    def search(self, text: str, rendered: str | None = None) -> list[tuple[_Term, _Hit]]:
        """Return each term found in the text, with where it starts and ends in the text.

        ``rendered``: the text's stored rendering, when it has one; without it the text is rendered here,
        but only when rendering could change its letters, or a term passes the cheap test.
        """
        text = text or ""
        if not self.terms or not text.strip():
            return []
        if rendered is None and renders_letters(text):
            rendered = _rendered(text)
        # Each reading is folded and searched first, and traced letter by letter only for the terms whose
        # letters it holds. Without tags or references the second reading is the first, letter for letter
        # and gap for gap: it cannot find what the first did not.
        found = []
        remaining = list(self.terms)
        source = _Letters(text)
        for index in range(len(_READINGS)):
            if index == 0:
                letters = source
            elif index == 1:
                if "<" not in text and "&" not in text:
                    continue
                letters = _Letters(_undone(text))
            else:
                letters = source if rendered is None else _Letters(_shown(rendered))
            present = [term for term in remaining if letters.holds(term)]
            if not present:
                continue
            skeleton = _reading(text, rendered, index)
            for term in present:
                at = _find(skeleton, term.letters)
                if at is None:
                    continue
                remaining.remove(term)
                if index < 2:  # traced back to the text
                    found.append((term, _Hit(skeleton.origin[at], skeleton.origin[at + len(term.letters) - 1] + 1)))
                else:
                    found.append((term, _Hit(-1, -1)))
            if not remaining:
                break
        return found

    def matches(self, text: str) -> bool:
        return bool(self.search(text))


@sensitive_variables()
def _reading_letters(text: str, rendered: str | None) -> Iterable[_Letters]:
    """The letters and digits of each reading ``readings`` makes of the text, lazily."""
    yield _Letters(text)
    if "<" in text or "&" in text:
        yield _Letters(_undone(text))
    if rendered is not None:
        yield _Letters(_shown(rendered))
    # Otherwise rendering cannot change the text's letters (``renders_letters``): they were searched already.


@sensitive_variables()
def _find(skeleton: _Skeleton, letters: str) -> int | None:
    """Find the first place where the letters stand as a whole term, by the rules in the module's doc."""
    haystack, gaps = skeleton.letters, skeleton.gap_before
    start = haystack.find(letters)
    while start != -1:
        end = start + len(letters)
        starts_clear = start == 0 or gaps[start] or not (_spaced(letters[0]) and _spaced(haystack[start - 1]))
        ends_clear = (
            end == len(haystack)
            or gaps[end]
            or (
                not (_spaced(letters[-1]) and _spaced(haystack[end]))
                and not (_within(letters[-1], _JUNGSEONG) and _within(haystack[end], _JONGSEONG))
            )
        )
        if starts_clear and ends_clear:
            return start
        start = haystack.find(letters, start + 1)
    return None


class PublicText(NamedTuple):
    """One piece of public text: where a reader meets it, the text, and which object's field holds it."""

    where: str
    text: str
    obj: Any = None
    field: str = ""
    rendered: str | None = None  # the text's stored rendering, when it has one (``Matcher.search``)


# How much of the editor's own text a refusal quotes: the start of the match, never all of it, so the
# message shows where to look without confirming how much of a guess was right.
EXCERPT_MAX = 12


@dataclass(frozen=True, eq=False)
class Finding:
    """One protected term found in one piece of public text, and where in that text it starts."""

    term: str = field(repr=False)
    where: str = ""
    site_wide: bool = False
    line: int = 0  # 0 when only the rendered page shows the term whole
    column: int = 0
    excerpt: str = ""
    obj: Any = field(default=None, repr=False)
    field_name: str = ""

    def message(self) -> str:
        """Point at the place in the editor's own text; the term itself is never quoted back."""
        if not self.line:
            return _(
                "{where}: once rendered, the text reads as a protected term (look for markup inside a word)."
            ).format(where=self.where)
        return _("{where}, line {line}, from character {column}: “{excerpt}”").format(
            where=self.where, line=self.line, column=self.column, excerpt=self.excerpt
        )


def _located(term: _Term, hit: _Hit, item: PublicText) -> Finding:
    if hit.start < 0:
        return Finding(term=term.term, where=item.where, site_wide=term.site_wide, obj=item.obj, field_name=item.field)
    text = item.text
    line_start = text.rfind("\n", 0, hit.start) + 1
    span = text[hit.start : hit.end]
    shown = span[: min(EXCERPT_MAX, max(1, len(span) // 2))]
    return Finding(
        term=term.term,
        where=item.where,
        site_wide=term.site_wide,
        line=text.count("\n", 0, hit.start) + 1,
        column=hit.start - line_start + 1,
        excerpt=" ".join(shown.split()) + "…",
        obj=item.obj,
        field_name=item.field,
    )


@sensitive_variables()
def find_terms(texts: Iterable[tuple], terms: Iterable[tuple[str, bool]] | Matcher) -> list[Finding]:
    """Return every match; ``texts`` yields (place, text) or ``PublicText``, ``terms`` (term, is_site_wide)."""
    matcher = terms if isinstance(terms, Matcher) else Matcher(terms)
    findings = []
    for item in texts:
        item = item if isinstance(item, PublicText) else PublicText(*item)
        for term, hit in matcher.search(item.text, item.rendered):
            findings.append(_located(term, hit, item))
    return findings


def _translated(fields: dict[str, str]) -> dict[str, str]:
    return {
        f"{name}_{code}": _("{field} ({language})").format(field=label, language=language)
        for name, label in fields.items()
        for code, language in settings.LANGUAGES
    }


def text_fields(model) -> dict[str, str]:
    """The fields of a model that hold public text, each with its label in the active language.

    The one list of what the guard reads of each kind of object: ``own_texts`` reads an object's, and
    the search for a term added after publication (``stories.services.exposed_text_scan_run``) reads
    the same columns straight from the database.
    """
    label = model._meta.label_lower
    if label == "stories.storyimage":
        photo = {"alt_text": _("photo alt text"), "caption": _("photo caption"), "credit": _("photo credit")}
        return _translated(photo)
    if label == "stories.part":
        return _translated(
            {"title": _("part title"), "summary": _("part summary"), "body": _("part body"), "recap": _("part recap")}
        )
    if label == "stories.story":
        # The slug is in every link to the story and its parts, the sitemap, the feed and the headers.
        return {
            **_translated({"title": _("story title"), "summary": _("story summary")}),
            "slug": _("story slug (in its links)"),
        }
    if label == "stories.storyteller":
        return _translated({"pseudonym": _("pseudonym"), "bio": _("storyteller bio")})
    if label == "stories.theme":
        return {**_translated({"name": _("theme name")}), "slug": _("theme slug (in links)")}
    if label == "stories.contentwarning":
        return {**_translated({"label": _("content warning")}), "slug": _("content warning slug")}
    if label == "advocacy.campaign":
        fields = {
            "kicker": _("campaign kicker"),
            "title": _("campaign title"),
            "byline": _("campaign byline"),
            "summary": _("campaign summary"),
            "body": _("campaign body"),
            "not_listed": _("campaign text for an unlisted country"),
            "photo_alt": _("campaign photo alt text"),
            "photo_caption": _("campaign photo caption"),
            "photo_credit": _("campaign photo credit"),
        }
        return {
            **_translated(fields),
            "slug": _("campaign slug (in its links)"),
        }
    if label == "advocacy.action":
        fields = {
            "heading": _("action heading"),
            "blurb": _("action text"),
            "subject_template": _("letter subject"),
            "body_template": _("letter text"),
            "post_template": _("post text"),
            "button_label": _("button label"),
        }
        return _translated(fields)
    if label == "advocacy.recipient":
        # Shown beside every letter that writes to it, with its address in the reader's mail program.
        return {**_translated({"label": _("recipient label")}), "email": _("recipient email address")}
    if label == "advocacy.country":
        return _translated({"name": _("country name")})
    if label == "advocacy.recipientgroup":
        # Heads the offices every reader is asked to write to, beside every letter that writes to them.
        return _translated({"name": _("recipient group name")})
    if label == "advocacy.newslettermessages":
        # Read by every reader who signs up for the newsletter.
        return _translated(
            {"success_message": _("newsletter sign-up message"), "failure_message": _("newsletter error message")}
        )
    if label == "advocacy.pressmention":
        # Shown on the home page and every story page.
        return {**_translated({"alt_text": _("press logo alt text")}), "name": _("press outlet name")}
    raise TypeError(f"No public text is defined for {model._meta.object_name}")


def public_texts(obj) -> list[PublicText]:
    """Everything editors wrote that a reader of this object sees, in every language, links included."""
    from stories.models import Part, Story, StoryImage

    if isinstance(obj, StoryImage):
        return own_texts(obj) + public_texts(obj.part)
    if isinstance(obj, Part):
        # A photo's alt text, caption and credit are read (and read aloud) with the part. Photos'
        # file names are random and never come from an upload (stories.images.random_name).
        photos = [text for image in obj.images.all() for text in own_texts(image)] if obj.pk else []
        return own_texts(obj) + photos + public_texts(obj.story)
    if isinstance(obj, Story):
        return own_texts(obj) + public_texts(obj.storyteller)
    return own_texts(obj)


def own_texts(obj) -> list[PublicText]:
    """The public text an object holds itself, without what a reader meets beside it."""
    texts = [PublicText(label, getattr(obj, name, "") or "", obj, name) for name, label in text_fields(obj).items()]
    if obj._meta.label_lower == "advocacy.campaign" and obj.pk:
        # A campaign's calls to action are read on its page.
        texts += [text for action in obj.actions.all() for text in own_texts(action)]
    return texts


def storyteller_of(obj):
    """Return whose identifying terms apply to an object's public text (None: only site-wide terms)."""
    from stories.models import Part, Story, StoryImage, Storyteller

    if not isinstance(obj, (Part, Story, StoryImage, Storyteller)):
        return None  # a campaign, theme or content warning speaks for no single storyteller

    if isinstance(obj, StoryImage):
        return obj.part.story.storyteller
    if isinstance(obj, Part):
        return obj.story.storyteller
    if isinstance(obj, Story):
        return obj.storyteller
    return obj


@sensitive_variables()
def protected_terms(storyteller) -> list[tuple[str, bool]]:
    """Return the storyteller's identifying terms and the site-wide protected terms.

    Raises IdentityKeyMissing when the terms cannot be read: the guard fails closed.
    """
    from stories.fields import identity_cipher
    from stories.models import ProtectedTerm, StorytellerIdentity

    if storyteller is not None:
        # Only a storyteller's terms are encrypted: themes and campaigns stay editable without the key.
        identity_cipher()
    terms = [(term, True) for term in ProtectedTerm.objects.values_list("term", flat=True)]
    if storyteller is not None and storyteller.pk:
        identity = StorytellerIdentity.objects.filter(storyteller=storyteller).first()
        if identity is not None:
            terms = [(term, False) for term in identity.terms()] + terms
    return terms


@sensitive_variables()
def protected_terms_of(storyteller_ids: Iterable[int]) -> dict[int, list[tuple[str, bool]]]:
    """``protected_terms`` of many storytellers (by id) in two queries, for a page that checks many at once.

    Raises IdentityKeyMissing when the terms cannot be read: the guard fails closed.
    """
    from stories.fields import identity_cipher
    from stories.models import ProtectedTerm, StorytellerIdentity

    storyteller_ids = set(storyteller_ids)
    if not storyteller_ids:
        return {}
    identity_cipher()
    site_wide = [(term, True) for term in ProtectedTerm.objects.values_list("term", flat=True)]
    terms = {pk: list(site_wide) for pk in storyteller_ids}
    for identity in StorytellerIdentity.objects.filter(storyteller__in=storyteller_ids):
        terms[identity.storyteller_id] = [(term, False) for term in identity.terms()] + site_wide
    return terms


@sensitive_variables()
def findings_for(obj) -> list[Finding]:
    """Check an object's public text against its storyteller's terms and the site-wide ones."""
    return find_terms(public_texts(obj), protected_terms(storyteller_of(obj)))


@sensitive_variables()
def check_texts(texts: list[tuple], storyteller, *, refusal: str, obj=None) -> None:
    """Refuse, pointing at every match in the editor's own text, when any of the texts holds a protected term.

    Fails closed: without the identity key the terms cannot be read, so nothing passes. Every refusal
    is recorded (``refusals_record``): who, which object, which field, never the term.
    """
    from stories.fields import IdentityKeyMissing

    try:
        findings = find_terms(texts, protected_terms(storyteller))
    except IdentityKeyMissing as error:
        raise ValidationError(
            _("The identity key is missing on this server, so the text cannot be checked for identifying details.")
        ) from error
    if findings:
        _refused(findings, storyteller=storyteller, obj=obj)
        raise ValidationError([refusal] + [finding.message() for finding in findings])


def check(obj) -> None:
    """Refuse to let an object whose public text holds identifying details be (or stay) public."""
    check_texts(
        public_texts(obj),
        storyteller_of(obj),
        refusal=_("This cannot be made public because it contains identifying details:"),
        obj=obj,
    )


# --- Probing: every refusal is kept, and repeated refusals alert the consent officers -------------

# Refusals for one storyteller within this many hours that alert the consent officers; settings may
# change both (ARCHIVE_GUARD_ALERT_REFUSALS, ARCHIVE_GUARD_ALERT_HOURS).
ALERT_REFUSALS = 3
ALERT_HOURS = 24
CONSENT_OFFICERS = "Consent officers"


class Refusal(NamedTuple):
    """One place the guard refused, as it is recorded: no text, no term."""

    storyteller_id: int | None
    object_type: str
    object_id: int | None
    field: str
    site_wide: bool


# Inside a service, refusals wait here until its transaction has rolled back, and are written after.
_pending: contextvars.ContextVar[list[Refusal] | None] = contextvars.ContextVar("guard_refusals", default=None)


def _refused(findings: list[Finding], *, storyteller, obj) -> None:
    refusals = []
    for finding in findings:
        owner = finding.obj if finding.obj is not None else obj
        refusal = Refusal(
            storyteller_id=storyteller.pk if storyteller is not None else None,
            object_type=owner._meta.label_lower if owner is not None else "",
            object_id=owner.pk if owner is not None else None,
            field=str(finding.where),
            site_wide=finding.site_wide,
        )
        if refusal not in refusals:
            refusals.append(refusal)
    pending = _pending.get()
    if pending is not None:
        pending.extend(refusal for refusal in refusals if refusal not in pending)
    else:
        refusals_record(refusals=refusals)


def refusals_recorded(service: Callable) -> Callable:
    """Keep the guard's refusals in a service whose transaction rolls back: record them after it.

    Goes above ``transaction.atomic``. The form path needs none: a form's refusal is recorded at
    once, in the admin's own transaction, which commits with the page that shows the error.
    """

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        if _pending.get() is not None:
            return service(*args, **kwargs)  # an outer service records
        pending: list[Refusal] = []
        token = _pending.set(pending)
        try:
            return service(*args, **kwargs)
        finally:
            _pending.reset(token)
            if pending:
                refusals_record(refusals=pending)

    return wrapper


def _acting_user():
    """The signed-in user of the request being answered, from the audit trail's own middleware."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def refusals_record(*, refusals: list[Refusal]) -> None:
    """Write refusals to the audit trail, and alert the consent officers when one storyteller's repeat."""
    from stories.models import GuardRefusal

    user = _acting_user()
    request = getattr(HistoricalRecords.context, "request", None)
    # A page that refuses the same place several times (a story and each of its parts' rows) is one probe.
    seen = getattr(request, "_guard_refusals", None) if request is not None else None
    if request is not None and seen is None:
        seen = request._guard_refusals = set()
    threshold = getattr(settings, "ARCHIVE_GUARD_ALERT_REFUSALS", ALERT_REFUSALS)
    since = timezone.now() - datetime.timedelta(hours=getattr(settings, "ARCHIVE_GUARD_ALERT_HOURS", ALERT_HOURS))
    with transaction.atomic():
        for refusal in refusals:
            if seen is not None:
                if refusal in seen:
                    continue
                seen.add(refusal)
            alert = False
            if refusal.storyteller_id is not None:
                earlier = GuardRefusal.objects.filter(storyteller_id=refusal.storyteller_id, refused_at__gte=since)
                count = earlier.count() + 1
                # Once at the threshold, and again at each multiple of it, so that probing goes on being seen.
                alert = count >= threshold and count % threshold == 0
            row = GuardRefusal.objects.create(
                user_id=user.pk if user is not None else None,
                username=user.get_username() if user is not None else "",
                alerted=alert,
                **refusal._asdict(),
            )
            if alert:
                queue.enqueue_after_commit(alert_consent_officers, row.pk, count)


@task(priority=10)
def alert_consent_officers(refusal_id: int, count: int) -> None:
    """Mail the consent officers that one storyteller's text was refused again and again.

    A task, run by a worker once the refusal has committed: the editor's request never waits for the mail
    server. If the mail cannot be sent the task fails, which the operators hear of (the django_tasks
    logger mails ADMINS) and a superuser can run again from the admin; the refusals are recorded whatever.
    """
    from stories.models import GuardRefusal, Storyteller

    refusal = GuardRefusal.objects.get(pk=refusal_id)
    officers = Group.objects.get_or_create(name=CONSENT_OFFICERS)[0].user_set.filter(is_active=True)
    recipients = sorted({user.email for user in officers if user.email})
    if not recipients:
        logger.warning(
            "Repeated guard refusals for storyteller %s, and no consent officer has an email address.",
            refusal.storyteller_id,
        )
        return
    storyteller = Storyteller.objects.filter(pk=refusal.storyteller_id).first()
    hours = getattr(settings, "ARCHIVE_GUARD_ALERT_HOURS", ALERT_HOURS)
    body = _(
        "The identifying-detail guard refused text about {pseudonym} (storyteller id {storyteller}) {count} times "
        "in the last {hours} hours. Someone may be testing guesses of their identity.\n\n"
        "The latest: {user}, on {object} id {object_id}, in {field}.\n\n"
        "Every refusal is in the audit trail: {url}\n"
    ).format(
        pseudonym=storyteller if storyteller is not None else "—",
        storyteller=refusal.storyteller_id,
        count=count,
        hours=hours,
        user=refusal.username or _("someone outside the back office"),
        object=refusal.object_type,
        object_id=refusal.object_id,
        field=refusal.field,
        url=settings.SITE_URL.rstrip("/") + reverse("admin:stories_consent_audit")
        if getattr(settings, "SITE_URL", "")
        else reverse("admin:stories_consent_audit"),
    )
    send_mail(_("Repeated refusals by the identifying-detail guard"), body, None, recipients)
