"""Text for the search index and for results: plain text from sanitised HTML, query words, snippets.

Matching is substring matching of each query word, case-folded, the same on both databases: the
index keeps ``normalise()``d text and the query's words are ``normalise()``d the same way. An English
word also matches its other forms (``word_forms()``): an entry holds the word if it holds any of them.
Snippets are built from text, never by slicing HTML, as (text, marked) segments that the template
escapes: no markup is ever written here.
"""

import functools
import html.parser
import re
import unicodedata

import snowballstemmer

# Elements whose end is a break between words in the rendered text.
BLOCKS = frozenset(
    {"p", "br", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "div", "figure", "pre"}
)
# A query word: letters and digits (of any script) only. Quotes, stars, colons, brackets, carets and
# every other mark are separators, so no search syntax of either database ever comes from a reader.
WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 8
MAX_WORD_LENGTH = 60
# A word this long or longer is found through the trigram index; shorter ones through the index of
# each entry's distinct one- and two-character pieces of words (``short_grams()``, search.querysets).
TRIGRAM = 3

SNIPPET_LENGTH = 240
SNIPPET_LEAD = 70


class _TextParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []

    def handle_data(self, data: str) -> None:
        self.pieces.append(data)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.pieces.append("\n")


def html_text(markup: str) -> str:
    """The text a reader sees in rendered, sanitised HTML, one line per block, spaces collapsed."""
    parser = _TextParser()
    parser.feed(markup or "")
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def normalise(text: str) -> str:
    """Text as the index keeps it and queries are matched: compatibility-composed and lower-cased."""
    return unicodedata.normalize("NFKC", text or "").lower()


def short_grams(document: str) -> str:
    """The distinct pieces of one and two characters of the words of a ``normalise()``d text, sorted,
    separated by spaces: what a query word shorter than ``TRIGRAM`` is looked up in.

    A query word is letters and digits only (``WORD``), so it is inside a text exactly when it is one of
    these pieces: two neighbouring characters that are both letters or digits are in the same word. Every
    script alike, so that every short word is found exactly as a longer one is, anywhere in the text.
    """
    characters = {character for character in set(document) if WORD.match(character)}
    pairs = {
        first + second
        for first, second in set(zip(document, document[1:], strict=False))
        if first in characters and second in characters
    }
    return " ".join(sorted(characters | pairs))


def query_words(query: str) -> list[str]:
    """The distinct words of a reader's query, normalised, in order; at most MAX_WORDS of them."""
    words: list[str] = []
    for word in WORD.findall(normalise(query)):
        word = word[:MAX_WORD_LENGTH]
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


# English query words of letters a to z are stemmed with the Snowball English stemmer (Porter2, the one
# PostgreSQL's "english" text search configuration uses); Korean words never are.
STEMMED_LANGUAGES = {"en": "english"}
ENGLISH_WORD = re.compile(r"[a-z]+")


@functools.lru_cache(maxsize=4096)
def word_forms(word: str, language: str) -> tuple[str, ...]:
    """The forms of a query word that an entry may hold to match it: the word first.

    Matching is by substring, so a form finds every longer word that holds it: the stem finds the
    word's inflections ("lanterns" -> "lantern", "walked" -> "walk", which finds "walking"). A stem that
    ends in the "i" of a "y" or "ies" is given as its y and ie forms ("stories" -> "story", "storie";
    "cried" -> "cry", "crie"), and as itself when it is four letters or more ("happi" finds "happiness").
    A form shorter than three letters is never added: it would leave the trigram index.
    """
    stemmer = STEMMED_LANGUAGES.get(language)
    if stemmer is None or len(word) < TRIGRAM or not ENGLISH_WORD.fullmatch(word):
        return (word,)
    # A stemmer keeps state between calls: one per call, so that threads never share one.
    stem = snowballstemmer.stemmer(stemmer).stemWord(word)
    candidates = [stem]
    if stem.endswith("i"):
        candidates = [stem[:-1] + "y", stem[:-1] + "ie", *([stem] if len(stem) >= TRIGRAM + 1 else [])]
    forms = [word]
    for form in candidates:
        if len(form) >= TRIGRAM and form not in forms:
            forms.append(form)
    return tuple(forms)


def matched_forms(word: str, language: str) -> tuple[str, ...]:
    """``word_forms()`` without the forms that hold another one: an entry holding them holds that one."""
    forms = word_forms(word, language)
    return tuple(form for form in forms if not any(other != form and other in form for other in forms))


def marked_words(words: list[str], language: str) -> list[str]:
    """Every form of every query word, for ``marked()`` and ``snippet()``."""
    return [form for word in words for form in word_forms(word, language)]


def _pattern(words: list[str]) -> re.Pattern | None:
    if not words:
        return None
    alternatives = sorted({re.escape(word) for word in words}, key=len, reverse=True)
    return re.compile("|".join(alternatives), re.IGNORECASE)


def marked(text: str, words: list[str]) -> list[tuple[str, bool]]:
    """Split text into segments, marking each occurrence of a query word."""
    pattern = _pattern(words)
    if pattern is None or not text:
        return [(text, False)] if text else []
    segments: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            segments.append((text[position : match.start()], False))
        segments.append((match.group(), True))
        position = match.end()
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def _window(text: str, start: int) -> tuple[int, int]:
    """A window of about SNIPPET_LENGTH characters around ``start``, cut at spaces where there are some."""
    begin = max(0, start - SNIPPET_LEAD)
    if begin:
        space = text.find(" ", begin, start)
        begin = space + 1 if space != -1 else begin
    end = min(len(text), begin + SNIPPET_LENGTH)
    if end < len(text):
        space = text.rfind(" ", begin + SNIPPET_LENGTH // 2, end)
        end = space if space != -1 else end
    return begin, end


def snippet(texts: list[str], words: list[str]) -> list[tuple[str, bool]]:
    """The passage of the first text that holds a query word, around its first occurrence, marked.

    Without any occurrence (the match was in a title), the beginning of the first non-empty text.
    """
    pattern = _pattern(words)
    chosen, start = None, 0
    for text in texts:
        found = pattern.search(text) if pattern and text else None
        if found:
            chosen, start = text, found.start()
            break
    if chosen is None:
        chosen = next((text for text in texts if text), "")
    chosen = " ".join(chosen.split())
    if pattern is not None and start:
        # Positions moved when spaces collapsed: find the word again in the collapsed text.
        found = pattern.search(chosen)
        start = found.start() if found else 0
    begin, end = _window(chosen, start)
    segments = marked(chosen[begin:end], words)
    if begin:
        segments.insert(0, ("… ", False))
    if end < len(chosen):
        segments.append((" …", False))
    return segments
