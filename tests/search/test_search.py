"""Search: the reader's language only, public parts only, words found inside longer words in both
languages, ranked, paged, filtered by theme, with marked passages, and no query that can break it.

The same tests run on SQLite (FTS5 trigram) and on PostgreSQL (pg_trgm): the results are the same.
"""

import datetime
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from search import querysets as search_querysets
from search import views as search_views
from search.models import SearchEntry
from stories import services
from stories.models import ContentWarning, Part, Story, Theme
from tests.conftest import make_part, make_story, make_storyteller
from translations.models import Translation


def search(client, language: str = "en", **params):
    response = client.get(f"/{language}/search/", params)
    assert response.status_code == 200, response.status_code
    return response, response.content.decode()


def found_urls(html: str) -> list[str]:
    """The links of the results, in order."""
    return re.findall(r'<h2 class="search-result__title"><a href="([^"]+)"', html)


def url_of(part: Part, language: str = "en") -> str:
    return f"/{language}/stories/{part.story.slug}/part-{part.number}/"


def test_english_words_are_found_in_titles_summaries_bodies_and_pseudonyms(client, db):
    teller = make_storyteller(pseudonym_en="Juniper Hale", pseudonym_ko="주니퍼")
    in_title = make_part(title_en="The lantern festival")
    in_summary = make_part(summary_en="A winter spent mending fishing nets.")
    in_body = make_part(body_en="We crossed at night, when the guards changed shifts by the granary.")
    by_teller = make_part(story=make_story(storyteller=teller))
    elsewhere = make_part()
    for query, part in [("lantern", in_title), ("mending", in_summary), ("granary", in_body), ("juniper", by_teller)]:
        assert found_urls(search(client, q=query)[1]) == [url_of(part)], query
    assert url_of(elsewhere) not in search(client, q="lantern")[1]


def test_every_word_must_be_found_and_case_does_not_matter(client, db):
    both = make_part(body_en="The River froze early that year, and the MARKET closed.")
    make_part(body_en="The river was high in spring.")
    assert found_urls(search(client, q="RIVER market")[1]) == [url_of(both)]
    assert len(found_urls(search(client, q="river")[1])) == 2


def test_a_korean_word_is_found_inside_longer_eojeol(client, db):
    object_particle = make_part(body_ko="그날 아침 어머니를 마지막으로 보았다.")
    with_particle = make_part(body_ko="어머니와 함께 강을 건넜다.")
    other = make_part(body_ko="아버지는 말이 없었다.")
    urls = found_urls(search(client, "ko", q="어머니")[1])
    assert sorted(urls) == sorted([url_of(object_particle, "ko"), url_of(with_particle, "ko")])
    assert url_of(other, "ko") not in urls
    # A word the tokenizer never saw on its own: the middle of an eojeol.
    assert found_urls(search(client, "ko", q="머니를")[1]) == [url_of(object_particle, "ko")]


def test_one_and_two_syllable_korean_queries_are_found(client, db):
    mum = make_part(body_ko="엄마가 부엌에서 불렀다.")
    river = make_part(body_ko="두만강을 건넌 밤이었다.")
    neither = make_part(body_ko="학교 운동장은 조용했다.")
    assert found_urls(search(client, "ko", q="엄마")[1]) == [url_of(mum, "ko")]
    assert found_urls(search(client, "ko", q="강")[1]) == [url_of(river, "ko")]
    # Mixed: the long word is looked up in the index, the short one among what it found.
    assert found_urls(search(client, "ko", q="두만강 밤")[1]) == [url_of(river, "ko")]
    assert found_urls(search(client, "ko", q="엄마 강")[1]) == []
    assert url_of(neither, "ko") not in search(client, "ko", q="강")[1]


def test_a_match_in_the_title_ranks_above_a_match_in_the_body(client, db):
    now = timezone.now()
    in_title = make_part(title_en="Across the border", published_at=now - datetime.timedelta(days=30))
    in_body = make_part(body_en="We reached the border at dawn.", published_at=now - datetime.timedelta(days=1))
    in_story_title = make_part(
        story=make_story(title_en="A border town"), published_at=now - datetime.timedelta(days=2)
    )
    assert found_urls(search(client, q="border")[1]) == [url_of(in_title), url_of(in_story_title), url_of(in_body)]


