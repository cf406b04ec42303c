"""mailto: letters and X posts: every character encoded, nothing able to escape its field."""

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.exceptions import ValidationError

from advocacy.models import Action
from advocacy.sharing import (
    MAILTO_MAX_LENGTH,
    X_MAX_WEIGHTED_LENGTH,
    letter_link,
    mailto_url,
    x_intent_url,
    x_post_length,
    x_weighted_length,
)
from tests.advocacy.conftest import make_action


def parse_mailto(url: str) -> tuple[str, dict[str, list[str]]]:
    """Read a mailto: URL the way a mail program does (RFC 6068)."""
    assert url.startswith("mailto:")
    to, _sep, query = url[len("mailto:") :].partition("?")
    # parse_qs would turn "+" into a space; RFC 6068 does not, so decode by hand.
    fields: dict[str, list[str]] = {}
    for pair in query.split("&") if query else []:
        name, _eq, value = pair.partition("=")
        fields.setdefault(unquote(name).lower(), []).append(unquote(value))
    return unquote(to), fields


def test_mailto_encodes_every_reserved_character_and_korean_and_line_breaks():
    subject = "Help & protect: 50% of them? #now"
    body = "Dear Ambassador,\n\nPlease act — 지금 도와주세요.\r\nLine with a+b=c & more\rEnd"
    url = mailto_url(address="embassy@example.org", subject=subject, body=body)

    # Only our own separators survive unencoded: the text is unreserved characters and %XX alone.
    assert re.fullmatch(r"mailto:embassy@example\.org\?subject=[\w.~%-]*&body=[\w.~%-]*", url, re.ASCII)
    assert "%20" in url and "%EC%A7%80%EA%B8%88" in url  # a space, and "지금" as UTF-8

    to, fields = parse_mailto(url)
    assert to == "embassy@example.org"
    assert fields == {
        "subject": [subject],
        # Every line break becomes CRLF, as RFC 6068 asks.
        "body": ["Dear Ambassador,\r\n\r\nPlease act — 지금 도와주세요.\r\nLine with a+b=c & more\r\nEnd"],
    }


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Hello\r\nBcc: spy@example.net", "Hi\r\nBcc: spy@example.net"),
        ("Hi&cc=spy@example.net", "Body&bcc=spy@example.net&to=spy@example.net"),
        ("Hi?to=spy@example.net", "?cc=spy@example.net#frag"),
        ("%0D%0ABcc:%20spy@example.net", "%26cc%3Dspy%40example.net"),
        ("Hi\u2028Cc: spy@example.net", "\u202eevil\u202c text\x00\x1b"),
        ("Hi,spy@example.net", "a;spy@example.net"),
    ],
)
def test_hostile_subject_and_body_cannot_add_headers_or_recipients(subject, body):
    url = mailto_url(address="embassy@example.org", subject=subject, body=body)
    to, fields = parse_mailto(url)
    assert to == "embassy@example.org"
    assert set(fields) == {"subject", "body"}
    assert len(fields["subject"]) == 1 and len(fields["body"]) == 1
    decoded_subject = fields["subject"][0]
    # The subject stays one line, so no header can start inside it.
    assert "\r" not in decoded_subject and "\n" not in decoded_subject
    assert "\u2028" not in decoded_subject
    # Control characters and bidirectional overrides are gone from both fields.
    for text in (decoded_subject, fields["body"][0]):
        assert not any(ord(char) < 32 and char not in "\r\n\t" for char in text)
        assert "\u202e" not in text
    # What was typed as encoded text stays text: it is double-encoded, not interpreted.
    if subject.startswith("%0D"):
        assert decoded_subject == "%0D%0ABcc:%20spy@example.net"


def test_mailto_refuses_an_address_that_is_not_one():
    for address in ("a@example.org?cc=b@example.org", "a@example.org,b@example.org", "not an address"):
        with pytest.raises(ValueError):
            mailto_url(address=address, subject="x")


