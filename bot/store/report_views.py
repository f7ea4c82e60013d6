"""A report together with what hangs off it, each read in one hop from one snapshot.

The report flow and the review post read a report with its deliveries (is it
settled?) or with everything a review card shows, several times per report: as
separate reads that was up to four round trips to the reader's thread each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain import Case, Delivery, Note, Report
from bot.store import audit, cases, deliveries, reports
from bot.store.audit import AuditEntry
from bot.store.database import Conn, Database
from bot.store.rows import case_from_row, delivery_from_row, note_from_row, report_from_row


@dataclass(frozen=True)
class WithDeliveries:
    report: Report
    deliveries: list[Delivery]


@dataclass(frozen=True)
class WithHistory:
    """Everything a review card shows."""

    report: Report
    deliveries: list[Delivery]
    notes: list[Note]
    history: list[AuditEntry]
    case: Case | None = None
    case_reports: list[Report] = field(default_factory=list)
    """Every report of the case, the lead first."""
    case_deliveries: list[Delivery] = field(default_factory=list)
    """The deliveries of every report of the case."""
    earlier_cases: list[Case] = field(default_factory=list)
    """The player's three newest earlier cases in this server, newest first."""
    earlier_total: int = 0

    @property
    def lead(self) -> Report:
        return self.case_reports[0] if self.case_reports else self.report


def _report(conn: Conn, report_id: int) -> Report | None:
    rows = conn.execute(reports.GET_SQL, (report_id,)).fetchall()
    return report_from_row(rows[0]) if rows else None


def _deliveries(conn: Conn, report_id: int) -> list[Delivery]:
    return [delivery_from_row(r)
            for r in conn.execute(deliveries.FOR_REPORT_SQL, (report_id,)).fetchall()]


class ReportViews:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def with_deliveries(self, report_id: int) -> WithDeliveries | None:
        def read(conn: Conn) -> WithDeliveries | None:
            report = _report(conn, report_id)
            return None if report is None else WithDeliveries(report,
                                                              _deliveries(conn, report_id))

        return await self._db.read(read)

    async def with_history(self, report_id: int) -> WithHistory | None:
        def read(conn: Conn) -> WithHistory | None:
            report = _report(conn, report_id)
            if report is None:
                return None
            found = [] if report.case_id is None else conn.execute(
                cases.CASE_SQL, (report.case_id,)).fetchall()
            case = case_from_row(found[0]) if found else None
            members = [] if case is None else [
                report_from_row(r) for r in conn.execute(cases.CASE_REPORTS_SQL, (case.id,))]
            lead_id = report_id if case is None else case.lead_report_id
            earlier: list[Case] = []
            total = 0
            if case is not None:
                earlier = [case_from_row(r) for r in conn.execute(
                    "SELECT * FROM cases WHERE guild_id = ? AND target_key = ? AND id < ?"
                    " ORDER BY id DESC LIMIT 3", (case.guild_id, case.target_key, case.id))]
                total = int(conn.execute(
                    "SELECT COUNT(*) FROM cases WHERE guild_id = ? AND target_key = ?"
                    " AND id < ?", (case.guild_id, case.target_key, case.id)).fetchall()[0][0])
            return WithHistory(
                report,
                _deliveries(conn, report_id),
                [note_from_row(r) for r in conn.execute(reports.NOTES_SQL, (report_id,))],
                [AuditEntry.from_row(r)
                 for r in conn.execute(audit.FOR_REPORT_SQL, (lead_id,))],
                case=case,
                case_reports=members,
                case_deliveries=[d for m in members for d in _deliveries(conn, m.id)],
                earlier_cases=earlier,
                earlier_total=total,
            )

        return await self._db.read(read)