def test_results_are_filtered_by_theme(client, db):
    family = Theme.objects.create(slug="family", name_en="Family", name_ko="가족")
    kept = make_part(body_en="a letter from home")
    kept.story.themes.add(family)
    other = make_part(body_en="a letter from the school")
    response, html = search(client, q="letter", theme="family")
    assert found_urls(html) == [url_of(kept)]
    assert url_of(other) in search(client, q="letter")[1]
    # A theme that does not exist is a message, not an error page.
    assert "There is no such theme." in search(client, q="letter", theme="no-such-theme")[1]


def test_results_are_paged_and_counted(client, db):
    story = make_story()
    parts = [make_part(story=story, body_en=f"invented passage {n} about the harbour") for n in range(13)]
    first = search(client, q="harbour")[1]
    assert "13 parts found" in first
    assert len(found_urls(first)) == 10
    assert 'rel="next" href="?q=harbour&amp;page=2"' in first
    second = search(client, q="harbour", page="2")[1]
    assert len(found_urls(second)) == 3
    assert set(found_urls(first)) | set(found_urls(second)) == {url_of(part) for part in parts}
    # A page that does not exist gives the nearest one.
    assert found_urls(search(client, q="harbour", page="99")[1]) == found_urls(second)
    assert found_urls(search(client, q="harbour", page="x")[1]) == found_urls(first)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"border',
        "border*",
        "NEAR(border river)",
        "border NEAR river",
        "^border",
        "title:border",
        "(border",
        "border)",
        "border AND OR NOT",
        "- border",
        "%",
        "_",
        "\\",
        "' OR 1=1 --",
        "\x01border\x1f",
        "\u200bborder",
        "🙂",
        "a" * 200,
    ],
)
def test_hostile_queries_answer_with_results_or_a_message(client, db, query):
    make_part(body_en="the border river")
    for language in ("en", "ko"):
        response, html = search(client, language, q=query)
        # Results, the help of a search that found nothing, or the message of one with no words.
        assert re.search(r'class="search-(result|help|message)\b', html), query


def test_syntax_characters_are_ignored_and_the_words_still_found(client, db):
    part = make_part(body_en="we lived near the border river")
    # NEAR is an ordinary word here, never an operator.
    for query in ['"border"', "border*", "NEAR(border", "^border:", "(river) border", 'river" OR "border']:
        assert found_urls(search(client, q=query)[1]) == [url_of(part)], query


def test_an_empty_a_long_and_a_wordless_query_get_clear_messages(client, db):
    assert "Type one or more words." in search(client)[1]
    assert "Type one or more words." in search(client, q="   ")[1]
    assert "Your search is too long." in search(client, q="word " * 200)[1]
    assert "no letters or numbers" in search(client, q='"*^:()')[1]
    korean = search(client, "ko", q="word " * 200)[1]
    assert "검색어가 너무 깁니다" in korean


def test_a_nul_byte_is_the_plain_404(client, db):
    assert client.get("/en/search/", {"q": "river\x00"}).status_code == 404


def test_no_results_page_helps(client, db):
    make_part()
    html = search(client, q="zeppelin")[1]
    assert "No part matches every word of your search." in html
    assert "0 parts found" in html
    assert "부분" not in html
    assert "들어 있는 편이 없습니다" in search(client, "ko", q="비행선")[1]


def test_snippets_are_escaped_text_with_the_word_marked(client, db):
    part = make_part(body_en="She wrote <script>alert(1)</script> that 3 < 4 & then *the bridge* fell & broke.")
    html = search(client, q="bridge")[1]
    assert found_urls(html) == [url_of(part)]
    snippet = re.search(r'<p class="search-result__snippet">(.*?)</p>', html, re.S).group(1)
    assert '<mark class="search-result__match">bridge</mark>' in snippet
    assert "<script>" not in html.split('<main id="main"')[1].split("</main>")[0]
    # The sanitiser took the element out of the body; the text's own signs are escaped once.
    assert "3 &lt; 4" in snippet
    assert "&amp; then" in snippet
    # Text, not HTML: the emphasis the Markdown made is not in the passage.
    assert "<em>" not in snippet


