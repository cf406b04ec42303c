"""Markdown rendering and HTML sanitising: the only module that knows about bleach.

Everything that turns editor-written text into HTML for readers goes through
``render_markdown``; nothing else in the project may import bleach, so that
replacing it (it has reached its end of life) touches this file alone. Only
output of this module may be marked safe in templates.
"""

import re
import unicodedata
from collections import defaultdict
from html import escape, unescape
from html.entities import html5 as HTML5_ENTITIES

import bleach
import markdown
from bleach.html5lib_shim import Filter

from archive.validators import strip_control_characters

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i",
        "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title"],
    "abbr": ["title"],
    "img": ["src", "alt", "title"],
}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_SCHEMES = frozenset({"http", "https"})
EXTERNAL_REL = "noopener nofollow"

# Blockquotes and lists nested deeper than this are flattened: Python-Markdown recurses once per level.
MAX_NESTING = 8
# Link brackets and parentheses nested deeper than this are plain text (see _bound_block).
MAX_BRACKET_DEPTH = 4
# A block (the text between blank lines) whose markup characters times its length exceed this is
# rendered as plain text: Python-Markdown rebuilds the block's text after every inline match.
BLOCK_BUDGET = 20_000_000

# Elements whose contents are code or foreign markup: removed with everything inside,
# never left behind as visible text.
DROPPED_ELEMENTS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
        "noembed", "noframes", "template", "textarea", "select", "option", "title", "xmp",
        "plaintext", "svg", "math", "head", "form", "button", "input", "canvas", "video", "audio",
    }
)  # fmt: skip

URL_ATTRIBUTES = frozenset({"href", "src"})
# Unicode noncharacters: never text, so the renderer borrows some as placeholders for characters it
# must keep away from Python-Markdown (see _bound_block), and removes any an editor pasted.
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef]")
# Whitespace and the ASCII controls, which browsers ignore inside a URL scheme.
_URL_JUNK = re.compile(r"[\x00-\x20\x7f-\xa0]")
# A scheme as a browser reads one: an ASCII letter, then ASCII letters, digits, "+", "-" or ".", then ":".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# "//host" and its backslash spellings: browsers resolve them against the page's own http(s) scheme.
_NETWORK_PATH = re.compile(r"[/\\]{2}")
# Character references, as html.unescape finds them.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def _scheme(url: str) -> str | None:
    """Return the lower-cased scheme, "" for a relative URL, or None when a colon comes after something
    that is not a scheme ("x y:z", "１:2"), which is refused rather than guessed at."""
    head = re.split(r"[/?#]", url, maxsplit=1)[0]
    if ":" not in head:
        return ""
    match = _SCHEME.match(head)
    return match.group(1).lower() if match else None


def clean_url(value: str) -> str | None:
    """Return the URL without control or invisible characters, or None when its scheme is not allowed.

    ``value`` is the URL itself, not HTML: character references must already be decoded.
    """
    cleaned = "".join(
        char
        for char in _URL_JUNK.sub("", value)
        # Cc: control characters; Cf: invisible format characters such as zero-width spaces.
        if unicodedata.category(char) not in {"Cc", "Cf", "Zs", "Zl", "Zp"}
    )
    if not cleaned:
        return None
    scheme = _scheme(cleaned)
    if scheme is None or (scheme and scheme not in ALLOWED_SCHEMES):
        return None
    # "ｊａｖａｓｃｒｉｐｔ：" is no scheme to a browser, but it folds into one under NFKC, which other
    # software reading the stored HTML (feeds, exports, search) may apply. No honest link looks like that.
    folded = _scheme(unicodedata.normalize("NFKC", cleaned))
    if folded and folded not in ALLOWED_SCHEMES:
        return None
    return cleaned


def _decode_attribute(value: str) -> str:
    """Decode character references in an attribute value the way browsers do.

    bleach hands attribute values over with their references still encoded, and its serialiser
    writes well-formed references back out as they are. Checking the encoded text is therefore
    checking something other than what the browser follows: "javascript&#5\u200b8;" passes as
    text with no colon, then loses its zero-width space and becomes "javascript&#58;".
    """

    def replace(match: re.Match) -> str:
        ref = match.group(1)
        if ref.startswith("#"):
            return unescape(match.group(0))
        for end in range(len(ref), 1, -1):  # The longest known name wins, as in the HTML standard.
            name = ref[:end]
            if name in HTML5_ENTITIES:
                following = ref[end : end + 1] or match.string[match.end() : match.end() + 1]
                # Inside attributes, a legacy name without ";" before "=" or a letter or digit stays
                # literal, so that query strings such as "?a=1&copy=2" survive.
                if not name.endswith(";") and (following == "=" or (following.isascii() and following.isalnum())):
                    return match.group(0)
                return HTML5_ENTITIES[name] + ref[end:]
        return match.group(0)

    return _CHARREF.sub(replace, value)


