"""Fixtures the photo tests share."""

import pytest
from django.utils import translation

from tests.conftest import make_part, make_story, make_storyteller


@pytest.fixture
def in_english():
    """Korean pages activate Korean for the thread; a test with this starts, and leaves, in English."""
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def photo_part(db):
    """A public part whose storyteller's consent covers photos."""
    return make_part(story=make_story(storyteller=make_storyteller(consent={"covers_photos": True})))
