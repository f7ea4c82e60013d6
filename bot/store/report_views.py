"""A report together with what hangs off it, each read in one hop from one snapshot.

The report flow and the review post read a report with its deliveries (is it
settled?) or with everything a review card shows, several times per report: as
separate reads that was up to four round trips to the reader's thread each time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Delivery, Note, Report
from bot.store import audit, deliveries, reports
from bot.store.audit import AuditEntry
from bot.store.database import Conn, Database
from bot.store.rows import delivery_from_row, note_from_row, report_from_row


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
            return WithHistory(
                report,
                _deliveries(conn, report_id),
                [note_from_row(r) for r in conn.execute(reports.NOTES_SQL, (report_id,))],
                [AuditEntry.from_row(r)
                 for r in conn.execute(audit.FOR_REPORT_SQL, (report_id,))],
            )

        return await self._db.read(read)
