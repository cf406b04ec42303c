"""Links a reader follows to act elsewhere: mailto: letters and X posts, built so no text can escape its field."""

import functools
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Past about 2,000 characters some mail handlers cut a mailto: URL short or refuse it: Windows hands
# URLs to the mail program through a 2,048-character limit, and Outlook and older browsers stop near
# 2,083. A letter whose link would be longer is offered as copy-the-letter plus the address instead.
# Korean costs nine characters a syllable once percent-encoded, so this is about 200 Korean syllables
# or 600 to 700 English words' worth of ASCII text, whichever comes first.
MAILTO_MAX_LENGTH = 2000

X_INTENT_URL = "https://x.com/intent/post"
# X counts text by twitter-text's version 3 rules: 280 weighted characters, where code points in these
# ranges weigh 1 and all others (Korean, Chinese, Japanese, emoji) weigh 2, and every link weighs 23.
X_MAX_WEIGHTED_LENGTH = 280
X_LINK_LENGTH = 23
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_SCHEME_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# X also shortens bare domains such as example.org/path; they are counted at no less than a link.
_BARE_DOMAIN = re.compile(r"(?<![\w@.-])[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/\S*)?", re.IGNORECASE)

# Line and paragraph separators count as line breaks; every other control or format character goes.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")


# Joiners stay: emoji sequences and several scripts need them. Bidirectional overrides and the rest go.
_KEPT_FORMAT_CHARACTERS = "\u200c\u200d"


def _without_controls(text: str, *, keep: str = "") -> str:
    keep += _KEPT_FORMAT_CHARACTERS
    return "".join(char for char in text if char in keep or unicodedata.category(char) not in {"Cc", "Cf"})


def single_line(text: str) -> str:
    """Return the text on one line: line breaks become spaces, controls are dropped, spaces collapse."""
    text = _LINE_BREAKS.sub(" ", text or "")
    return " ".join(_without_controls(text, keep="\t").split())


def multiline(text: str, *, newline: str = "\n") -> str:
    """Return the text with uniform line breaks and no other control or invisible format characters."""
    lines = _LINE_BREAKS.split((text or "").strip())
    return newline.join(_without_controls(line, keep="\t").rstrip() for line in lines)


def letter_text(text: str) -> str:
    """Return a letter body with CRLF line breaks, as RFC 6068 asks of a mailto: body."""
    return multiline(text, newline="\r\n")


def mailto_url(*, address: str, subject: str = "", body: str = "") -> str:
    """Build a mailto: URL whose subject and body are percent-encoded whole.

    Every character outside the unreserved set is encoded, "&", "=", "?", "#", "%", "," and line
    breaks included, so nothing in the subject or body can start another header field or add a
    recipient. The subject is kept to one line; the body keeps its line breaks as %0D%0A.
    """
    try:
        validate_email(address)
    except ValidationError as error:
        raise ValueError("not an email address") from error
    fields = _encoded_fields(subject, body)
    url = "mailto:" + quote(address, safe="@")
    return url + ("?" + "&".join(fields) if fields else "")


@functools.lru_cache(maxsize=64)
def _encoded_fields(subject: str, body: str) -> tuple[str, ...]:
    """The subject and body fields of a mailto: URL, encoded once for every office a letter goes to."""
    fields = []
    if subject:
        fields.append("subject=" + quote(single_line(subject), safe=""))
    if body:
        fields.append("body=" + quote(letter_text(body), safe=""))
    return tuple(fields)


@dataclass(frozen=True)
class LetterLink:
    """How a reader writes to one recipient: the whole letter in the link, or the subject only."""

    href: str
    carries_letter: bool


def letter_link(*, address: str, subject: str, body: str, limit: int = MAILTO_MAX_LENGTH) -> LetterLink:
    """Return a link with the letter prefilled, or, when that is too long, one with the subject only."""
    full = mailto_url(address=address, subject=subject, body=body)
    if len(full) <= limit:
        return LetterLink(href=full, carries_letter=True)
    subject_only = mailto_url(address=address, subject=subject)
    if len(subject_only) <= limit:
        return LetterLink(href=subject_only, carries_letter=False)
    return LetterLink(href=mailto_url(address=address), carries_letter=False)


def _weigh(text: str) -> int:
    weight = 0
    for char in text:
        point = ord(char)
        weight += 1 if any(low <= point <= high for low, high in _X_LIGHT_RANGES) else 2
    return weight


def x_weighted_length(text: str) -> int:
    """Count text as X does; emoji sequences count per code point, so the count is never too low."""
    text = unicodedata.normalize("NFC", text or "")
    total = 0
    position = 0
    for match in _SCHEME_URL.finditer(text):
        total += _weigh_bare(text[position : match.start()]) + X_LINK_LENGTH
        position = match.end()
    return total + _weigh_bare(text[position:])


def _weigh_bare(text: str) -> int:
    total = 0
    position = 0
    for match in _BARE_DOMAIN.finditer(text):
        total += _weigh(text[position : match.start()]) + max(_weigh(match.group()), X_LINK_LENGTH)
        position = match.end()
    return total + _weigh(text[position:])


def x_post_length(text: str) -> int:
    """Count a post as X will see it from our intent link: the text, a space and the campaign link."""
    return x_weighted_length(multiline(text)) + 1 + X_LINK_LENGTH


def x_intent_url(*, text: str, url: str) -> str:
    """Build X's web intent link; the reader reviews the post on X before anything is published."""
    return f"{X_INTENT_URL}?text={quote(multiline(text), safe='')}&url={quote(url, safe='')}"