def _encode_attribute(url: str) -> str:
    # The serialiser keeps anything shaped like a reference, so a decoded "&#58;" would be decoded
    # once more by the browser. Writing every "&" as "&amp;" makes the browser see exactly ``url``.
    return url.replace("&", "&amp;")


def _is_external(url: str) -> bool:
    scheme = _scheme(url)
    return scheme in EXTERNAL_SCHEMES or (scheme == "" and _NETWORK_PATH.match(url) is not None)


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name in URL_ATTRIBUTES:
        return clean_url(_decode_attribute(value)) is not None
    return True


class _DropElementsFilter(Filter):
    """Remove dangerous elements together with their contents."""

    def __iter__(self):
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            name = token.get("name", "").lower() if kind in {"StartTag", "EndTag", "EmptyTag"} else ""
            if name in DROPPED_ELEMENTS:
                if kind == "StartTag":
                    depth += 1
                elif kind == "EndTag" and depth:
                    depth -= 1
                continue
            if depth:
                continue
            yield token


# A URL's scheme with its slashes, then its authority: what a browser reads as the host, whatever
# mix of slashes and backslashes comes before it.
_AUTHORITY = re.compile(r"((?:[A-Za-z][A-Za-z0-9+.-]*:)?[/\\]*)([^/\\?#]*)(.*)", re.DOTALL)


def ascii_host(url: str) -> str | None:
    """Return the external URL with its host in punycode (IDNA), or None when the host cannot be.

    A link shown as "https://аpple.com" (a Cyrillic "а") leads elsewhere than it reads; in punycode
    ("xn--pple-43d.com") it says where it goes. Relative and mailto URLs are returned as they are.
    """
    if url.isascii() or not _is_external(url):
        return url
    match = _AUTHORITY.match(url)
    prefix, authority, rest = match.groups()
    if authority.isascii():
        return url
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{prefix}{userinfo}{at}{host}{colon}{port}{rest}"


class _LinkFilter(Filter):
    """Store URLs as checked, in a form the browser decodes to exactly that, with hosts in punycode;
    drop images from other sites, which the Content-Security-Policy would not load anyway; and mark
    external links noopener and nofollow."""

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in {"StartTag", "EmptyTag"} and token["name"] in {"a", "img"}:
                attrs = dict(token["data"])
                href = ""
                for key in list(attrs):
                    _namespace, name = key
                    if name in URL_ATTRIBUTES:
                        cleaned = clean_url(_decode_attribute(attrs[key]))
                        if cleaned is not None:
                            cleaned = ascii_host(cleaned)
                        if cleaned is None:
                            del attrs[key]
                        else:
                            attrs[key] = _encode_attribute(cleaned)
                            if key == (None, "href"):
                                href = cleaned
                            elif _is_external(cleaned):
                                attrs = None
                                break
                if attrs is None:
                    continue
                if token["name"] == "a":
                    attrs.pop((None, "rel"), None)
                    if _is_external(href):
                        attrs[(None, "rel")] = EXTERNAL_REL
                token["data"] = attrs
            yield token


class _PreNewlineFilter(Filter):
    """Put back the newline that parsing drops straight after <pre>.

    Without it "<pre>\\n\\ncode" loses a line on every pass, and sanitising never settles.
    """

    def __iter__(self):
        after_pre = False
        for token in super().__iter__():
            if after_pre and token["type"] in {"Characters", "SpaceCharacters"} and token["data"].startswith("\n"):
                token = {**token, "data": "\n" + token["data"]}
            after_pre = token["type"] == "StartTag" and token["name"] == "pre"
            yield token


class _AttributeEscapeFilter(Filter):
    """Write '"' and '>' in attribute values as references, to keep bleach's serialiser on track.

    Values here are HTML text, references still encoded, and the serialiser writes them out with
    "&" doubled; bleach then undoes the doubling, but only while it believes it is inside a double-
    quoted value. A '"' in a value makes the serialiser switch to single quotes, and a value of just
    ">" looks to bleach like the end of the tag: either way "&amp;" came out as "&amp;amp;", so the
    browser read something other than what was checked, and every pass grew the value.
    """

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] in {"StartTag", "EmptyTag"} and token["data"]:
                token["data"] = {
                    key: value.replace('"', "&quot;").replace(">", "&gt;") for key, value in token["data"].items()
                }
            yield token