def test_a_long_body_gives_a_passage_around_the_word(client, db):
    body = " ".join(["Quiet fields stretched out."] * 40) + " Then the orchard burned. " + " ".join(["Night."] * 40)
    make_part(body_en=body)
    snippet = re.search(r'<p class="search-result__snippet">(.*?)</p>', search(client, q="orchard")[1], re.S).group(1)
    assert snippet.startswith("… ")
    assert snippet.endswith(" …")
    assert len(re.sub(r"<[^>]+>", "", snippet)) < 300


def test_a_story_behind_a_content_warning_shows_the_warning_and_no_passage_of_its_text(client, db):
    warning = ContentWarning.objects.create(slug="violence", label_en="Violence", label_ko="폭력")
    part = make_part(body_en="The soldiers came to the village at night.", summary_en="An invented summary.")
    part.story.content_warnings.add(warning)
    html = search(client, q="soldiers")[1]
    assert found_urls(html) == [url_of(part)]
    assert "Content warning for this story: Violence" in html
    assert "soldiers" not in re.search(r'<p class="search-result__snippet">(.*?)</p>', html, re.S).group(1)


def test_the_korean_page_shows_korean_text_only(client, db):
    # English only: the Korean translation of this part is missing.
    part = make_part(title_en="Salt wind", body_en="salt wind over the flats", title_ko="", body_ko="", summary_ko="")
    assert url_of(part) in search(client, "en", q="salt")[1]
    html = search(client, "ko", q="salt")[1]
    assert found_urls(html) == []
    assert "Salt wind" not in html
    korean = make_part(title_en="Tide", title_ko="밀물", body_ko="밀물이 들어왔다", body_en="the tide came in")
    html = search(client, "ko", q="밀물")[1]
    assert found_urls(html) == [url_of(korean, "ko")]
    assert "Tide" not in html and "tide came" not in html


def test_nothing_that_is_not_public_is_found(client, db, now):
    word = "quillwort"
    public = make_part(body_en=f"the {word} by the pond")
    withdrawn = make_part(body_en=f"a {word} too")
    draft = make_part(body_en=f"a {word} draft", status=Part.Status.DRAFT)
    scheduled = make_part(body_en=f"a {word} to come", published_at=now + datetime.timedelta(days=2))
    lapsed = make_part(
        story=make_story(
            storyteller=make_storyteller(consent={"review_by": timezone.localdate() - datetime.timedelta(days=1)})
        ),
        body_en=f"a {word} lapsed",
    )
    draft_story = make_part(story=make_story(status=Story.Status.DRAFT), body_en=f"a {word} in a draft story")
    english_only = make_part(
        story=make_story(storyteller=make_storyteller(consent={"covers_english": False})), body_en=f"{word} ko only"
    )
    services.consent_withdraw(storyteller=withdrawn.story.storyteller, reason="Asked.", recorded_by=None)
    assert found_urls(search(client, q=word)[1]) == [url_of(public)]
    for part in (withdrawn, draft, scheduled, lapsed, draft_story, english_only):
        assert not SearchEntry.objects.found("en", [word]).filter(part=part).exists()
    # Time alone: the scheduled part is found once it is due, with no write.
    due = now + datetime.timedelta(days=3)
    assert set(SearchEntry.objects.found("en", [word], now=due).values_list("part_id", flat=True)) == {
        public.pk,
        scheduled.pk,
    }


def test_an_unapproved_translation_is_not_found(client, db):
    part = make_part(title_ko="새 번역", body_ko="번역된 이야기 물레방아")
    assert found_urls(search(client, "ko", q="물레방아")[1]) == [url_of(part, "ko")]
    translation = Translation.objects.get(
        content_type=ContentType.objects.get_for_model(Part), object_id=part.pk, language="ko"
    )
    translation.needs_update = True
    translation.keep_public_while_updating = False
    translation.save()
    assert found_urls(search(client, "ko", q="물레방아")[1]) == []


def test_an_edit_to_a_public_text_is_found_at_once(client, db):
    part = make_part(body_en="the old mill")
    part.body_en = "the new bakery"
    services.part_save(part=part)
    assert found_urls(search(client, q="bakery")[1]) == [url_of(part)]
    assert found_urls(search(client, q="mill")[1]) == []
    story = part.story
    story.title_en = "Kestrel"
    services.story_save(story=story)
    assert found_urls(search(client, q="kestrel")[1]) == [url_of(part)]


