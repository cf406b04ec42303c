"""What a reader sees on the home, index, story and part pages, the sitemap and robots.txt."""

import datetime
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone, translation

from advocacy.models import Action
from stories.models import ContentWarning, Part, Story, StoryImage, Theme
from tests.advocacy.conftest import make_action, make_campaign, make_recipient
from tests.conftest import first_sitemap_page, make_part, make_story, sitemap_pages

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "xhtml": "http://www.w3.org/1999/xhtml"}


def url_in(obj, language: str) -> str:
    with translation.override(language):
        return obj.get_absolute_url()


def test_part_page_has_title_meta_warnings_before_body_and_navigation(client, story, now):
    warning = ContentWarning.objects.create(slug="detention", label_en="Detention", label_ko="구금")
    story.content_warnings.add(warning)
    parts = [make_part(story=story, title_en=f"Chapter {n}", body_en="word " * 450) for n in range(1, 5)]
    response = client.get(url_in(parts[2], "en"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{story.title_en}: Part 3\u00a0— Chapter 3" in html
    assert "3 minute read" in html
    assert html.index("Detention") < html.index('class="part__body')
    assert f'rel="prev" href="{url_in(parts[1], "en")}"' in html
    assert f'rel="next" href="{url_in(parts[3], "en")}"' in html
    # Readers arriving at part 3 are offered parts 1 and 2.
    start = html[html.index('class="part__start"') :]
    assert url_in(parts[0], "en") in start and url_in(parts[1], "en") in start
    assert f'<link rel="canonical" href="http://testserver{url_in(parts[2], "en")}">' in html
    assert f'hreflang="ko" href="http://testserver{url_in(parts[2], "ko")}"' in html


def test_first_part_has_no_start_links_or_previous(client, part):
    html = client.get(url_in(part, "en")).content.decode()
    assert 'class="part__start"' not in html
    assert 'rel="prev"' not in html


def test_korean_part_page_is_in_korean(client, part):
    response = client.get(url_in(part, "ko"))
    html = response.content.decode()
    assert '<html lang="ko">' in html
    assert part.title_ko in html
    assert part.title_en not in html
    assert "시험용으로 지어낸 글" in html


def test_body_html_is_rendered_on_save_not_on_request(client, story, monkeypatch):
    part = make_part(story=story, body_en="Some *emphasis*.")
    assert part.body_html_en == "<p>Some <em>emphasis</em>.</p>"

    def fail(*args, **kwargs):
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr("archive.richtext.render_markdown", fail)
    assert "<em>emphasis</em>" in client.get(url_in(part, "en")).content.decode()


def test_hostile_body_is_stored_clean(story):
    part = make_part(
        story=story,
        body_en='<script>alert("x")</script>[x](javascript:alert(1))',
        body_ko="<img src=x onerror=alert(1)>",
    )
    for html in (part.body_html_en, part.body_html_ko):
        assert "<script" not in html
        assert "javascript:" not in html
        assert "onerror" not in html
        assert "alert" not in html


def test_story_page_lists_public_parts_in_order_with_teller_and_warnings(client, story):
    make_part(story=story, number=2, title_en="Second")
    make_part(story=story, number=1, title_en="First")
    html = client.get(url_in(story, "en")).content.decode()
    assert html.index("First") < html.index("Second")
    assert story.storyteller.pseudonym_en in html
    assert story.storyteller.bio_en in html


def test_home_shows_newest_parts_in_progress_and_featured(client, db):
    featured = make_story(is_featured=True, title_en="The featured serial")
    make_part(story=featured)
    ongoing = make_story(is_complete=False, title_en="An ongoing serial")
    make_part(story=ongoing, title_en="Newest instalment")
    html = client.get("/en/").content.decode()
    assert "The featured serial" in html
    assert "An ongoing serial" in html
    assert "Newest instalment" in html


def section(html: str, css_class: str) -> str:
    """The markup of the home page's ``<section class="...">``, or "" when the page has none."""
    start = html.find(f'<section class="{css_class}"')
    return html[start : html.index("</section>", start)] if start >= 0 else ""


@pytest.mark.parametrize("language", ["en", "ko"])
def test_home_lists_each_story_in_its_place_with_its_teller_and_newest_parts_first(client, db, language):
    featured = make_story(is_featured=True, is_complete=False, title_en="Featured serial", title_ko="추천 연재")
    make_part(story=featured)
    ongoing = make_story(is_complete=False, title_en="Ongoing serial", title_ko="연재 중")
    make_part(
        story=ongoing,
        title_en="Older instalment",
        title_ko="지난 편",
        published_at=timezone.now() - datetime.timedelta(days=3),
    )
    make_part(
        story=ongoing,
        title_en="Newest instalment",
        title_ko="최신 편",
        published_at=timezone.now() - datetime.timedelta(hours=2),
    )
    complete = make_story(is_complete=True, title_en="Finished serial", title_ko="완결 연재")
    make_part(story=complete)
    single = make_story(kind=Story.Kind.SINGLE, is_complete=False, title_en="A single piece", title_ko="단편")
    make_part(story=single)
    title = f"title_{language}"

    html = client.get(f"/{language}/").content.decode()

    assert getattr(featured, title) in section(html, "featured")
    in_progress = section(html, "in-progress")
    # The featured serial is shown once, as featured; finished serials and single pieces are not in progress.
    assert getattr(ongoing, title) in in_progress
    for story in (featured, complete, single):
        assert getattr(story, title) not in in_progress
    assert getattr(ongoing.storyteller, f"pseudonym_{language}") in in_progress
    newest = section(html, "newest")
    assert newest.index(getattr(ongoing.parts.get(number=2), title)) < newest.index(
        getattr(ongoing.parts.get(number=1), title)
    )
    for story in (featured, ongoing, complete, single):
        assert f'href="/{language}/stories/{story.slug}/' in newest


def test_home_without_a_featured_story_lists_every_serial_in_progress(client, db):
    first, second = (make_story(is_complete=False) for _ in range(2))
    for story in (first, second):
        make_part(story=story)

    html = client.get("/en/").content.decode()

    assert section(html, "featured") == ""
    in_progress = section(html, "in-progress")
    assert first.title_en in in_progress and second.title_en in in_progress


@pytest.mark.parametrize("featured_in_progress", [True, False])
def test_home_lists_as_many_serials_in_progress_as_it_shows_never_the_featured_one(client, db, featured_in_progress):
    from stories.views import HOME_STORY_COUNT

    # Newest story first: the featured one is the newest of all, a serial in progress or a finished one.
    serials = [make_story(is_complete=False, title_en=f"Serial in progress {n}") for n in range(HOME_STORY_COUNT + 2)]
    featured = make_story(is_complete=not featured_in_progress, is_featured=True, title_en="The featured serial")
    for story in (*serials, featured):
        make_part(story=story)

    response = client.get("/en/")

    assert response.context["featured_story"].pk == featured.pk
    shown = [story.pk for story in response.context["stories_in_progress"]]
    assert shown == [story.pk for story in reversed(serials)][:HOME_STORY_COUNT]
    assert "The featured serial" not in section(response.content.decode(), "in-progress")


def test_index_paginates_and_filters_by_theme(client, db, settings):
    theme = Theme.objects.create(slug="family", name_en="Family", name_ko="가족")
    for n in range(settings.STORIES_PAGE_SIZE + 3):
        story = make_story(title_en=f"Indexed story {n:02d}")
        make_part(story=story)
        if n % 2:
            story.themes.add(theme)
    first = client.get("/en/stories/")
    assert first.status_code == 200
    assert len(first.context["stories"]) == settings.STORIES_PAGE_SIZE
    assert client.get("/en/stories/?page=2").status_code == 200
    filtered = client.get("/en/stories/?theme=family")
    assert {s.pk for s in filtered.context["stories"]} <= set(theme.stories.values_list("pk", flat=True))
    assert 'aria-current="page">Family' in filtered.content.decode()


def test_a_themes_index_pages_through_its_own_stories_and_counts_them(client, db, settings):
    family = Theme.objects.create(slug="family", name_en="Family", name_ko="가족")
    hidden_theme = Theme.objects.create(slug="unseen", name_en="Unseen", name_ko="보이지 않음")
    themed = []
    for n in range(2 * settings.STORIES_PAGE_SIZE + 1):
        story = make_story(title_en=f"Story {n:02d}", title_ko=f"이야기 {n:02d}")
        make_part(story=story)
        if n % 2 == 0:
            story.themes.add(family)
            themed.append(story.pk)
    draft = make_story(title_en="Still a draft", status=Story.Status.DRAFT)
    make_part(story=draft)
    draft.themes.add(family, hidden_theme)
    newest_first = themed[::-1]

    for language, page_of in (("en", "Page {} of 2"), ("ko", "2쪽 중 {}쪽")):
        pages = [client.get(f"/{language}/stories/?theme=family&page={number}") for number in (1, 2)]
        assert [story.pk for page in pages for story in page.context["stories"]] == newest_first
        for number, page in enumerate(pages, start=1):
            assert page_of.format(number) in page.content.decode()
        # Only themes with a live story in the language are offered, and no other can be asked for.
        assert [theme.slug for theme in pages[0].context["themes"]] == ["family"]
        assert client.get(f"/{language}/stories/?theme=unseen").status_code == 404
        assert client.get(f"/{language}/stories/?theme=family&page=3").status_code == 404


def test_index_pages_run_newest_story_first_with_tellers_and_nothing_twice(client, db, settings):
    stories = []
    for n in range(settings.STORIES_PAGE_SIZE + 2):
        story = make_story(title_en=f"Paged story {n}", title_ko=f"쪽 이야기 {n}")
        make_part(story=story)
        stories.append(story)
    hidden = make_story(title_en="A draft story", status=Story.Status.DRAFT)
    make_part(story=hidden)
    newest_first = [story.pk for story in reversed(stories)]

    for language in ("en", "ko"):
        pages = [client.get(f"/{language}/stories/?page={number}") for number in (1, 2)]
        shown = [story.pk for page in pages for story in page.context["stories"]]
        assert shown == newest_first
        html = pages[0].content.decode()
        title = f"title_{language}"
        assert html.index(getattr(stories[-1], title)) < html.index(getattr(stories[-2], title))
        assert getattr(stories[-1].storyteller, f"pseudonym_{language}") in html
        assert getattr(stories[0], title) in pages[1].content.decode()
        assert "A draft story" not in html + pages[1].content.decode()


@pytest.mark.parametrize(
    ("language", "empty"), [("en", "No stories are published yet."), ("ko", "아직 게시된 이야기가 없습니다.")]
)
def test_index_of_an_empty_archive_says_so(client, db, language, empty, django_assert_num_queries):
    # Themes, the count and the stories awaiting translation; no page of rows to read.
    with django_assert_num_queries(3):
        response = client.get(f"/{language}/stories/")
    assert response.status_code == 200
    assert empty in response.content.decode()


def test_sitemap_lists_public_pages_in_both_languages_with_alternates(client, story, now):
    public = make_part(story=story)
    english_only = make_part(story=story, title_ko="", body_ko="")
    draft = make_part(story=story, status=Part.Status.DRAFT)
    urls = []
    for page in sitemap_pages(client)[1:]:
        response = client.get(page)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/xml"
        urls += ET.fromstring(response.content).findall("s:url", SITEMAP_NS)
    locations = {url.find("s:loc", SITEMAP_NS).text for url in urls}
    assert f"http://testserver{url_in(public, 'en')}" in locations
    assert f"http://testserver{url_in(public, 'ko')}" in locations
    assert f"http://testserver{url_in(english_only, 'en')}" in locations
    assert f"http://testserver{url_in(english_only, 'ko')}" not in locations
    assert not any(url_in(draft, "en") in loc or url_in(draft, "ko") in loc for loc in locations)
    for url in urls:
        if url.find("s:loc", SITEMAP_NS).text == f"http://testserver{url_in(public, 'en')}":
            alternates = {link.get("hreflang"): link.get("href") for link in url.findall("xhtml:link", SITEMAP_NS)}
            assert alternates == {
                "en": f"http://testserver{url_in(public, 'en')}",
                "ko": f"http://testserver{url_in(public, 'ko')}",
                "x-default": f"http://testserver{url_in(public, 'en')}",
            }
    assert "http://testserver/en/" in locations and "http://testserver/ko/stories/" in locations


def test_sitemap_writer_escapes_and_dates_each_entry_as_the_template_did(settings):
    import datetime

    from archive.sitemaps import urlset_xml

    settings.TIME_ZONE = "Asia/Seoul"
    published = datetime.datetime(2026, 3, 3, 20, 0, tzinfo=datetime.UTC)  # 4 March in Seoul
    text = urlset_xml(
        [
            {
                "location": "https://archive.example/en/a?b=1&c=<2>",
                "lastmod": published,
                "changefreq": "monthly",
                "alternates": [{"lang_code": "en", "location": 'https://archive.example/"q"&x'}],
            },
            {"location": "https://archive.example/ko/", "lastmod": None, "changefreq": "", "alternates": []},
        ]
    )
    urls = ET.fromstring(text).findall("s:url", SITEMAP_NS)
    assert [url.find("s:loc", SITEMAP_NS).text for url in urls] == [
        "https://archive.example/en/a?b=1&c=<2>",
        "https://archive.example/ko/",
    ]
    assert urls[0].find("s:lastmod", SITEMAP_NS).text == "2026-03-04"
    assert urls[0].find("xhtml:link", SITEMAP_NS).get("href") == 'https://archive.example/"q"&x'
    assert urls[1].find("s:lastmod", SITEMAP_NS) is None and urls[1].find("s:changefreq", SITEMAP_NS) is None


def test_sitemap_index_lists_one_page_per_section_for_a_small_archive(client, part):
    sections = [re.sub(r"-\d+\.xml$", "", page) for page in sitemap_pages(client)[1:]]
    assert sections == ["/sitemap-pages", "/sitemap-stories", "/sitemap-parts", "/sitemap-campaigns"]


def test_sitemap_pages_split_the_archive_so_no_response_grows_with_it(client, db, settings):
    settings.SITEMAP_PAGE_SIZE = 4
    story = make_story()
    parts = [make_part(story=story) for _ in range(5)]
    pages = sitemap_pages(client)
    # Five parts in two languages, two parts a page: ten entries on three pages of at most four.
    part_pages = [page for page in pages if "-parts-" in page]
    assert len(part_pages) == 3
    locations = []
    for page in pages[1:]:
        entries = ET.fromstring(client.get(page).content).findall("s:url/s:loc", SITEMAP_NS)
        assert len(entries) <= 4
        locations += [loc.text for loc in entries]
    expected = {f"http://testserver{url_in(part, code)}" for part in parts for code in ("en", "ko")}
    assert expected <= set(locations)
    assert len(locations) == len(set(locations)), "an entry is on one page only"
    last = int(part_pages[-1].rsplit("-", 1)[1].removesuffix(".xml"))
    for missing in (f"/sitemap-parts-{last + 1}.xml", "/sitemap-parts-0.xml", "/sitemap-nothing-1.xml"):
        assert client.get(missing).status_code == 404


def test_a_sitemap_page_whose_parts_are_all_hidden_stays_listed_and_empty(client, db, settings):
    settings.SITEMAP_PAGE_SIZE = 2  # one part a page, in two languages
    story = make_story()
    first, middle, last = (make_part(story=story) for _ in range(3))
    middle.status = Part.Status.DRAFT
    middle.save()
    middle_page = f"/sitemap-parts-{middle.pk + 1}.xml"
    assert middle_page in sitemap_pages(client)
    response = client.get(middle_page)
    assert response.status_code == 200
    assert ET.fromstring(response.content).findall("s:url", SITEMAP_NS) == []
    assert client.get(f"/sitemap-parts-{last.pk + 2}.xml").status_code == 404


def test_robots_txt_points_to_sitemap_and_keeps_out_of_back_office(client, db):
    response = client.get("/robots.txt")
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /admin/" in body
    assert "Sitemap: http://testserver/sitemap.xml" in body


def test_root_redirects_to_the_browsers_preferred_language(client, db):
    assert client.get("/", headers={"accept-language": "ko-KR,ko;q=0.9"})["Location"] == "/ko/"
    assert client.get("/", headers={"accept-language": "en-GB"})["Location"] == "/en/"


def test_reader_pages_send_strict_security_headers(client, part):
    response = client.get(url_in(part, "en"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    # Nothing of the story's address travels to another site; same-site form posts keep their Origin.
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_styles_or_third_party_assets(client, part):
    for page in ("/en/", "/ko/stories/", url_in(part.story, "en"), url_in(part, "ko"), "/en/nowhere/"):
        html = client.get(page).content.decode()
        # Scripts only as files from the site itself (progressive enhancement), never inline.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        assert html.count("<script") == len(scripts)
        # The one other kind is structured data (stories.covers): a data block browsers never execute.
        data_blocks = [body for attrs, body in scripts if attrs == ' type="application/ld+json"']
        assert all(json.loads(body) for body in data_blocks)
        code = [(attrs, body) for attrs, body in scripts if attrs != ' type="application/ld+json"']
        assert all(re.search(r'\bsrc="/static/js/[^"]+"', attrs) and not body.strip() for attrs, body in code)
        assert "<style" not in html and " style=" not in html
        assert "//fonts." not in html and "cdn" not in html.lower()


@pytest.mark.parametrize("size", [1, 50])
def test_page_query_counts_do_not_grow_with_the_serial(client, db, django_assert_max_num_queries, size):
    story = make_story()
    story.content_warnings.add(ContentWarning.objects.create(slug="hunger", label_en="Hunger", label_ko="굶주림"))
    story.themes.add(Theme.objects.create(slug="family", name_en="Family", name_ko="가족"))
    parts = [make_part(story=story, number=n) for n in range(1, size + 1)]
    for _ in range(size):
        make_part(story=make_story(), number=1)
        # Listed on English pages and in the English feed as only in Korean, with its summary.
        make_part(story=make_story(title_en="", original_language="ko"), number=1, title_en="", body_en="")
    middle = parts[len(parts) // 2]
    StoryImage.objects.create(
        part=middle, rendition_key="k1", shows_identifiable_person=False, alt_text_en="Hills", alt_text_ko="언덕"
    )
    campaign = make_campaign(stories=[story])
    make_action(campaign=campaign, kind=Action.Kind.DONATE)
    make_action(campaign=campaign, kind=Action.Kind.LETTER, recipients=[make_recipient(), make_recipient()])
    # What each page costs, whatever the length of the serial or the size of the archive.
    # The press strip beside stories costs one query more in a language after a write, then none till the next.
    budgets = {
        # The serial's rows with this part's body and the story's content warnings, its photos, the campaigns
        # with their actions, related stories.
        url_in(middle, "en"): 4 + 1,
        url_in(middle, "ko"): 4 + 1,
        # The story, its serial's rows, content warnings, related stories.
        url_in(story, "en"): 4 + 1,
        # Newest parts, the featured story, stories in progress, parts awaiting translation.
        "/en/": 4 + 1,
        # Themes, count, the page's ids, its stories, stories awaiting translation.
        "/en/stories/": 5,
        "/en/stories/?theme=family": 4,
        "/en/stories/?page=2": 5,
        # Newest parts, parts awaiting translation.
        "/en/feed/": 2,
        # The first and last id in the publication table, for stories and for parts;
        # each section page checks the last, then reads.
        "/sitemap.xml": 4,
        first_sitemap_page("stories"): 2,
        first_sitemap_page("parts"): 2,
        first_sitemap_page("campaigns"): 1,
        # The campaign, its actions and recipients, the stories beside it, its other language.
        url_in(campaign, "en"): 5,
    }
    for page, budget in budgets.items():
        with django_assert_max_num_queries(budget):
            response = client.get(page)
            assert response.status_code == (404 if page.endswith("page=2") and size == 1 else 200), page


def test_scheduled_part_is_listed_for_staff_but_not_readers(client, story, now):
    part = make_part(story=story, published_at=now + datetime.timedelta(days=1))
    assert part.is_scheduled()
    assert client.get(url_in(part, "en")).status_code == 404


def test_admin_translation_tabs_load_nothing_from_third_parties(client, editor, part):
    client.force_login(editor)
    html = client.get(f"/admin/stories/part/{part.pk}/change/").content.decode()
    assert "/static/vendor/jquery-ui/jquery-ui.min.js" in html
    assert "googleapis" not in html and "//ajax." not in html


@pytest.mark.parametrize("page", ["/{language}/", "/{language}/stories/"])
def test_pages_in_every_language_carry_hreflang_alternates_and_a_canonical_link(client, part, page):
    html = client.get(page.format(language="ko")).content.decode()
    for code in ("en", "ko"):
        assert f'hreflang="{code}" href="http://testserver{page.format(language=code)}"' in html
    assert f'<link rel="canonical" href="http://testserver{page.format(language="ko")}">' in html


def test_korean_pages_format_dates_and_reading_times_for_korea(client, story):
    part = make_part(story=story, published_at=datetime.datetime(2019, 12, 17, 9, 0, tzinfo=datetime.UTC))
    html = client.get(url_in(part, "ko")).content.decode()
    assert "2019년 12월 17일" in html
    assert "읽는 데 1분" in html
    assert "December 17, 2019" in client.get(url_in(part, "en")).content.decode()


def test_links_to_the_site_name_the_configured_site_whatever_host_the_request_named(client, part):
    campaign = make_campaign(stories=[part.story])
    make_action(campaign=campaign, kind=Action.Kind.SOCIAL)
    for page in (url_in(part, "en"), url_in(part.story, "ko"), "/en/", "/en/feed/", url_in(campaign, "en")):
        html = client.get(page, HTTP_HOST="localhost").content.decode()
        assert "localhost" not in html, page
        assert "http://testserver/" in html, page
    for page in sitemap_pages(client):
        assert "localhost" not in client.get(page, HTTP_HOST="localhost").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in client.get("/robots.txt", HTTP_HOST="localhost").content.decode()
