"""Reports: drafts, acceptance (with the durable limits), moderation state, notes.

Acceptance is one transaction: the limits are re-checked against accepted reports,
the report becomes ``open``, one delivery row per destination is written, and the
audit row is appended. Only after it commits may anything be sent anywhere.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import NewReport, Note, NoteKind, Report, ReportLimits
from bot.store import audit
from bot.store.cases import open_or_join_case
from bot.store.database import Conn, Database, Row, hold_lock
from bot.store.notices import LiveReply, NewNotice, queue
from bot.store.rows import note_from_row, report_from_row

DAY = 86400.0


_NEW_COLUMNS = [f for f in NewReport.__dataclass_fields__ if f != "evidence"]
GET_SQL = "SELECT * FROM reports WHERE id = ?"
NOTES_SQL = "SELECT * FROM report_notes WHERE report_id = ? ORDER BY id"
_INSERT_DRAFT_SQL = (
    f"INSERT INTO reports ({', '.join(_NEW_COLUMNS)}, evidence, number, status,"  # noqa: S608 - column names are constants
    f" created_at, updated_at) VALUES ({', '.join('?' for _ in _NEW_COLUMNS)}, ?, ?, 'draft',"
    " ?, ?) RETURNING *"
)


@dataclass(frozen=True)
class LimitHit:
    """Why a report may not be accepted now; ``retry_at`` is None when never."""

    rule: str  # "short" | "hour" | "day" | "target_activity" | "target_cooldown"
    retry_at: float | None


@dataclass(frozen=True)
class Accepted:
    report: Report


@dataclass(frozen=True)
class ReportFilter:
    guild_id: int
    status: str | None = None
    reason: str | None = None
    target_key: str | None = None
    reporter_id: int | None = None
    since: float | None = None
    until: float | None = None
    # Free text naming the target on any side: a Discord id, Bungie membership id, player
    # uuid, canonical target key, or a Bungie or game display name (case-insensitive).
    target_query: str | None = None


class ReportStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- creation -------------------------------------------------------------------
    async def create_draft(self, new: NewReport, *, now: float | None = None) -> Report:
        """Store a draft with the next per-server number (numbered inside the write
        transaction); returns it as stored."""
        when = time.time() if now is None else now
        values = [getattr(new, c) for c in _NEW_COLUMNS]
        evidence = json.dumps([e.to_json() for e in new.evidence])

        def create(conn: Conn) -> Report:
            # A counter row per server (its row lock orders concurrent drafts across
            # processes); the first draft of a server after the upgrade seeds it from
            # the numbers already used.
            number = conn.execute(
                "INSERT INTO report_counters (guild_id, last_number) SELECT ?,"
                " COALESCE(MAX(number), 0) + 1 FROM reports WHERE guild_id = ?"
                " ON CONFLICT (guild_id) DO UPDATE SET"
                " last_number = report_counters.last_number + 1 RETURNING last_number",
                (new.guild_id, new.guild_id),
            ).fetchall()[0][0]
            stored = conn.execute(
                _INSERT_DRAFT_SQL, (*values, evidence, number, when, when)
            ).fetchall()
            return report_from_row(stored[0])

        return await self._db.write(create)

    async def accept(
        self,
        report_id: int,
        *,
        limits: ReportLimits,
        deliveries: Sequence[tuple[str, str]],
        actor_id: int,
        now: float | None = None,
        live: LiveReply | None = None,
    ) -> Accepted | LimitHit | None:
        """Turn a draft into an accepted report with its delivery rows, or say why not.

        ``deliveries`` lists (destination, initial status) pairs; ``live``: the process
        holding the member's open interaction, recorded in the same transaction so no
        process can settle the outcome before it is known. Returns None when the report
        is not a draft any more (already confirmed or cancelled).
        """
        when = time.time() if now is None else now

        def accept(conn: Conn) -> Accepted | LimitHit | None:
            found = conn.execute(
                "SELECT * FROM reports WHERE id = ? AND status = 'draft'", (report_id,)
            ).fetchall()
            if not found:
                return None
            row = found[0]
            # Check-then-accept is atomic per member and server across processes.
            hold_lock(conn, "report limits", row["guild_id"], row["reporter_id"])
            hit = _limit_hit(conn, row, limits, when)
            if hit is not None:
                return hit
            case_id, joined = open_or_join_case(conn, row, limits, when)
            accepted = conn.execute(
                "UPDATE reports SET status = 'accepted', accepted_at = ?, updated_at = ?,"
                " uuid = COALESCE(uuid, ?), case_id = ?, live_owner = ?, live_until = ?"
                " WHERE id = ? RETURNING *",
                (when, when, str(uuid.uuid4()), case_id,
                 None if live is None else live.owner, None if live is None else live.until,
                 report_id),
            ).fetchall()[0]
            conn.executemany(
                "INSERT INTO deliveries (report_id, destination, status, next_attempt_at,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(report_id, dest, status, when, when, when) for dest, status in deliveries],
            )
            audit.append(
                conn,
                "report.accepted",
                guild_id=row["guild_id"],
                actor_id=actor_id,
                report_id=report_id,
                details={
                    "number": row["number"],
                    "reason": row["reason"],
                    "target": row["target_key"],
                    "activity_id": row["activity_id"],
                    "deliveries": {dest: status for dest, status in deliveries},
                    "case_id": case_id,
                    "joined_case": joined,
                },
                at=when,
            )
            return Accepted(report_from_row(accepted))

        return await self._db.write(accept)

    async def check_limits(
        self, guild_id: int, reporter_id: int, target_key: str, activity_id: int | None,
        limits: ReportLimits, *, now: float | None = None,
    ) -> LimitHit | None:
        """The same checks ``accept`` makes, for an early answer before a draft is stored."""
        when = time.time() if now is None else now
        row = {"guild_id": guild_id, "reporter_id": reporter_id, "target_key": target_key,
               "activity_id": activity_id}
        # Up to two statements: one hop to the reader, from one snapshot.
        return await self._db.read(lambda conn: _limit_hit(conn, row, limits, when))

    async def cancel_draft(self, report_id: int, *, reporter_id: int) -> bool:
        return (
            await self._db.execute(
                "UPDATE reports SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND reporter_id = ? AND status = 'draft'",
                (time.time(), report_id, reporter_id),
            )
            == 1
        )

    async def expire_drafts(self, older_than: float) -> int:
        return await self._db.execute(
            "UPDATE reports SET status = 'cancelled', updated_at = ?"
            " WHERE status = 'draft' AND created_at < ?",
            (time.time(), older_than),
        )

    async def nth_unconfirmed_since(self, reporter_id: int, since: float, n: int) -> float | None:
        """When the member's ``n``-th newest never-confirmed draft since ``since`` was
        made, in any server; None when they made fewer."""
        value = await self._db.fetch_value(
            "SELECT created_at FROM reports WHERE reporter_id = ? AND accepted_at IS NULL"
            " AND created_at >= ? ORDER BY created_at DESC LIMIT 1 OFFSET ?",
            (reporter_id, since, max(n - 1, 0)),
        )
        return None if value is None else float(value)

    async def delete_unconfirmed(self, older_than: float) -> int:
        """Delete drafts never confirmed (pending, cancelled or expired) made before
        ``older_than``: they hold who looked up whom, and nothing refers to them."""
        return await self._db.execute(
            "DELETE FROM reports WHERE accepted_at IS NULL AND created_at < ?"
            " AND status IN ('draft', 'cancelled')",
            (older_than,),
        )

    # -- reading --------------------------------------------------------------------
    async def get(self, report_id: int) -> Report | None:
        row = await self._db.fetch_one(GET_SQL, (report_id,))
        return None if row is None else report_from_row(row)

    async def by_number(self, guild_id: int, number: int) -> Report | None:
        row = await self._db.fetch_one(
            "SELECT * FROM reports WHERE guild_id = ? AND number = ?", (guild_id, number)
        )
        return None if row is None else report_from_row(row)

    async def search(
        self, flt: ReportFilter, *, limit: int = 10, offset: int = 0
    ) -> tuple[list[Report], int]:
        """Accepted reports matching the filter, newest first, and the total count."""
        where, params = _filter_sql(flt)

        def page(conn: Conn) -> tuple[list[Report], int]:
            # The count and the page in one hop and from one snapshot, so they agree.
            total = conn.execute(
                f"SELECT COUNT(*) FROM reports WHERE {where}", params  # noqa: S608
            ).fetchall()[0][0]
            rows = conn.execute(
                f"SELECT * FROM reports WHERE {where} ORDER BY created_at DESC, id DESC"  # noqa: S608
                " LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            return [report_from_row(r) for r in rows], int(total or 0)

        return await self._db.read(page)

    async def matching(self, flt: ReportFilter) -> list[Report]:
        """Every accepted report matching the filter, oldest first (for exports)."""
        where, params = _filter_sql(flt)
        rows = await self._db.fetch_all(
            f"SELECT * FROM reports WHERE {where} ORDER BY created_at, id",  # noqa: S608
            params,
        )
        return [report_from_row(r) for r in rows]

    async def counts(self, flt: ReportFilter, column: str) -> dict[str, int]:
        """Accepted reports matching the filter, counted by ``reason`` or by their case's
        ``status``."""
        if column not in ("reason", "status"):
            raise ValueError(f"cannot count by {column!r}")
        where, params = _filter_sql(flt)
        key = "(SELECT status FROM cases WHERE cases.id = case_id)" if column == "status" \
            else column
        rows = await self._db.fetch_all(
            f"SELECT {key}, COUNT(*) FROM reports WHERE {where} GROUP BY 1",  # noqa: S608
            params,
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def daily_counts(self, flt: ReportFilter) -> dict[tuple[str, str], int]:
        """Accepted reports matching the filter, counted by (UTC day, reason)."""
        where, params = _filter_sql(flt)
        sql = ("SELECT date(created_at, 'unixepoch'), reason, COUNT(*) FROM reports"  # noqa: S608
               f" WHERE {where} GROUP BY 1, 2")
        rows = await self._db.fetch_all(
            sql,
            params,
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    # -- moderation -----------------------------------------------------------------
    async def claim_review_post(self, report_id: int, *, seconds: float) -> float | None:
        """Claim posting or editing the report's review post until ``seconds`` from now,
        unless another process holds an unexpired claim; the claim's end, or None (0.0
        when there is no such report)."""
        now = time.time()
        until = now + seconds

        def claim(conn: Conn) -> float | None:
            claimed = conn.execute(
                "UPDATE reports SET post_claimed_until = ? WHERE id = ?"
                " AND (post_claimed_until IS NULL OR post_claimed_until <= ?)",
                (until, report_id, now),
            ).rowcount
            if claimed == 1:
                return until
            exists = conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchall()
            return None if exists else 0.0  # no such report: nothing to wait for

        return await self._db.write(claim)

    async def release_review_post(self, report_id: int, claim: float) -> None:
        await self._db.execute(
            "UPDATE reports SET post_claimed_until = NULL WHERE id = ? AND post_claimed_until = ?",
            (report_id, claim),
        )

    async def record_review_post(
        self, report_id: int, channel_id: int, message_id: int, *, details: dict[str, Any]
    ) -> None:
        """Remember where the review post is, with an audit row of what it carried."""
        now = time.time()

        def record(conn: Conn) -> None:
            found = conn.execute(
                "UPDATE reports SET review_channel_id = ?, review_message_id = ? WHERE id = ?"
                " RETURNING guild_id",
                (channel_id, message_id, report_id),
            ).fetchall()
            audit.append(
                conn,
                "review.posted",
                guild_id=found[0][0] if found else None,
                report_id=report_id,
                details={"channel_id": channel_id, "message_id": message_id, **details},
                at=now,
            )

        await self._db.write(record)

    async def without_review_post(
        self, guild_id: int, *, after_id: int = 0, limit: int
    ) -> list[Report]:
        """The oldest ``limit`` accepted, unpurged reports of a server after ``after_id``
        that have no review post, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM reports WHERE guild_id = ? AND id > ?"
            " AND accepted_at IS NOT NULL AND purged_at IS NULL AND review_message_id IS NULL"
            # A report that joined a case is shown on its lead report's post.
            " AND (case_id IS NULL OR id = (SELECT lead_report_id FROM cases"
            " WHERE cases.id = case_id))"
            " ORDER BY id LIMIT ?",
            (guild_id, after_id, limit),
        )
        return [report_from_row(r) for r in rows]

    async def purged_with_review_post(self, *, purged_after: float) -> list[Report]:
        """Purged reports that have a review post, purged after the given time, in the
        order they were purged."""
        rows = await self._db.fetch_all(
            "SELECT * FROM reports WHERE purged_at IS NOT NULL AND purged_at > ?"
            " AND review_message_id IS NOT NULL ORDER BY purged_at, id",
            (purged_after,),
        )
        return [report_from_row(r) for r in rows]

    async def add_note(
        self, report_id: int, *, author_id: int | None, kind: str, body: str
    ) -> Note:
        note, _ = await self.add_note_telling(report_id, author_id=author_id, kind=kind,
                                              body=body, notice=None)
        return note

    async def add_note_telling(
        self, report_id: int, *, author_id: int | None, kind: str, body: str,
        notice: NewNotice | None,
    ) -> tuple[Note, int | None]:
        """The note, and the id of ``notice`` queued for the reporter with it."""
        now = time.time()

        def add(conn: Conn) -> tuple[int, int | None]:
            cur = conn.execute(
                "INSERT INTO report_notes (report_id, author_id, kind, body, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (report_id, author_id, kind, body, now),
            )
            note_id = int(cur.fetchall()[0][0])
            audit.append(
                conn,
                f"report.{kind}",
                guild_id=guild_of(conn, report_id),
                actor_id=author_id,
                report_id=report_id,
                details={"note_id": note_id, "length": len(body)},
                at=now,
            )
            return note_id, None if notice is None else queue(conn, report_id, notice, now)

        note_id, notice_id = await self._db.write(add)
        return Note(note_id, report_id, author_id, NoteKind(kind), body, now), notice_id

    async def notes(self, report_id: int) -> list[Note]:
        rows = await self._db.fetch_all(NOTES_SQL, (report_id,))
        return [note_from_row(r) for r in rows]

    async def count_accepted(self) -> int:
        return int(await self._db.fetch_value(
            "SELECT COUNT(*) FROM reports WHERE accepted_at IS NOT NULL") or 0)

    async def count_expired(self, older_than: float) -> int:
        """Reports whose content ``purge_expired`` would blank now."""
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM reports WHERE created_at < ? AND purged_at IS NULL",
                (older_than,),
            )
            or 0
        )

    async def purge_expired(self, older_than: float) -> list[int]:
        """Blank the content of reports older than the retention period (ids and the audit
        trail stay); returns their ids, so their review posts can be scrubbed too."""
        now = time.time()

        def purge(conn: Conn) -> list[int]:
            ids = [int(r[0]) for r in conn.execute(
                "SELECT id FROM reports WHERE created_at < ? AND purged_at IS NULL ORDER BY id",
                (older_than,),
            ).fetchall()]
            count = conn.execute(
                "UPDATE reports SET description = NULL, evidence = '[]', purged_at = ?,"
                " updated_at = ? WHERE created_at < ? AND purged_at IS NULL",
                (now, now, older_than),
            ).rowcount
            conn.execute(
                "DELETE FROM report_notes WHERE report_id IN"
                " (SELECT id FROM reports WHERE purged_at IS NOT NULL)"
            )
            # Questions and decisions for the reporter quote moderators' words.
            conn.execute(
                "DELETE FROM reporter_notices WHERE report_id IN"
                " (SELECT id FROM reports WHERE purged_at IS NOT NULL)"
            )
            if count:
                audit.append(
                    conn, "retention.purged", details={"reports": count, "before": older_than},
                    at=now,
                )
            return ids

        return await self._db.write(purge)