def test_a_withdrawal_is_gone_at_the_next_search(client, db, consent_officer):
    part = make_part(body_en="the lighthouse keeper")
    # The home page is in the page cache, and carries the search box; the search page is not cached.
    assert 'action="/en/search/"' in client.get("/en/").content.decode()
    assert found_urls(search(client, q="lighthouse")[1]) == [url_of(part)]
    services.consent_withdraw(storyteller=part.story.storyteller, reason="Asked.", recorded_by=consent_officer)
    response, html = search(client, q="lighthouse")
    assert found_urls(html) == []
    assert response["Cache-Control"] == "no-cache"


def test_unpublishing_a_part_removes_it_in_the_same_transaction(db):
    from django.db import transaction

    part = make_part(body_en="the salt marsh")
    with transaction.atomic():
        services.part_set_status(part=part, status=Part.Status.DRAFT)
        assert not SearchEntry.objects.filter(part=part).exists()
        assert not SearchEntry.objects.found("en", ["marsh"]).exists()


def test_the_query_count_does_not_grow_with_the_results(client, db, django_assert_max_num_queries):
    def cost(query: str) -> int:
        with CaptureQueriesContext(connection) as context:
            search(client, q=query)
        return len(context)

    make_part(body_en="one willow")
    few = cost("willow")
    warning = ContentWarning.objects.create(slug="loss", label_en="Loss", label_ko="상실")
    for n in range(12):
        part = make_part(story=make_story(), body_en=f"willow tree {n}")
        part.story.content_warnings.add(warning)
        part.story.themes.add(Theme.objects.get_or_create(slug=f"t{n}", name_en=f"T{n}", name_ko=f"주제{n}")[0])
    assert cost("willow") == few
    assert cost("willow tree") == few
    with django_assert_max_num_queries(5):
        search(client, q="willow")


def test_the_search_box_is_in_the_header_in_both_languages(client, db):
    assert 'action="/ko/search/"' in client.get("/ko/").content.decode()
    html = search(client, "ko")[1]
    assert "검색" in html


def test_a_word_in_more_parts_than_are_ranked_ranks_the_newest_and_says_there_are_more(client, db, monkeypatch):
    monkeypatch.setattr(search_querysets, "MOST_RANKED", 4)
    monkeypatch.setattr(search_views, "MOST_RANKED", 4)
    story = make_story()
    now = timezone.now()
    parts = [
        make_part(
            story=story,
            body_en=f"invented passage {n} about the orchard",
            published_at=now - datetime.timedelta(days=10 - n),
        )
        for n in range(6)
    ]
    # The oldest part has the word in its title: it would rank first, but it is not among the newest four.
    # One of the newest four has it in its title too: it ranks first among them, the rest newest first.
    for part, title in ((parts[0], "The orchard"), (parts[3], "Orchard in winter")):
        part.title_en = title
        part.save()
    html = search(client, q="orchard")[1]
    assert "More than 4 parts found for “orchard”" in html
    assert found_urls(html) == [url_of(part) for part in (parts[3], parts[5], parts[4], parts[2])]
    # Exactly as many as are ranked: counted, and no "more than".
    for part in parts[:2]:
        services.part_set_status(part=part, status=Part.Status.ARCHIVED)
    html = search(client, q="orchard")[1]
    assert "4 parts found for “orchard”" in html and "More than" not in html
    assert found_urls(html) == [url_of(part) for part in (parts[3], parts[5], parts[4], parts[2])]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "You have searched many times in the last minute."),
        ("ko", "최근 1분 동안 검색을 여러 번 하셨습니다."),
    ],
)
def test_searches_are_limited_per_client_and_the_reader_is_told_to_wait(client, db, settings, language, message):
    settings.SEARCH_RATE_LIMIT = (2, 60)
    part = make_part(body_en="a lantern by the window", body_ko="창가의 등불")
    word = "lantern" if language == "en" else "등불"
    for _ in range(2):
        response, html = search(client, language, q=word)
        assert response.status_code == 200 and url_of(part, language) in html
    # The form alone is not a search, and is never refused.
    assert client.get(f"/{language}/search/").status_code == 200
    response = client.get(f"/{language}/search/", {"q": word})
    html = response.content.decode()
    assert response.status_code == 429
    assert message in html and url_of(part, language) not in html
    assert 0 < int(response["Retry-After"]) <= 60
    # Another client network is counted apart.
    other = client.get(f"/{language}/search/", {"q": word}, REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 200
