"""Cases: one per incident, holding what moderators did about its reports.

A report joins its server's undecided case of the same player for the same activity
(or, without an activity, one whose newest report is within the target cooldown), in
the transaction that accepts it; otherwise it opens a case of its own. Every change of
a case is one conditional update with its audit row (and the reporters' notices), so of
two moderators pressing at once exactly one succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import Case, CaseOutcome, CaseStatus, Report, ReportLimits
from bot.store import audit
from bot.store.database import Conn, Database, Row
from bot.store.notices import NewNotice, queue
from bot.store.rows import case_from_row, report_from_row

CASE_SQL = "SELECT * FROM cases WHERE id = ?"
CASE_REPORTS_SQL = "SELECT * FROM reports WHERE case_id = ? ORDER BY id"
_JOIN_BY_ACTIVITY_SQL = (
    "SELECT id FROM cases WHERE guild_id = ? AND target_key = ? AND status IN ('open', 'claimed')"
    " AND activity_id = ? ORDER BY id DESC LIMIT 1"
)
_JOIN_BY_COOLDOWN_SQL = (
    "SELECT c.id FROM cases c WHERE c.guild_id = ? AND c.target_key = ?"
    " AND c.status IN ('open', 'claimed') AND c.activity_id IS NULL"
    " AND (SELECT MAX(r.accepted_at) FROM reports r WHERE r.case_id = c.id) > ?"
    " ORDER BY c.id DESC LIMIT 1"
)


def open_or_join_case(conn: Conn, report: Row, limits: ReportLimits,
                      now: float) -> tuple[int, bool]:
    """Inside the accepting transaction: the case ``report`` belongs to, and whether it
    joined an existing one."""
    guild_id, target_key, activity_id = report["guild_id"], report["target_key"], \
        report["activity_id"]
    found: list[Row] = []
    if activity_id is not None:
        found = conn.execute(_JOIN_BY_ACTIVITY_SQL,
                             (guild_id, target_key, activity_id)).fetchall()
    elif limits.target_cooldown_hours > 0:
        found = conn.execute(_JOIN_BY_COOLDOWN_SQL, (
            guild_id, target_key, now - limits.target_cooldown_hours * 3600.0)).fetchall()
    if found:
        return int(found[0][0]), True
    made = conn.execute(
        "INSERT INTO cases (guild_id, lead_report_id, target_key, activity_id, status,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 'open', ?, ?) RETURNING id",
        (guild_id, report["id"], target_key, activity_id, now, now),
    ).fetchall()
    return int(made[0][0]), False


@dataclass(frozen=True)
class CaseWithReports:
    case: Case
    reports: list[Report]


@dataclass(frozen=True)
class CaseChange:
    """A conditional change of a case (see ``CaseStore.change``)."""

    from_statuses: Sequence[str]
    to_status: str | None
    """None keeps the status (an approval releases deliveries, it decides nothing)."""
    action: str
    details: dict[str, Any]
    claimed_by: int | None = None
    set_claimed_by: bool = False
    decided_by: int | None = None
    outcome: CaseOutcome | None = None
    note: str | None = None
    release_held: bool = False
    skip_held: bool = False
    allow_claimed_by: int | None = None


class CaseStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, case_id: int) -> Case | None:
        row = await self._db.fetch_one(CASE_SQL, (case_id,))
        return None if row is None else case_from_row(row)

    async def with_reports(self, case_id: int) -> CaseWithReports | None:
        def read(conn: Conn) -> CaseWithReports | None:
            found = conn.execute(CASE_SQL, (case_id,)).fetchall()
            if not found:
                return None
            return CaseWithReports(case_from_row(found[0]), [
                report_from_row(r) for r in conn.execute(CASE_REPORTS_SQL, (case_id,))])

        return await self._db.read(read)

    async def statuses(self, case_ids: Sequence[int]) -> dict[int, CaseStatus]:
        if not case_ids:
            return {}
        marks = ", ".join("?" for _ in case_ids)
        rows = await self._db.fetch_all(
            f"SELECT id, status FROM cases WHERE id IN ({marks})", list(case_ids))  # noqa: S608
        return {int(r[0]): CaseStatus(r[1]) for r in rows}

    async def of_player(self, guild_id: int, target_key: str, *, before_id: int | None = None,
                        limit: int = 1000) -> tuple[list[Case], int]:
        """The player's cases in this server, newest first (those before ``before_id``),
        and how many there are."""
        bound = before_id if before_id is not None else 2**62

        def read(conn: Conn) -> tuple[list[Case], int]:
            total = conn.execute(
                "SELECT COUNT(*) FROM cases WHERE guild_id = ? AND target_key = ? AND id < ?",
                (guild_id, target_key, bound)).fetchall()[0][0]
            rows = conn.execute(
                "SELECT * FROM cases WHERE guild_id = ? AND target_key = ? AND id < ?"
                " ORDER BY id DESC LIMIT ?", (guild_id, target_key, bound, limit)).fetchall()
            return [case_from_row(r) for r in rows], int(total)

        return await self._db.read(read)

    async def change(self, case_id: int, change: CaseChange, *, actor_id: int | None,
                     notices: Sequence[tuple[int, NewNotice]] = ()) -> Case | None:
        """Apply ``change`` if the case is in one of its ``from_statuses`` (and, with
        ``allow_claimed_by``, unclaimed or claimed by that member); None otherwise.

        ``release_held`` moves every held delivery of the case's reports to pending,
        ``skip_held`` marks them skipped; ``notices`` (report id, notice) are queued for
        reporters, all in the same transaction as the audit row."""
        now = time.time()
        sets = ["status = COALESCE(?, status)", "updated_at = ?"]
        params: list[Any] = [change.to_status, now]
        if change.set_claimed_by:
            sets.append("claimed_by = ?")
            params.append(change.claimed_by)
        if change.decided_by is not None:
            sets += ["decided_by = ?", "decided_at = ?", "note = ?", "outcome = ?",
                     "action_kind = ?"]
            outcome = change.outcome
            params += [
                change.decided_by, now, change.note,
                None if outcome is None else ("action" if outcome.action_taken else "no_action"),
                None if outcome is None or outcome.action is None else outcome.action.value,
            ]
        marks = ", ".join("?" for _ in change.from_statuses)
        where = f"id = ? AND status IN ({marks})"
        where_params: list[Any] = [case_id, *change.from_statuses]
        if change.allow_claimed_by is not None:
            where += " AND (claimed_by IS NULL OR claimed_by = ?)"
            where_params.append(change.allow_claimed_by)
        update = f"UPDATE cases SET {', '.join(sets)} WHERE {where} RETURNING *"  # noqa: S608

        def apply(conn: Conn) -> Case | None:
            found = conn.execute(update, (*params, *where_params)).fetchall()
            if len(found) != 1:
                return None
            case = case_from_row(found[0])
            held = None
            if change.release_held:
                held = ("pending", "next_attempt_at = ?, completed_at = NULL", [now])
            elif change.skip_held:
                held = ("skipped", "completed_at = ?", [now])
            if held is not None:
                status, extra, values = held
                conn.execute(
                    f"UPDATE deliveries SET status = ?, updated_at = ?, {extra}"  # noqa: S608 - constant
                    " WHERE status = 'held' AND report_id IN"
                    " (SELECT id FROM reports WHERE case_id = ?)",
                    (status, now, *values, case_id),
                )
            audit.append(
                conn, change.action, guild_id=case.guild_id, actor_id=actor_id,
                report_id=case.lead_report_id,
                details={"case_id": case_id, "status": case.status.value, **change.details},
                at=now,
            )
            for report_id, notice in notices:
                queue(conn, report_id, notice, now)
            return case

        return await self._db.write(apply)