_EtreeWalker = bleach.html5lib_shim.getTreeWalker("etree")


class _LinearWalker(_EtreeWalker):
    """html5lib's etree walker, finding an element's place among its siblings in constant time.

    The original counts and searches the parent's children each time it climbs back up, so a body
    of many paragraphs (or a paragraph of many links) took time quadratic in their number.
    """

    def __init__(self, tree) -> None:
        super().__init__(tree)
        self._positions: dict[int, dict[int, int]] = {}

    def getParentNode(self, node):  # noqa: N802 - html5lib's name
        if isinstance(node, tuple):
            _element, _key, parents, flag = node
            if flag != "text" and len(parents) > 1:
                parent = parents.pop()
                grandparent = parents[-1]
                positions = self._positions.get(id(grandparent))
                if positions is None:
                    positions = {id(child): index for index, child in enumerate(grandparent)}
                    self._positions[id(grandparent)] = positions
                return parent, positions[id(parent)], parents, None
        return super().getParentNode(node)


def _clean_once(html: str) -> str:
    # A Cleaner is not thread-safe, and this runs on save only, so build one per call.
    # The sanitiser lets the dropped elements through only so that the filter after it
    # removes them whole, before anything is serialised.
    cleaner = bleach.sanitizer.Cleaner(
        tags=ALLOWED_TAGS | DROPPED_ELEMENTS,
        attributes=_allow_attribute,
        protocols=ALLOWED_SCHEMES,
        strip=True,
        strip_comments=True,
        filters=[_DropElementsFilter, _LinkFilter, _PreNewlineFilter, _AttributeEscapeFilter],
    )
    cleaner.walker = _LinearWalker
    return cleaner.clean(html)


# Passes after which HTML that still changes is stored as escaped text instead.
MAX_SANITIZE_PASSES = 4


def sanitize_html(html: str) -> str:
    """Return HTML reduced to the allowlist: a fixed point, so sanitising it again changes nothing."""
    # Control characters first: the parser treats some of them differently from one pass to the next.
    html = _NONCHARACTERS.sub("", strip_control_characters(html))
    # Removing an element can bring text together that parses differently the second time (nested
    # links, an orphaned character reference), so sanitise until nothing changes. Each pass is
    # linear, and real text settles on the first.
    for _pass in range(MAX_SANITIZE_PASSES):
        cleaned = _clean_once(html)
        if cleaned == html:
            return cleaned
        html = cleaned
    return _clean_once(escape(html))


_PLACEHOLDER = {char: chr(0xFDD0 + index) for index, char in enumerate("[(<`*_&\\!")}
# What each placeholder becomes in the rendered HTML: the character as Markdown would have written it.
_RESTORE = {placeholder: {"<": "&lt;", "&": "&amp;"}.get(char, char) for char, placeholder in _PLACEHOLDER.items()}
_RESTORE_RE = re.compile("[" + "".join(_RESTORE) + "]")
_ALL_MARKUP = str.maketrans(_PLACEHOLDER)
# Characters that start an inline pattern, and the line ends that may be hard breaks.
_MARKUP = "[]<&\\`*_!\n"
_ESCAPABLE = frozenset("\\`*_{}[]()>#+-.!")
# One container marker of a line: a blockquote's ">" or a list item's bullet or number.
_CONTAINER = re.compile(r" {0,3}(?:>|(?:[*+-]|\d{1,9}[.)])(?= )) ?")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _bound_nesting(line: str) -> str:
    """Keep at most MAX_NESTING container markers and 4 * MAX_NESTING spaces of indentation on a line."""
    stripped = line.lstrip(" ")
    line = " " * min(len(line) - len(stripped), 4 * MAX_NESTING) + stripped
    kept, position, count = [], 0, 0
    while match := _CONTAINER.match(line, position):
        count += 1
        if count <= MAX_NESTING:
            kept.append(match.group())
        position = match.end()
    rest = line[position:]
    indent = len(rest) - len(rest.lstrip(" "))
    return "".join(kept) + rest[max(0, indent - 4 * MAX_NESTING) :]


