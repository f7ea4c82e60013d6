"""The durable outbox: one row per report and destination.

A row moves pending -> in_flight -> sent | handed_off | failed, or back to pending
with a later ``next_attempt_at``. A crash leaves a row in_flight; on start-up such
rows return to pending (only those whose lease ran out, when several processes share
the database), and because their ``attempts`` is above zero the worker
reconciles with the upstream before sending again.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

from bot.domain import FINAL_DELIVERY_STATUSES, Delivery, Report
from bot.i18n.text import Text, t, to_json
from bot.store import audit
from bot.store.database import Conn, Database
from bot.store.notices import queue_outcome_if_final
from bot.store.reports import GET_SQL, guild_of
from bot.store.rows import delivery_from_row, report_from_row, stored_error

FOR_REPORT_SQL = "SELECT * FROM deliveries WHERE report_id = ? ORDER BY destination"
_DUE_SQL = ("SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at LIMIT ?")
_NEXT_DUE_SQL = "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'"


def _claim(conn: Conn, report_id: int, destination: str, now: float,
           lease: Lease) -> Delivery | None:
    # A conditional UPDATE: of processes claiming the same row at once, exactly one
    # matches ``status = 'pending'`` (PostgreSQL re-checks it after the row lock).
    rows = conn.execute(
        "UPDATE deliveries SET status = 'in_flight', attempts = attempts + 1,"
        " updated_at = ?, claimed_by = ?, lease_until = ?"
        " WHERE report_id = ? AND destination = ? AND status = 'pending'"
        " RETURNING *",
        (now, lease.owner, now + lease.seconds, report_id, destination),
    ).fetchall()
    return delivery_from_row(rows[0]) if len(rows) == 1 else None

INTERRUPTED = t("interrupted: Warden stopped during an attempt, which may have reached the "
                "upstream")
RESEND_CONFIRMED = "may have landed: a moderator confirmed sending it again: "
"""A failed "may have landed" row a moderator chose to send again; the original error
follows. Still "may have landed", so senders that can check upstream still do."""
RESTORED = t("restored from a backup: this delivery may have been made after the backup was "
             "taken, so it is checked with the upstream before any resend")


def _resend_confirmed(error: str) -> Text:
    # i18n: a delivery's error on the review post; {error} is the earlier error, itself
    # starting with "may have landed:". The English must start with these exact words.
    return t("may have landed: a moderator confirmed sending it again: {error}", error=error)


def error_words(error: str | None) -> str | None:
    """The ``last_error_words`` column for ``error``: its message as JSON, so each reader
    reads it in their own language; None for a plain string (nothing to translate)."""
    return json.dumps(to_json(error)) if isinstance(error, Text) else None


def _error_details(error: str | None) -> dict[str, object]:
    # Only new audit rows get the key: the chain hashes details, old rows stay as written.
    return {"error_words": to_json(error)} if isinstance(error, Text) else {}


DEFAULT_LEASE_SECONDS = 600.0
"""How long a claimed attempt belongs to its process: far longer than any attempt runs
(each HTTP call has its own timeout), so only a dead process's claims ever run out."""


@dataclass(frozen=True)
class Lease:
    owner: str
    seconds: float = DEFAULT_LEASE_SECONDS


def this_process(shards: str | None = None) -> str:
    """The claim owner: the host and the process's shards, the same again after a
    restart, so a restarted process takes back its own interrupted attempts at once."""
    return f"{socket.gethostname()}/{shards or 'all'}"


