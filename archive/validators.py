"""Validators every editor-written text goes through, in models, forms and imports alike."""

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# The C0 control characters other than tab, newline and carriage return. No text needs them, XML
# (the feed, the sitemap) cannot hold them, and some browsers and parsers treat them differently.
C0_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The longest Markdown body an editor or translator may save: about forty printed pages, far beyond
# any part so far, and small enough that the worst input still renders in well under a second.
MAX_BODY_LENGTH = 100_000


def strip_control_characters(text: str) -> str:
    """Return the text without C0 control characters (tab, newline and carriage return stay)."""
    return C0_CONTROLS.sub("", text)


@deconstructible
class NoControlCharactersValidator:
    """Refuse text holding a C0 control character other than tab, newline and carriage return."""

    message = _(
        "This text contains an invisible control character (often pasted from another program). "
        "Delete it and type the text again around that place."
    )
    code = "control_character"

    def __call__(self, value: object) -> None:
        if isinstance(value, str) and C0_CONTROLS.search(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharactersValidator)

    def __hash__(self) -> int:
        return hash(self.code)


@deconstructible
class BodyLengthValidator:
    """Refuse a Markdown body longer than MAX_BODY_LENGTH characters."""

    code = "body_too_long"

    def __init__(self, limit: int = MAX_BODY_LENGTH) -> None:
        self.limit = limit

    def __call__(self, value: object) -> None:
        if isinstance(value, str) and len(value) > self.limit:
            raise ValidationError(
                _(
                    "A body can be at most {limit} characters long; this one has {length}. Split it into two parts."
                ).format(limit=f"{self.limit:,}", length=f"{len(value):,}"),
                code=self.code,
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BodyLengthValidator) and other.limit == self.limit

    def __hash__(self) -> int:
        return hash((self.code, self.limit))


validate_no_control_characters = NoControlCharactersValidator()
validate_body_length = BodyLengthValidator()
TEXT_VALIDATORS = [validate_no_control_characters]
BODY_VALIDATORS = [validate_no_control_characters, validate_body_length]