def _opaque(block: str) -> bytearray:
    """Mark backslash escapes and code spans, whose brackets Python-Markdown never reads as links.

    A backtick run that closes no code span is replaced by placeholders on the way: Python-Markdown
    would look for its closing run to the end of the line, once for every such run.
    """
    opaque = bytearray(len(block))
    runs: list[tuple[int, int, int]] = []  # (start, length, line) of each backtick run not escaped
    index, length, line = 0, len(block), 0
    while index < length:
        char = block[index]
        if char == "\\" and index + 1 < length and block[index + 1] in _ESCAPABLE:
            opaque[index] = opaque[index + 1] = 1
            index += 2
        elif char == "`":
            end = index
            while end < length and block[end] == "`":
                end += 1
            runs.append((index, end - index, line))
            index = end
        else:
            line += char == "\n"
            index += 1
    # Pair each run with the next run of the same length on the same line, left to right.
    by_length: dict[tuple[int, int], list[int]] = defaultdict(list)
    for number, (_start, size, line) in enumerate(runs):
        by_length[(line, size)].append(number)
    unmatched, closed = [], set()
    cursor: dict[tuple[int, int], int] = defaultdict(int)
    for number, (start, size, line) in enumerate(runs):
        if number in closed or opaque[start]:
            continue
        key = (line, size)
        queue = by_length[key]
        while cursor[key] < len(queue) and queue[cursor[key]] <= number:
            cursor[key] += 1
        if cursor[key] < len(queue):
            closer = queue[cursor[key]]
            cursor[key] += 1
            closed.add(closer)
            close_start, close_size, _line = runs[closer]
            opaque[start : close_start + close_size] = b"\x01" * (close_start + close_size - start)
        else:
            unmatched.append((start, size))
    for start, size in unmatched:
        opaque[start : start + size] = b"\x02" * size
    return opaque


def _bound_block(block: str) -> str:
    """Return the block with every character that would make Python-Markdown's work superlinear
    replaced by a placeholder, which the rendered HTML turns back into that very character.

    Python-Markdown looks for the end of a link from every "[" (and of its address from every "("
    after "]") to the end of the block, for the ">" of a tag from every "<" to the end of the
    document, and for a closing backtick run to the end of the line; and it copies the block's text
    after every inline match. So: brackets and parentheses that close nothing, or nest deeper than
    MAX_BRACKET_DEPTH, "<" that cannot start a tag before the next "<", and backtick runs that close
    nothing become placeholders, and a block with more markup characters times length than
    BLOCK_BUDGET keeps none of its inline markup at all. What readers see of such text is what the
    editor typed; only its links or emphasis may not form.
    """
    markers = sum(block.count(char) for char in _MARKUP)
    if markers * len(block) > BLOCK_BUDGET:
        return block.replace("  \n", " \n").translate(_ALL_MARKUP)
    opaque = _opaque(block)
    chars = list(block)
    brackets: list[int] = []
    parentheses: list[int] = []
    angles: list[int] = []
    for index, char in enumerate(chars):
        if char == "<":
            angles.append(index)
        if opaque[index]:
            if opaque[index] == 2:
                chars[index] = _PLACEHOLDER["`"]
            continue
        if char in "[(":
            stack = brackets if char == "[" else parentheses
            if len(stack) >= MAX_BRACKET_DEPTH:
                chars[index] = _PLACEHOLDER[char]
            else:
                stack.append(index)
        elif char == "]" and brackets:
            brackets.pop()
        elif char == ")" and parentheses:
            parentheses.pop()
    for index in brackets + parentheses:
        chars[index] = _PLACEHOLDER[block[index]]
    # A "<" with no end after it in the block can start no tag, comment or declaration; with one,
    # the HTML parser reads to that end once and moves past it.
    ends = {"<!--": block.rfind("-->"), "<![": block.rfind("]]>"), "<": block.rfind(">")}
    for index in angles:
        opening = "<!--" if block.startswith("<!--", index) else "<![" if block.startswith("<![", index) else "<"
        if ends[opening] <= index:
            chars[index] = _PLACEHOLDER["<"]
    return "".join(chars)


# A line that is only a section break a writer meant: three or more "*", "-" or "_" (spaces between them
# allowed: "* * *"), or an asterism "⁂". At most three spaces before it, or it is indented code.
_SECTION_BREAK = re.compile(r" {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}|\u2042[ \t]*)")
# A line that starts a list item, a quotation, a heading or indented code: not a line of a paragraph.
_NOT_PROSE = re.compile(r"(?: {0,3}(?:[*+-][ \t]|\d{1,9}[.)][ \t]|>|#)| {4})")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _section_breaks(text: str) -> str:
    """Put every section-break line between blank lines, so that it is always a break (``<hr>``).

    Without this, "---" under a line of text makes that line a heading, and "⁂" is plain text.
    """
    lines = text.split("\n")
    result: list[str] = []
    for index, line in enumerate(lines):
        if not _SECTION_BREAK.fullmatch(line):
            result.append(line)
            continue
        if result and result[-1].strip():
            result.append("")
        result.append("***")
        if index + 1 < len(lines) and lines[index + 1].strip():
            result.append("")
    return "\n".join(result)


