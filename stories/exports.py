"""The consent audit trail as a CSV export, built by a task worker (background/exports.py)."""

import dataclasses
import types
from typing import TextIO

from archive.spreadsheets import formula_safe
from stories import audit


def write_audit_trail(user, out: TextIO) -> int:
    """Write the whole audit trail as this user may read it (the audit page's rule); return the row count."""
    from stories.admin import _readable_entries

    entries = [
        dataclasses.replace(
            entry,
            who=formula_safe(entry.who),
            model=formula_safe(entry.model),
            field=formula_safe(entry.field),
            before=formula_safe(entry.before),
            after=formula_safe(entry.after),
        )
        # The rule takes a request and reads only its user.
        for entry in _readable_entries(types.SimpleNamespace(user=user), audit.audit_entries())
    ]
    out.write(audit.audit_csv(entries))
    return len(entries)
