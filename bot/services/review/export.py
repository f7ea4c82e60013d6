"""Reports, deliveries and audit events of one server as CSV and JSON Lines files.

Both formats carry the same rows and columns. CSV cells that a spreadsheet would run
as a formula (text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return)
are prefixed with an apostrophe, because report descriptions are written by members.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import Delivery, Report
from bot.services.review.dates import iso_time
from bot.store.audit import AuditEntry

REPORT_COLUMNS = (
    "report_id", "number", "status", "reason", "created_at", "accepted_at", "reporter_id",
    "target_key", "target_discord_id", "target_bungie_name", "target_bungie_membership_id",
    "target_bungie_membership_type", "target_character_id", "target_game_name",
    "target_player_uuid", "activity_id", "activity_mode", "activity_hash", "activity_period",
    "match_id", "description", "evidence", "case_id", "purged_at",
)
DELIVERY_COLUMNS = (
    "report_id", "number", "destination", "status", "attempts", "upstream_id", "handoff_url",
    "last_error", "created_at", "updated_at", "completed_at",
)
AUDIT_COLUMNS = (
    "id", "at", "guild_id", "actor_id", "action", "report_id", "details", "prev_hash", "hash",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes


@dataclass(frozen=True)
class ExportBundle:
    files: tuple[ExportFile, ...]
    reports: int
    deliveries: int
    audit_events: int

    @property
    def size(self) -> int:
        return sum(len(f.data) for f in self.files)


def report_row(report: Report) -> dict[str, Any]:
    return {
        "report_id": report.id,
        "number": report.number,
        "status": report.status,
        "reason": report.reason,
        "created_at": iso_time(report.created_at),
        "accepted_at": iso_time(report.accepted_at),
        "reporter_id": report.reporter_id,
        "target_key": report.target_key,
        "target_discord_id": report.target_discord_id,
        "target_bungie_name": report.target_bungie_name,
        "target_bungie_membership_id": report.target_bungie_membership_id,
        "target_bungie_membership_type": report.target_bungie_membership_type,
        "target_character_id": report.target_character_id,
        "target_game_name": report.target_game_name,
        "target_player_uuid": report.target_player_uuid,
        "activity_id": report.activity_id,
        "activity_mode": report.activity_mode,
        "activity_hash": report.activity_hash,
        "activity_period": report.activity_period,
        "match_id": report.match_id,
        "description": report.description,
        "evidence": " ".join(e.url or e.filename or e.kind for e in report.evidence),
        "case_id": report.case_id,
        "purged_at": iso_time(report.purged_at),
    }


def delivery_row(delivery: Delivery, number: int | None) -> dict[str, Any]:
    return {
        "report_id": delivery.report_id,
        "number": number,
        "destination": delivery.destination,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "upstream_id": delivery.upstream_id,
        "handoff_url": delivery.handoff_url,
        "last_error": delivery.last_error,
        "created_at": iso_time(delivery.created_at),
        "updated_at": iso_time(delivery.updated_at),
        "completed_at": iso_time(delivery.completed_at),
    }


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso_time(entry.at),
        "guild_id": entry.guild_id,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "report_id": entry.report_id,
        # The exact JSON the hash covers, so a reader can re-check it.
        "details": entry.details_json,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in columns])
    return buffer.getvalue().encode("utf-8")


def to_jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def build_bundle(
    *,
    stem: str,
    reports: Sequence[Report],
    deliveries: Sequence[Delivery],
    audit: Sequence[AuditEntry],
) -> ExportBundle:
    numbers = {r.id: r.number for r in reports}
    tables = (
        ("reports", REPORT_COLUMNS, [report_row(r) for r in reports]),
        ("deliveries", DELIVERY_COLUMNS,
         [delivery_row(d, numbers.get(d.report_id)) for d in deliveries]),
        ("audit", AUDIT_COLUMNS, [audit_row(e) for e in audit]),
    )
    files: list[ExportFile] = []
    for name, columns, rows in tables:
        files.append(ExportFile(f"{stem}-{name}.csv", to_csv(columns, rows)))
        files.append(ExportFile(f"{stem}-{name}.jsonl", to_jsonl(rows)))
    return ExportBundle(tuple(files), len(reports), len(deliveries), len(audit))