def _is_prose(line: str) -> bool:
    return bool(line.strip()) and not _NOT_PROSE.match(line) and not _SECTION_BREAK.fullmatch(line)


def _soft_breaks(lines: list[str]) -> list[int]:
    """The indexes of lines that a single line break joins to the line of prose before them."""
    return [
        index
        for index in range(1, len(lines))
        if _is_prose(lines[index - 1])
        and _is_prose(lines[index])
        # Two trailing spaces or a backslash ask for a line break on purpose (a poem, an address).
        and not lines[index - 1].endswith(("  ", "\\"))
    ]


def single_line_breaks(text: str) -> int:
    """How many lines of a text that has no blank line are joined to the line before by a single line break.

    Text pasted from an email or a word processor often separates paragraphs this way; Markdown joins
    such lines into one paragraph, so a reader would see nine paragraphs as fewer. 0 when the text has a
    blank line anywhere: its writer separated paragraphs as Markdown does.
    """
    lines = _lines(text.strip("\r\n"))
    if any(not line.strip() for line in lines):
        return 0
    return len(_soft_breaks(lines))


def _kind(line: str) -> str:
    if _SECTION_BREAK.fullmatch(line):
        return "break"
    if line.startswith("    "):
        return "code"
    match = _NOT_PROSE.match(line)
    if match is None:
        return "prose"
    return {">": "quote", "#": "heading"}.get(match.group().strip()[:1], "list")


def paragraphs_from_line_breaks(text: str) -> str:
    """The text of ``single_line_breaks()`` with every line its own block: each line of prose a paragraph.

    A blank line goes between two lines of prose, and wherever a list, a quotation, a heading or a
    section break begins or ends, as Markdown needs to see them. The lines of one list, quotation or
    piece of code stay together, as do lines ending in a deliberate line break. Text with a blank line
    anywhere is returned as it is.
    """
    if not single_line_breaks(text):
        return text
    lines = _lines(text)
    result = [lines[0]]
    for before, line in zip(lines, lines[1:], strict=False):
        kind, previous = _kind(line), _kind(before)
        together = kind == previous and kind in {"list", "quote", "code"}
        deliberate = kind == previous == "prose" and before.endswith(("  ", "\\"))
        if not (together or deliberate):
            result.append("")
        result.append(line)
    return "\n".join(result)


def bound_markdown(text: str) -> str:
    """Return Markdown that Python-Markdown renders in time near-linear in its length, and that reads
    the same to a reader (see _bound_block)."""
    text = _NONCHARACTERS.sub("", strip_control_characters(text))
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    text = _section_breaks(text)
    text = "\n".join(_bound_nesting(line) for line in text.split("\n"))
    blocks = _BLANK_LINE.split(text)
    separators = _BLANK_LINE.findall(text)
    bounded = [_bound_block(blocks[0])]
    for separator, block in zip(separators, blocks[1:], strict=True):
        bounded += [separator, _bound_block(block)]
    return "".join(bounded)


def render_markdown(text: str) -> str:
    """Render Markdown to sanitised HTML ready to store and show to readers."""
    if not text.strip():
        return ""
    html = markdown.markdown(bound_markdown(text), extensions=["sane_lists"], output_format="html")
    return sanitize_html(_RESTORE_RE.sub(lambda match: _RESTORE[match.group()], html)).strip()


def render_translated_markdown(obj, save_kwargs: dict, *, derived: dict | None = None, source: str = "body") -> None:
    """Render ``<source>_<lang>`` into ``<source>_html_<lang>`` for every language before a model saves.

    ``source`` is the Markdown field (``body``, a part's ``recap``). ``derived`` maps further per-language
    fields to functions of (html, language), such as a reading time. A save limited by ``update_fields``
    to the source saves what is derived from it too.
    """
    from django.conf import settings

    derived = derived or {}
    for code, _name in settings.LANGUAGES:
        html = render_markdown(getattr(obj, f"{source}_{code}") or "")
        setattr(obj, f"{source}_html_{code}", html)
        for field, compute in derived.items():
            setattr(obj, f"{field}_{code}", compute(html, code))
    update_fields = save_kwargs.get("update_fields")
    if update_fields is not None and any(name.startswith(source) for name in update_fields):
        save_kwargs["update_fields"] = {
            *update_fields,
            *(f"{field}_{code}" for field in (f"{source}_html", *derived) for code, _name in settings.LANGUAGES),
        }
