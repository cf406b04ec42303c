"""Stable cursors: the sort key of the last item of a page, opaque to clients.

A page starts strictly after that key, so an item that is added, withdrawn or unpublished between two
requests shifts nothing: no item is shown twice or skipped because another one moved.
"""

import base64
import binascii
import datetime
import json
import re

from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

MAX_CURSOR_LENGTH = 200
# Text in a cursor is a slug, nothing else (a NUL byte, above all, never reaches PostgreSQL).
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,120}")


class InvalidCursor(ValueError):
    """The cursor was not one this API hands out for this list."""


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def encode(values: tuple) -> str:
    """Return the cursor that starts the page after the item with this sort key."""
    raw = json.dumps([_plain(value) for value in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _typed(value, kind: type):
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    if kind is str and isinstance(value, str) and SLUG.fullmatch(value):
        return value
    if kind is datetime.datetime and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    if kind is datetime.date and isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    raise InvalidCursor(value)


def decode(cursor: str, kinds: tuple[type, ...]) -> tuple:
    """Return the sort key in a cursor of a list sorted by fields of these types; raise InvalidCursor."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(values, list) or len(values) != len(kinds):
        raise InvalidCursor(cursor)
    try:
        return tuple(_typed(value, kind) for value, kind in zip(values, kinds, strict=True))
    except (TypeError, ValueError) as error:
        raise InvalidCursor(cursor) from error


def after(order: tuple[str, ...], key: tuple) -> Q:
    """Match rows that come after ``key`` in ``order`` (field names, "-" for descending)."""
    condition = Q()
    for position in range(len(order) - 1, -1, -1):
        name = order[position].lstrip("-")
        lookup = "lt" if order[position].startswith("-") else "gt"
        beyond = Q(**{f"{name}__{lookup}": key[position]})
        condition = beyond if position == len(order) - 1 else beyond | (Q(**{name: key[position]}) & condition)
    return condition