class DeliveryStore:
    def __init__(self, db: Database, lease: Lease | None = None) -> None:
        self._db = db
        self._lease = lease or Lease(this_process())

    async def for_report(self, report_id: int) -> list[Delivery]:
        rows = await self._db.fetch_all(FOR_REPORT_SQL, (report_id,))
        return [delivery_from_row(r) for r in rows]

    async def get(self, report_id: int, destination: str) -> Delivery | None:
        row = await self._db.fetch_one(
            "SELECT * FROM deliveries WHERE report_id = ? AND destination = ?",
            (report_id, destination),
        )
        return None if row is None else delivery_from_row(row)

    async def due_and_next(self, *, now: float, limit: int) -> tuple[list[Delivery], float | None]:
        """The pending rows due by ``now`` (oldest first, at most ``limit``) and when the
        earliest pending row is due, from one snapshot in one hop (the outbox asks both
        each time it looks)."""

        def read(conn: Conn) -> tuple[list[Delivery], float | None]:
            rows = conn.execute(_DUE_SQL, (now, limit)).fetchall()
            earliest = conn.execute(_NEXT_DUE_SQL).fetchall()[0][0]
            return ([delivery_from_row(r) for r in rows],
                    None if earliest is None else float(earliest))

        return await self._db.read(read)

    async def backlog(self) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'in_flight')"
            )
            or 0
        )

    async def recover_in_flight(self, *, now: float | None = None, own: bool = True) -> int:
        """After a restart: attempts that were running when their process died go back
        to pending (to be reconciled before any resend). Only claims whose lease ran
        out, this process's own (it is not running them), or claims from before leases:
        another live process's attempts stay its own. ``own=False`` (the periodic sweep
        of a running process) leaves this process's claims alone."""
        at = time.time() if now is None else now
        owner = self._lease.owner if own else None

        def recover(conn: Conn) -> int:
            # last_error is overwritten so that nobody mistakes the interrupted attempt
            # for the earlier, settled one: it may have reached the upstream.
            count = conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?,"
                " last_error = ?, last_error_words = ?, claimed_by = NULL, lease_until = NULL"
                " WHERE status = 'in_flight' AND (lease_until IS NULL OR lease_until < ?"
                " OR claimed_by = ?)",
                (at, at, INTERRUPTED, error_words(INTERRUPTED), at, owner),
            ).rowcount
            if count:
                audit.append(conn, "delivery.recovered", details={"rows": count}, at=at)
            return count

        return await self._db.write(recover)

    async def mark_restored(self, backup_name: str) -> int:
        """After a restore: every unfinished row may have been delivered after the backup
        was taken, so none may be sent without first checking with the upstream."""
        now = time.time()

        def mark(conn: Conn) -> int:
            count = conn.execute(
                "UPDATE deliveries SET last_error = ?, last_error_words = ?, updated_at = ?"
                " WHERE status IN ('pending', 'in_flight', 'held')",
                (RESTORED, error_words(RESTORED), now),
            ).rowcount
            audit.append(conn, "backup.restored",
                         details={"backup": backup_name, "unfinished_deliveries": count},
                         at=now)
            return count

        return await self._db.write(mark)

    async def start_attempt(self, report_id: int, destination: str) -> Delivery | None:
        """Claim a pending row for one attempt; None if someone else has it or it is done."""
        now = time.time()
        return await self._db.write(
            lambda conn: _claim(conn, report_id, destination, now, self._lease))

    async def start_attempt_with_report(
        self, report_id: int, destination: str
    ) -> tuple[Delivery, Report | None] | None:
        """``start_attempt``, and the report to send, read in the same hop."""
        now = time.time()

        def claim(conn: Conn) -> tuple[Delivery, Report | None] | None:
            claimed = _claim(conn, report_id, destination, now, self._lease)
            if claimed is None:
                return None
            rows = conn.execute(GET_SQL, (report_id,)).fetchall()
            return claimed, report_from_row(rows[0]) if rows else None

        return await self._db.write(claim)

    async def finish(
        self,
        report_id: int,
        destination: str,
        *,
        status: str,
        upstream_id: str | None = None,
        handoff_url: str | None = None,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record a final outcome (sent, handed_off, failed, skipped) with its audit row."""
        if status not in FINAL_DELIVERY_STATUSES:
            raise ValueError(f"{status!r} is not a final delivery status")
        now = time.time()

        def finish(conn: Conn) -> None:
            conn.execute(
                "UPDATE deliveries SET status = ?, upstream_id = COALESCE(?, upstream_id),"
                " handoff_url = COALESCE(?, handoff_url), last_error = ?, last_error_words = ?,"
                " updated_at = ?, completed_at = ? WHERE report_id = ? AND destination = ?",
                (status, upstream_id, handoff_url, error, error_words(error), now, now,
                 report_id, destination),
            )
            # Committed with the last final delivery, so no crash can lose the outcome.
            queue_outcome_if_final(conn, report_id, FINAL_DELIVERY_STATUSES, now)
            audit.append(
                conn,
                f"delivery.{status}",
                report_id=report_id,
                guild_id=guild_of(conn, report_id),
                details={"destination": destination, "upstream_id": upstream_id,
                         "error": error, **_error_details(error), **(details or {})},
                at=now,
            )

        await self._db.write(finish)

    async def retry_later(
        self, report_id: int, destination: str, *, at: float, error: str
    ) -> None:
        now = time.time()

        def retry(conn: Conn) -> None:
            conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, last_error = ?,"
                " last_error_words = ?, updated_at = ? WHERE report_id = ? AND destination = ?",
                (at, error, error_words(error), now, report_id, destination),
            )
            audit.append(
                conn,
                "delivery.retry_scheduled",
                report_id=report_id,
                guild_id=guild_of(conn, report_id),
                details={"destination": destination, "error": error, **_error_details(error),
                         "next_attempt_at": at},
                at=now,
            )

        await self._db.write(retry)

    async def requeue_failed(
        self, report_id: int, destination: str, *, actor_id: int | None,
        confirm_resend: bool = False,
    ) -> bool:
        """A moderator's "retry delivery": failed -> pending, with a fresh attempt budget.
        ``confirm_resend``: the moderator confirmed sending one that may have landed."""
        now = time.time()

        def requeue(conn: Conn) -> bool:
            error: Text | None = None
            if confirm_resend:
                # The earlier error becomes a parameter of the confirmation's message, so
                # it is read back in the reader's language too (as stored, if plain).
                rows = conn.execute(
                    "SELECT last_error, last_error_words FROM deliveries"
                    " WHERE report_id = ? AND destination = ? AND status = 'failed'",
                    (report_id, destination),
                ).fetchall()
                if rows:
                    error = _resend_confirmed(stored_error(rows[0][0], rows[0][1]) or "")
            cur = conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
                " updated_at = ?, completed_at = NULL,"
                " last_error = COALESCE(?, last_error),"
                " last_error_words = COALESCE(?, last_error_words)"
                " WHERE report_id = ? AND destination = ? AND status = 'failed'",
                (now, now, error, error_words(error), report_id, destination),
            )
            if cur.rowcount != 1:
                return False
            audit.append(
                conn,
                "delivery.requeued",
                report_id=report_id,
                actor_id=actor_id,
                guild_id=guild_of(conn, report_id),
                details={"destination": destination,
                         **({"confirmed_may_have_landed": True} if confirm_resend else {})},
                at=now,
            )
            return True

        return await self._db.write(requeue)

    async def for_guild(
        self, guild_id: int, since: float | None, until: float | None
    ) -> list[Delivery]:
        """Deliveries of the server's accepted reports created in [since, until), for exports."""
        sql = (
            "SELECT d.* FROM deliveries d JOIN reports r ON r.id = d.report_id"
            " WHERE r.guild_id = ? AND r.accepted_at IS NOT NULL"
        )
        params: list[Any] = [guild_id]
        if since is not None:
            sql += " AND r.created_at >= ?"
            params.append(since)
        if until is not None:
            sql += " AND r.created_at < ?"
            params.append(until)
        rows = await self._db.fetch_all(sql + " ORDER BY d.report_id, d.destination", params)
        return [delivery_from_row(r) for r in rows]

    async def outcome_counts(
        self, guild_id: int, since: float | None, until: float | None
    ) -> dict[tuple[str, str], int]:
        sql = (
            "SELECT d.destination, d.status, COUNT(*) FROM deliveries d"
            " JOIN reports r ON r.id = d.report_id WHERE r.guild_id = ?"
        )
        params: list[Any] = [guild_id]
        if since is not None:
            sql += " AND r.created_at >= ?"
            params.append(since)
        if until is not None:
            sql += " AND r.created_at < ?"
            params.append(until)
        rows = await self._db.fetch_all(sql + " GROUP BY d.destination, d.status", params)
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    async def last_success(self) -> dict[str, float]:
        rows = await self._db.fetch_all(
            "SELECT destination, MAX(completed_at) FROM deliveries"
            " WHERE status IN ('sent', 'handed_off') GROUP BY destination"
        )
        return {str(r[0]): float(r[1]) for r in rows if r[1] is not None}