def test_short_letter_is_carried_whole_in_the_link():
    link = letter_link(address="embassy@example.org", subject="Please act", body="A short letter.")
    assert link.carries_letter
    assert parse_mailto(link.href)[1]["body"] == ["A short letter."]


def test_long_letter_falls_back_to_subject_only_link():
    body = "지금 행동해 주세요. " * 120  # Korean costs nine characters a syllable once encoded
    assert len(mailto_url(address="embassy@example.org", subject="Act", body=body)) > MAILTO_MAX_LENGTH
    link = letter_link(address="embassy@example.org", subject="Act now", body=body)
    assert not link.carries_letter
    assert len(link.href) <= MAILTO_MAX_LENGTH
    to, fields = parse_mailto(link.href)
    assert to == "embassy@example.org"
    assert fields == {"subject": ["Act now"]}


def test_letter_exactly_at_the_limit_still_fits():
    prefix = len(mailto_url(address="e@example.org", subject="S", body="x"))
    body = "x" * (MAILTO_MAX_LENGTH - prefix + 1)
    assert letter_link(address="e@example.org", subject="S", body=body).carries_letter
    assert not letter_link(address="e@example.org", subject="S", body=body + "x").carries_letter


def test_x_counts_korean_twice_and_links_as_23():
    assert x_weighted_length("hello") == 5
    assert x_weighted_length("안녕") == 4
    assert x_weighted_length("see https://archive.example.org/a/very/long/path/indeed") == 4 + 23
    # A bare domain is counted as at least a link, since X shortens it too.
    assert x_weighted_length("see example.org") == 4 + 23
    # The post is sent with a space and the campaign link after it.
    assert x_post_length("hello") == 5 + 1 + 23


def test_x_intent_link_carries_the_text_and_campaign_link_encoded():
    url = x_intent_url(text="Act now & share #1\n지금", url="https://archive.example.org/ko/act/x/")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "x.com", "/intent/post")
    assert parse_qs(parts.query) == {
        "text": ["Act now & share #1\n지금"],
        "url": ["https://archive.example.org/ko/act/x/"],
    }


def test_social_post_over_the_limit_is_refused_when_saved(campaign):
    with pytest.raises(ValidationError) as error:
        make_action(campaign=campaign, kind=Action.Kind.SOCIAL, post_template_ko="가" * 130)
    assert "post_template_ko" in error.value.message_dict
    assert "limit is 280" in error.value.message_dict["post_template_ko"][0]
    # The same number of Latin letters fits: only Korean counts double.
    action = make_action(campaign=campaign, kind=Action.Kind.SOCIAL, post_template_ko="a" * 130)
    assert x_post_length(action.post_template_ko) <= X_MAX_WEIGHTED_LENGTH


def test_post_at_the_limit_is_accepted_and_one_more_is_not(campaign):
    fits = "a" * (X_MAX_WEIGHTED_LENGTH - 24)
    make_action(campaign=campaign, kind=Action.Kind.SOCIAL, post_template_en=fits, post_template_ko="")
    with pytest.raises(ValidationError):
        make_action(campaign=campaign, kind=Action.Kind.SOCIAL, post_template_en=fits + "a", post_template_ko="")


def test_letter_needs_subject_and_body_together_and_a_one_line_subject(campaign):
    with pytest.raises(ValidationError) as error:
        make_action(campaign=campaign, kind=Action.Kind.LETTER, body_template_ko="")
    assert "body_template_ko" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_action(campaign=campaign, kind=Action.Kind.LETTER, subject_template_en="Two\nlines")
    assert "subject_template_en" in error.value.message_dict


def test_giving_links_must_be_https(campaign):
    for url in ("http://donate.example.org/", "javascript:alert(1)"):
        with pytest.raises(ValidationError) as error:
            make_action(campaign=campaign, kind=Action.Kind.DONATE, url=url)
        assert "url" in error.value.message_dict
