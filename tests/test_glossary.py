"""The Korean the archive ships follows docs/glossary.md: no msgstr and no demo text uses a retired term.

RETIRED is the one list the test reads. Each row names the retired word as docs/glossary.md writes it, the
pattern that finds it, and the word to use instead. Patterns are precise on purpose: 부 (a part) is only
matched as a word of its own ("3부", "부 제목", "예약된 부는"), never inside 부탁, 정부, 부모, 대표부 or 부터.
"""

import re
from pathlib import Path

import polib
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
CATALOGUE = BASE_DIR / "locale" / "ko" / "LC_MESSAGES" / "django.po"
GLOSSARY = BASE_DIR / "docs" / "glossary.md"
HANGUL = "가-힣"

# (retired word, pattern, use instead)
RETIRED = [
    # A part after a number or placeholder ("3부", "%(number)s부가"), but not 부터 ("1부터": "from 1").
    ("부", r"(?:\d|%\(\w+\)[sd]|\{\w+\})\s?부(?!터)", "편"),
    # A part as a word of its own, with or without a particle ("부 제목", "예약된 부는").
    ("부", rf"(?<![{HANGUL}])부(?:[은는이가을를의도만와과로]|에서|까지)?(?![{HANGUL}])", "편"),
    ("부분", r"부분", "편"),
    ("목차", r"목차", "편 목록"),
    ("새로 올라온 이야기", r"새로\s*올라온\s*이야기", "새로 올라온 편"),
    ("아카이브", r"아카이브", "기록관"),
    ("홈", rf"(?<![{HANGUL}])홈", "처음으로 / 첫 화면"),
    ("뉴스레터", r"뉴스레터", "이메일 소식지"),
    ("내용 경고", r"내용\s*경고", "읽기 전 주의"),
    ("옹호", r"옹호", "인권 활동 / 인권 캠페인"),
    ("다음 요청부터", r"다음\s*요청부터", "즉시"),
    ("분량", r"분\s*분량", "읽는 데 N분"),
    ("이야기한 사람", r"이야기한\s*사람", "이야기한 분 (public) / 증언자 (back office)"),
    ("이야기꾼", r"이야기꾼", "증언자"),
    ("탈북자", r"탈북자", "탈북민 / 북한이탈주민"),
    ("새터민", r"새터민", "탈북민 / 북한이탈주민"),
    ("북한 이탈 주민", r"북한\s+이탈\s*주민|북한이탈\s+주민", "탈북민 / 북한이탈주민"),
    ("백오피스", r"백오피스", "관리 화면"),
    ("캠페인 머리말", r"머리말", "어깨제목"),
    ("캠페인 작성자", r"캠페인\s*작성자", "글쓴이 표시"),
    ("용어", r"용어", "단어"),
    ("렌더링", r"렌더링", "변환"),
    ("귀국", r"귀국", "귀 정부, or the country's name"),
    ("대사님", r"대사님", "관계자 여러분께"),
]
COMPILED = [(word, re.compile(pattern), instead) for word, pattern, instead in RETIRED]


def retired_terms_in(text: str) -> list[str]:
    """Each retired word the text uses, with what to write instead."""
    found = {word: instead for word, pattern, instead in COMPILED if pattern.search(text)}
    return [f"{word} (use {instead})" for word, instead in found.items()]


def korean_texts(value, where: str):
    """Every string holding Hangul in a demo module's data, with where it is."""
    if isinstance(value, str):
        if re.search(f"[{HANGUL}]", value):
            yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from korean_texts(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from korean_texts(item, f"{where}[{index}]")


@pytest.mark.parametrize(
    "text",
    [
        "{story}: {number}부 — {title}",
        "%(number)s부",
        "3부가 올라왔습니다",
        "부 제목",
        "예약된 부는 초안으로",
        "이전 부분",
        "전체 목차",
        "증언 아카이브",
        "홈으로 가기",
        "뉴스레터",
        "내용 경고",
        "옹호 활동",
        "다음 요청부터",
        "5분 분량",
        "이야기한 사람: 새벽",
        "이야기꾼 ID",
        "탈북자",
        "북한 이탈 주민들",
        "백오피스",
        "캠페인 머리말",
        "보호 대상 용어",
        "렌더링한 뒤",
        "귀국에 구금되어",
        "대사님께",
    ],
)
def test_each_retired_use_is_found(text):
    assert retired_terms_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "부탁드립니다",
        "정부",
        "귀 정부가",
        "부모님",
        "유엔 대표부",
        "1부터 시작",
        "거부됨",
        "부엌",
        "부끄러웠지만",
        "3편 — 겨울의 강",
        "이야기한 분: 새벽",
        "증언자 ID",
        "탈북민",
        "북한이탈주민",
        "처음으로",
        "첫 화면으로 가기",
        "이메일 소식지",
        "읽기 전 주의",
        "읽는 데 5분",
        "어깨제목",
        "글쓴이 표시",
        "보호 단어",
        "스팸 편지함",
        "즉시",
    ],
)
def test_the_words_in_use_and_lookalikes_are_not_found(text):
    assert retired_terms_in(text) == []


def test_glossary_names_every_retired_word():
    glossary = GLOSSARY.read_text(encoding="utf-8")
    assert [word for word, _pattern, _instead in RETIRED if word not in glossary] == []


def test_korean_catalogue_uses_no_retired_term():
    offending = []
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.obsolete:
            continue
        for msgstr in [entry.msgstr, *entry.msgstr_plural.values()]:
            if found := retired_terms_in(msgstr):
                offending.append(f"msgid {entry.msgid!r}\n  msgstr {msgstr!r}\n  retired: {', '.join(found)}")
    assert offending == [], "Korean msgstrs use retired terms (see docs/glossary.md):\n" + "\n".join(offending)


def test_korean_demo_text_uses_no_retired_term():
    from advocacy import demo as campaign_demo
    from stories.demo import content, scale

    offending = []
    for module in (content, campaign_demo, scale):
        for name, value in vars(module).items():
            if not name.isupper():
                continue
            for where, text in korean_texts(value, f"{module.__name__}.{name}"):
                if found := retired_terms_in(text):
                    offending.append(f"{where}: {text!r}\n  retired: {', '.join(found)}")
    assert offending == [], "Korean demo text uses retired terms (see docs/glossary.md):\n" + "\n".join(offending)
