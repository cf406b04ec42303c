"""English words find their other forms (search.text.word_forms); Korean words are matched as typed.

The same tests run on SQLite (FTS5: a word's forms joined with OR) and on PostgreSQL (LIKE of each form,
ORed): the results are the same.
"""

import datetime
import re

import pytest
from django.utils import timezone

from search.models import SearchEntry
from search.text import TRIGRAM, matched_forms, word_forms
from tests.conftest import make_part, make_story
from tests.search.test_search import found_urls, search, url_of


@pytest.mark.parametrize(
    ("query", "body", "elsewhere"),
    [
        ("lanterns", "she carried a lantern to the gate", "the lanes were dark"),
        ("lantern", "the lanterns of the market", "a latrine behind the school"),
        ("memories", "my grandmother's memory of the famine", "a memo on the desk"),
        ("memory", "the memories we kept", "memos from the office"),
        ("walked", "walking to the border took three days", "we talked until dawn"),
        ("cried", "the baby would cry all night", "a crisis at the border"),
        ("families", "every family on the street", "a famine year"),
    ],
)
def test_an_english_word_finds_its_other_forms_and_nothing_else(client, db, query, body, elsewhere):
    part = make_part(body_en=body)
    other = make_part(body_en=elsewhere)
    urls = found_urls(search(client, q=query)[1])
    assert urls == [url_of(part)], (query, urls)
    assert url_of(other) not in urls
    assert set(SearchEntry.objects.found("en", [query]).values_list("part_id", flat=True)) == {part.pk}


def test_a_word_with_no_form_in_the_archive_is_still_not_found(client, db):
    make_part(body_en="a lantern by the window", title_en="Lanterns")
    for query in ("latrines", "walkers", "storks"):
        assert found_urls(search(client, q=query)[1]) == [], query
    assert "No part matches every word of your search." in search(client, q="storks")[1]


def test_stories_finds_story_and_story_finds_stories(client, db):
    # Story titles of their own: the test data's default ones hold "story".
    told = make_part(story=make_story(title_en="Evening"), body_en="my grandmother's story of the famine")
    many = make_part(story=make_story(title_en="Night"), body_en="the stories we told at night")
    make_part(story=make_story(title_en="Morning"), body_en="a stork on the roof, the store was closed")
    assert sorted(found_urls(search(client, q="stories")[1])) == sorted([url_of(told), url_of(many)])
    assert sorted(found_urls(search(client, q="story")[1])) == sorted([url_of(told), url_of(many)])
    assert found_urls(search(client, q="stork")[1]) == found_urls(search(client, q="storks")[1])


def test_every_word_is_still_needed_in_one_of_its_forms(client, db):
    both = make_part(body_en="he walked home with two lanterns")
    make_part(body_en="she was walking in the rain")
    assert found_urls(search(client, q="lantern walks")[1]) == [url_of(both)]
    assert len(found_urls(search(client, q="walks")[1])) == 2


def test_the_forms_rank_and_are_marked_as_the_word_is(client, db):
    now = timezone.now()
    in_body = make_part(body_en="we lit the lantern at dusk", published_at=now - datetime.timedelta(days=1))
    in_title = make_part(
        title_en="The lantern maker", body_en="paper and wire", published_at=now - datetime.timedelta(days=20)
    )
    html = search(client, q="lanterns")[1]
    # A form in the part's title scores as the word would.
    assert found_urls(html) == [url_of(in_title), url_of(in_body)]
    snippets = re.findall(r'<p class="search-result__snippet">(.*?)</p>', html, re.S)
    assert '<mark class="search-result__match">lantern</mark> at dusk' in snippets[1]
    # The longer form is marked whole where the text holds it.
    make_part(body_en="two lanterns and a stove")
    html = search(client, q="lanterns")[1]
    assert '<mark class="search-result__match">lanterns</mark> and a stove' in html


def test_the_korean_page_is_not_stemmed(client, db):
    english_in_korean = make_part(body_ko="그는 lantern 하나를 들고 왔다", body_en="he came with a lantern")
    korean = make_part(body_ko="어머니를 기다렸다")
    # An English word on the Korean page is matched as typed, as every word there is.
    assert found_urls(search(client, "ko", q="lanterns")[1]) == []
    assert found_urls(search(client, "ko", q="lantern")[1]) == [url_of(english_in_korean, "ko")]
    assert found_urls(search(client, "en", q="lanterns")[1]) == [url_of(english_in_korean)]
    assert found_urls(search(client, "ko", q="어머니")[1]) == [url_of(korean, "ko")]
    assert found_urls(search(client, "ko", q="어머니들")[1]) == []
    for word in ("어머니를", "lanterns", "stories", "강"):
        assert word_forms(word, "ko") == (word,)


@pytest.mark.parametrize(
    "word",
    ["lanterns", "stories", "cried", "walked", "dying", "skies", "eyes", "used", "ties", "happiness", "organization"],
)
def test_no_form_is_shorter_than_a_trigram_and_the_word_comes_first(word):
    forms = word_forms(word, "en")
    assert forms[0] == word
    assert all(len(form) >= TRIGRAM and form.isalpha() and form.isascii() for form in forms)
    # Matching needs no form that holds another one: an entry holding it holds the shorter one.
    matched = matched_forms(word, "en")
    assert set(matched) <= set(forms)
    assert all(any(other in form for other in matched) for form in forms)


def test_words_that_are_not_plain_english_letters_are_matched_as_typed():
    for word in ("café", "1990s", "go", "어머니", "x2"):
        assert word_forms(word, "en") == (word,)
    assert word_forms("lanterns", "en") == ("lanterns", "lantern")
    assert word_forms("cried", "en")[:2] == ("cried", "cry")