# The durable limits' queries, each answered from an index (``bench/limit_checks.py``
# prints their plans over a million reports): the reporter's accepted reports of the
# last day, newest first (reports_by_reporter); a report of the same target in the same
# activity, and the newest of the same target in the cooldown window
# (reports_by_reporter_target).
RECENT_BY_REPORTER_SQL = (
    "SELECT accepted_at FROM reports WHERE guild_id = ? AND reporter_id = ?"
    " AND accepted_at >= ? ORDER BY accepted_at DESC LIMIT ?"
)
SAME_ACTIVITY_SQL = (
    "SELECT 1 FROM reports WHERE guild_id = ? AND reporter_id = ? AND target_key = ?"
    " AND accepted_at IS NOT NULL AND activity_id = ? LIMIT 1"
)
TARGET_COOLDOWN_SQL = (
    "SELECT MAX(accepted_at) FROM reports WHERE guild_id = ? AND reporter_id = ?"
    " AND target_key = ? AND accepted_at > ?"
)


def _limit_hit(
    conn: Conn,
    row: Row | dict[str, Any],
    limits: ReportLimits,
    now: float,
) -> LimitHit | None:
    """The durable limits, on the connection's thread: inside ``accept``'s write
    transaction, or in one ``Database.read`` for the early check."""
    guild_id, reporter_id = row["guild_id"], row["reporter_id"]
    newest_first = conn.execute(
        RECENT_BY_REPORTER_SQL,
        # Enough rows for the largest quota in force (the day rule may be switched off).
        (guild_id, reporter_id, now - DAY,
         max(limits.short_count, limits.hour_count, limits.day_count, 1) + 1),
    ).fetchall()
    times = [float(r[0]) for r in newest_first]
    for rule, count, window in (
        ("short", limits.short_count, float(limits.short_seconds)),
        ("hour", limits.hour_count, 3600.0),
        ("day", limits.day_count, DAY),
    ):
        if count <= 0:  # 0 switches the rule off
            continue
        in_window = [t for t in times if t > now - window]
        if len(in_window) >= count:
            # The member may report again when the oldest report that fills the quota
            # leaves the window.
            return LimitHit(rule, in_window[count - 1] + window)
    target_key, activity_id = row["target_key"], row["activity_id"]
    if activity_id is not None:
        same = conn.execute(
            SAME_ACTIVITY_SQL, (guild_id, reporter_id, target_key, activity_id)
        ).fetchall()
        if same:
            return LimitHit("target_activity", None)
    elif limits.target_cooldown_hours > 0:
        window = limits.target_cooldown_hours * 3600.0
        recent = conn.execute(
            TARGET_COOLDOWN_SQL, (guild_id, reporter_id, target_key, now - window)
        ).fetchall()
        if recent and recent[0][0] is not None:
            return LimitHit("target_cooldown", float(recent[0][0]) + window)
    return None


