"""Show translators what changed in an original since its translation was approved."""

import difflib
import re

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """Return (kind, text) runs, kind being "same", "removed" or "added"; templates escape the text."""
    old = _TOKENS.findall(before or "")
    new = _TOKENS.findall(after or "")
    runs = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            runs.append(("same", "".join(old[old_start:old_end])))
            continue
        if old_end > old_start:
            runs.append(("removed", "".join(old[old_start:old_end])))
        if new_end > new_start:
            runs.append(("added", "".join(new[new_start:new_end])))
    return runs
