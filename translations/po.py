"""Export a story's display text for one language as a PO file, and import it back."""

from dataclasses import dataclass

import polib
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from archive.validators import BODY_VALIDATORS, TEXT_VALIDATORS
from stories.models import Story
from translations.models import Translation
from translations.services import translation_save_draft
from translations.workspace import Item, story_items

MAX_PO_BYTES = 2 * 1024 * 1024


def _context(item: Item, field: str) -> str:
    return f"{item.entry.label}:{item.obj.pk}:{field}"


def working_text(item: Item) -> dict[str, str]:
    """The translation a translator is working on: the draft if there is one, else the approved text."""
    translation = item.translation
    if translation and translation.status in {Translation.Status.DRAFT, Translation.Status.IN_REVIEW}:
        return {field: translation.draft.get(field, "") for field in item.entry.fields}
    # Approved text, or text entered in the record itself in this language (a consent officer who typed the
    # Korean pseudonym): the translator starts from it, and it is reviewed like any other before readers see it.
    return item.entry.text_in(item.obj, item.language)


def story_export(*, story: Story, language: str) -> str:
    """Return a PO file with every original string of the story and its current translation."""
    po = polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": f"testimony-archive story {story.slug}",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "POT-Creation-Date": timezone.now().strftime("%Y-%m-%d %H:%M%z"),
        "X-Archive-Story": story.slug,
    }
    for item in story_items(story, language):
        if item.held_back:
            continue  # holds an identifying term: it does not leave the archive (workspace.held_back_parts)
        original = item.entry.original_text(item.obj)
        current = working_text(item)
        for field in item.entry.fields:
            if not original[field]:
                continue
            po.append(
                polib.POEntry(
                    msgctxt=_context(item, field),
                    msgid=original[field],
                    msgstr=current.get(field, ""),
                    comment=f"{item.label}: {field}",
                )
            )
    return str(po)


@dataclass
class ImportResult:
    updated: list[str]
    unchanged: int


def check_file(content: bytes) -> None:
    """Refuse a file that cannot be a PO file the archive reads (size, encoding, syntax, no entries)."""
    _parse(content)


def _parse(content: bytes) -> polib.POFile:
    if len(content) > MAX_PO_BYTES:
        raise ValidationError(_("The file is too large to be a story's translation."))
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationError(_("The file is not UTF-8 text. Save it as UTF-8 and try again.")) from error
    try:
        parsed = polib.pofile(text)
    except (OSError, ValueError) as error:
        raise ValidationError(_("This is not a PO file the archive can read.")) from error
    if not [entry for entry in parsed if not entry.obsolete]:
        raise ValidationError(_("The file has no entries to import."))
    return parsed


@transaction.atomic
def story_import(*, story: Story, language: str, content: bytes, by: AbstractBaseUser | None) -> ImportResult:
    """Apply a translated PO file as drafts; refuse the whole file if any original has changed since export."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language."))
    po = _parse(content)
    if po.metadata.get("X-Archive-Story") not in (None, story.slug):
        raise ValidationError(_("This file belongs to another story."))
    if po.metadata.get("Language") not in (None, "", language):
        raise ValidationError(_("This file is a translation into another language."))

    items = {}
    for item in story_items(story, language):
        if item.held_back:
            continue
        for field in item.entry.fields:
            items[_context(item, field)] = (item, field)

    changed, unknown, refused, updates = [], [], [], {}
    for entry in po:
        if entry.obsolete:
            continue
        if entry.msgctxt not in items:
            unknown.append(entry.msgctxt or entry.msgid[:40])
            continue
        item, field = items[entry.msgctxt]
        if item.entry.original_text(item.obj)[field] != entry.msgid:
            changed.append(_("{item}: {field}").format(item=item.label, field=item.entry.field_label(field)))
            continue
        if entry.msgstr and not entry.fuzzy:
            try:
                for validator in BODY_VALIDATORS if field == "body" else TEXT_VALIDATORS:
                    validator(entry.msgstr)
            except ValidationError as error:
                name = _("{item}: {field}").format(item=item.label, field=item.entry.field_label(field))
                refused.append(f"{name}: {' '.join(error.messages)}")
                continue
            updates.setdefault(entry.msgctxt.rsplit(":", 1)[0], (item, {}))[1][field] = entry.msgstr
    if unknown:
        raise ValidationError([_("The file has entries this story does not have:")] + [str(name) for name in unknown])
    if refused:
        raise ValidationError(
            [_("Nothing was imported. Correct these translations and import the file again:")] + refused
        )
    if changed:
        raise ValidationError(
            [_("The original text changed after this file was exported. Export it again and carry over:")]
            + [str(name) for name in changed]
        )

    updated, unchanged = [], 0
    for item, fields in updates.values():
        current = working_text(item)
        merged = {**current, **fields}
        if merged == current:
            unchanged += 1
            continue
        translation_save_draft(obj=item.obj, language=language, text=merged, by=by)
        updated.append(item.label)
    return ImportResult(updated=updated, unchanged=unchanged)
