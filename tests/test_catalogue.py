"""The Korean interface is complete: every string in the code has a reviewed Korean translation."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
CATALOGUE = BASE_DIR / "locale" / "ko" / "LC_MESSAGES" / "django.po"
NOT_SOURCE = (
    ".git",
    ".venv",
    ".demo-credentials.json",
    ".dev-identity-key",
    "staticfiles",
    "screenshots",
    "media",
    "private-media",
    "__pycache__",
    "*.sqlite3",
)


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def test_korean_catalogue_has_no_untranslated_or_fuzzy_entries():
    po = polib.pofile(str(CATALOGUE))
    untranslated = [entry.msgid for entry in live_entries(po) if not entry.translated()]
    fuzzy = [entry.msgid for entry in live_entries(po) if entry.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_catalogue_has_every_string_the_code_uses(tmp_path):
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext (xgettext) is required in CI to check the catalogue against the code")
        pytest.skip("GNU gettext (xgettext) is not installed; CI installs it and runs this check")
    copy = tmp_path / "source"
    shutil.copytree(BASE_DIR, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    result = subprocess.run(
        [
            sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-location", "--no-obsolete",
            "--ignore=tests", "--ignore=.venv", "--ignore=staticfiles",
        ],
        cwd=copy,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "archive.settings.test"},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    committed = {(entry.msgctxt, entry.msgid) for entry in live_entries(polib.pofile(str(CATALOGUE)))}
    regenerated = polib.pofile(str(copy / "locale" / "ko" / "LC_MESSAGES" / "django.po"))
    missing = sorted(
        entry.msgid for entry in live_entries(regenerated) if (entry.msgctxt, entry.msgid) not in committed
    )
    assert missing == [], "run `make messages` and translate these"
    assert [entry.msgid for entry in live_entries(regenerated) if not entry.translated() or entry.fuzzy] == []
