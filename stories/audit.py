"""The audit trail: who changed consent, identity, publication or translation, when, from what, to what.

django-simple-history keeps an append-only historical row for every save; this module
registers the audited models and reads those rows back as before/after entries.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from simple_history import register
from simple_history.models import HistoricalChanges

# Derived or bookkeeping fields that say nothing about who decided what.
_NOT_AUDITED = {"updated_at", "body_html", "reading_minutes"}


def _excluded(model) -> list[str]:
    return [
        field.name
        for field in model._meta.fields
        if field.name in _NOT_AUDITED or any(field.name.startswith(f"{name}_") for name in _NOT_AUDITED)
    ]


def audited_models() -> list:
    from stories.models import Consent, Part, Story, Storyteller, StorytellerIdentity
    from translations.models import Translation

    # Translation keeps its own HistoricalRecords; it is listed so that approvals show in the trail.
    return [Consent, StorytellerIdentity, Storyteller, Story, Part, Translation]


def register_history() -> None:
    """Attach an append-only history to every audited model."""
    for model in audited_models():
        if not hasattr(model, "history"):
            register(model, app="stories", excluded_fields=_excluded(model))


@dataclass
class AuditEntry:
    when: datetime
    who: str
    action: str
    model: str
    object_id: int
    field: str
    before: str
    after: str


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
# The change reason of the rows a storyteller's erasure leaves (stories.services.storyteller_erase): its tombstones.
ERASED = "erased"


def _entries_for(record: HistoricalChanges, previous: HistoricalChanges | None) -> list[AuditEntry]:
    base = {
        "when": record.history_date,
        "who": record.history_user.get_username() if record.history_user else "system",
        "action": _ACTIONS.get(record.history_type, record.history_type),
        # Not record.instance: rebuilding it loads the fields left out of the history from the live row.
        "model": str(record.instance_type._meta.verbose_name),
        "object_id": record.id,
    }
    if getattr(record, "history_change_reason", None) == ERASED:
        # Who erased which object, and when; what it said is gone from the trail too.
        return [AuditEntry(**{**base, "action": ERASED}, field="", before="", after="")]
    if record.history_type == "-" and previous is not None:
        # A deletion changes no field: one entry says who deleted what, and when (a draft part, say).
        return [AuditEntry(**base, field="", before=str(_deleted_title(record)), after="")]
    if previous is None:
        # attname (storyteller_id, not storyteller) so that no related row is loaded per record.
        values = {f.name: getattr(record, f.attname, None) for f in record.instance_type._meta.fields if f.name != "id"}
        return [
            AuditEntry(**base, field=name, before="", after=str(value))
            for name, value in values.items()
            if value not in (None, "")
        ]
    delta = record.diff_against(previous)
    return [
        AuditEntry(**base, field=change.field, before=str(change.old or ""), after=str(change.new or ""))
        for change in delta.changes
    ]


def _deleted_title(record: HistoricalChanges) -> str:
    """The deleted object's title as its history kept it, in the original language, without loading anything."""
    for name in ("title", "pseudonym"):
        value = getattr(record, name, None)
        if value:
            return value
    return ""


def audit_entries(*, since: datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Return audit entries across every audited model, newest first."""
    records = []
    for model in audited_models():
        history = model.history.select_related("history_user").order_by("-history_date")
        if since is not None:
            history = history.filter(history_date__gte=since)
        if limit is not None:
            history = history[:limit]
        records.extend(history)
    records.sort(key=lambda record: record.history_date, reverse=True)
    if limit is not None:
        records = records[:limit]
    previous = _previous_records(records)
    entries = []
    for record in records:
        entries.extend(_entries_for(record, previous.get((type(record), record.history_id))))
    entries.extend(_refusal_entries(since=since, limit=limit))
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries


# The action of the identifying-detail guard's refusals (stories.privacy.refusals_record) in the trail.
REFUSED = "refused"


def _refusal_entries(*, since: datetime | None, limit: int | None) -> list[AuditEntry]:
    """The guard's refusals: who, which object, which field, for which storyteller; never the term."""
    from django.apps import apps

    from stories.models import GuardRefusal

    rows = GuardRefusal.objects.order_by("-refused_at", "-pk")
    if since is not None:
        rows = rows.filter(refused_at__gte=since)
    if limit is not None:
        rows = rows[:limit]
    entries = []
    for row in rows:
        try:
            model = str(apps.get_model(row.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            model = row.object_type
        entries.append(
            AuditEntry(
                when=row.refused_at,
                who=row.username or "system",
                action=REFUSED,
                model=model,
                object_id=row.object_id or 0,
                field=row.field,
                before="",
                after=f"storyteller id {row.storyteller_id}" if row.storyteller_id else "",
            )
        )
    return entries


def _previous_records(records: list[HistoricalChanges]) -> dict[tuple[type, int], HistoricalChanges]:
    """Find each record's predecessor with one query per model, instead of one per record."""
    by_model: dict[type, list[HistoricalChanges]] = {}
    for record in records:
        by_model.setdefault(type(record), []).append(record)
    previous = {}
    for history_model, model_records in by_model.items():
        object_ids = {record.id for record in model_records}
        latest = max(record.history_date for record in model_records)
        chains: dict[int, list[HistoricalChanges]] = {}
        for row in history_model.objects.filter(id__in=object_ids, history_date__lte=latest).order_by(
            "history_date", "history_id"
        ):
            chains.setdefault(row.id, []).append(row)
        for chain in chains.values():
            for earlier, later in zip(chain, chain[1:], strict=False):
                previous[(history_model, later.history_id)] = earlier
    return previous


def audit_csv(entries: list[AuditEntry]) -> str:
    """Serialise entries for export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["when", "who", "action", "model", "object_id", "field", "before", "after"])
    for entry in entries:
        writer.writerow(
            [
                entry.when.isoformat(),
                entry.who,
                entry.action,
                entry.model,
                entry.object_id,
                entry.field,
                entry.before,
                entry.after,
            ]
        )
    return buffer.getvalue()