def guild_of(conn: Conn, report_id: int) -> int | None:
    """The report's server, read inside the caller's transaction (for its audit row)."""
    found = conn.execute("SELECT guild_id FROM reports WHERE id = ?", (report_id,)).fetchall()
    return int(found[0][0]) if found else None


def _filter_sql(flt: ReportFilter) -> tuple[str, list[Any]]:
    clauses = ["guild_id = ?", "accepted_at IS NOT NULL"]
    params: list[Any] = [flt.guild_id]
    if flt.status is not None:  # the case's status: what moderators did
        clauses.append("case_id IN (SELECT id FROM cases WHERE guild_id = ? AND status = ?)")
        params += [flt.guild_id, flt.status]
    for column, value in (
        ("reason", flt.reason),
        ("target_key", flt.target_key),
        ("reporter_id", flt.reporter_id),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if flt.since is not None:
        clauses.append("created_at >= ?")
        params.append(flt.since)
    if flt.until is not None:
        clauses.append("created_at < ?")
        params.append(flt.until)
    if flt.target_query:
        query = flt.target_query.strip()
        clauses.append(
            "(? IN (CAST(target_discord_id AS TEXT), CAST(target_bungie_membership_id AS TEXT),"
            " target_player_uuid, target_key) OR lower(target_bungie_name) = lower(?)"
            " OR lower(target_game_name) = lower(?))"
        )
        params += [query, query, query]
    return " AND ".join(clauses), params
