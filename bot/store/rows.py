"""Rows of the database as the domain's records (``bot.domain.records``)."""

from __future__ import annotations

import json

from bot.domain import (
    ActionKind,
    Case,
    CaseOutcome,
    CaseStatus,
    Delivery,
    DeliveryStatus,
    Evidence,
    GuildSettings,
    Note,
    NoteKind,
    Report,
    ReportLimits,
    ReportStatus,
    ReviewMode,
)
from bot.i18n.text import from_json
from bot.store.database import Row

_REPORT_FIELDS = frozenset(Report.__dataclass_fields__)
_DELIVERY_FIELDS = tuple(Delivery.__dataclass_fields__)


def report_from_row(row: Row) -> Report:
    data = {k: row[k] for k in row.keys() if k in _REPORT_FIELDS}
    data["evidence"] = tuple(Evidence.from_json(e) for e in json.loads(row["evidence"]))
    data["status"] = ReportStatus(row["status"])
    return Report(**data)


def note_from_row(r: Row) -> Note:
    return Note(r["id"], r["report_id"], r["author_id"], NoteKind(r["kind"]), r["body"],
                r["created_at"])


def delivery_from_row(row: Row) -> Delivery:
    data = {k: row[k] for k in _DELIVERY_FIELDS}
    data["status"] = DeliveryStatus(row["status"])
    data["last_error"] = stored_error(row["last_error"], row["last_error_words"])
    return Delivery(**data)


def stored_error(last_error: str | None, words: str | None) -> str | None:
    """A row's error as its message when its words were stored (rendered per reader; its
    ``str`` is the English), else the English text as written before."""
    if words is None or last_error is None:
        return last_error
    return from_json(json.loads(words))


def guild_from_row(row: Row) -> GuildSettings:
    return GuildSettings(
        guild_id=row["guild_id"],
        review_channel_id=row["review_channel_id"],
        moderator_role_id=row["moderator_role_id"],
        review_mode=ReviewMode(row["review_mode"]),
        limits=ReportLimits(
            short_count=row["limit_short_count"],
            short_seconds=row["limit_short_seconds"],
            hour_count=row["limit_hour_count"],
            day_count=row["limit_day_count"],
            target_cooldown_hours=row["target_cooldown_hours"],
        ),
        audit_channel_id=row["audit_channel_id"],
        language=row["language"],
        dm_before_removal=bool(row["dm_before_removal"]),
    )


def case_from_row(row: Row) -> Case:
    outcome = None
    if row["outcome"] is not None:
        kind = row["action_kind"]
        outcome = CaseOutcome(ActionKind(kind) if row["outcome"] == "action" and kind else None)
    return Case(
        id=row["id"], guild_id=row["guild_id"], lead_report_id=row["lead_report_id"],
        target_key=row["target_key"], activity_id=row["activity_id"],
        status=CaseStatus(row["status"]), claimed_by=row["claimed_by"],
        decided_by=row["decided_by"], outcome=outcome, note=row["note"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        decided_at=row["decided_at"],
    )
