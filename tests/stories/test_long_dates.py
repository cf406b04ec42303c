"""Dates readers see are in the long form each language expects: "March 4, 2021", "2021년 3월 4일"."""

import datetime

import pytest
from django.urls import reverse
from django.utils import formats, translation

from tests.conftest import make_part

MARCH_4 = datetime.datetime(2021, 3, 4, 15, 5, tzinfo=datetime.UTC)
# January is a month Django's English default (AP style) abbreviates: "Jan. 4, 2021".
JANUARY_4 = datetime.datetime(2021, 1, 4, 9, 30, tzinfo=datetime.UTC)

LONG = {"en": "January 4, 2021", "ko": "2021년 1월 4일"}


def page(client, language: str, obj=None, name: str | None = None) -> str:
    with translation.override(language):
        url = obj.get_absolute_url() if obj is not None else reverse(name)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_part_page_shows_the_long_date(client, story, language):
    part = make_part(story=story, published_at=JANUARY_4)
    html = page(client, language, part)
    assert f'datetime="2021-01-04T09:30:00+00:00">{LONG[language]}</time>' in html


@pytest.mark.parametrize("language", ["en", "ko"])
def test_story_page_shows_the_long_date(client, story, language):
    make_part(story=story, published_at=JANUARY_4)
    assert f">{LONG[language]}</time>" in page(client, language, story)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_home_page_shows_the_long_date(client, story, language):
    make_part(story=story, published_at=JANUARY_4)
    assert f">{LONG[language]}</time>" in page(client, language, name="stories:home")


def test_english_months_are_spelled_out():
    with translation.override("en"):
        assert formats.date_format(JANUARY_4, "DATE_FORMAT") == "January 4, 2021"
        assert formats.date_format(JANUARY_4, "DATETIME_FORMAT") == "January 4, 2021, 9:30 a.m."


def test_korean_time_follows_the_morning_or_afternoon_word():
    with translation.override("ko"):
        assert formats.date_format(JANUARY_4, "DATE_FORMAT") == "2021년 1월 4일"
        assert formats.date_format(MARCH_4, "DATETIME_FORMAT") == "2021년 3월 4일 오후 3:05"
