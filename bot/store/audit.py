"""The append-only audit trail, chained by SHA-256 so an edited row is detectable.

Each row's hash covers its own content and the previous row's hash. Writers call
``append`` inside their own transaction (the function they give ``Database.write``),
so the audit row commits (or not) together with the change it records.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.database import Conn, Database, Row, hold_lock

GENESIS = "0" * 64
FOR_REPORT_SQL = "SELECT * FROM audit_log WHERE report_id = ? ORDER BY id"
# Keys that must never reach the audit trail, whatever a caller passes.
_FORBIDDEN_DETAIL_KEYS = {"access_token", "refresh_token", "token", "code", "secret", "state"}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    guild_id: int | None
    actor_id: int | None
    action: str
    report_id: int | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
    details_json: str

    @classmethod
    def from_row(cls, row: Row) -> AuditEntry:
        return cls(
            id=row["id"],
            at=row["at"],
            guild_id=row["guild_id"],
            actor_id=row["actor_id"],
            action=row["action"],
            report_id=row["report_id"],
            details=json.loads(row["details"]),
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            details_json=row["details"],
        )


def _digest(
    *,
    id: int,
    at: float,
    guild_id: int | None,
    actor_id: int | None,
    action: str,
    report_id: int | None,
    details_json: str,
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        [id, repr(float(at)), guild_id, actor_id, action, report_id, details_json, prev_hash],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k.lower() not in _FORBIDDEN_DETAIL_KEYS}


def append(
    conn: Conn,
    action: str,
    *,
    guild_id: int | None = None,
    actor_id: int | None = None,
    report_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: float | None = None,
) -> int:
    """Append one row inside the caller's open transaction; returns its id.

    Runs on the writer's thread, inside the function given to ``Database.write``.
    """
    when = time.time() if at is None else at
    details_json = json.dumps(_clean(details or {}), sort_keys=True, separators=(",", ":"))
    hold_lock(conn, "audit chain")  # each row hashes the one before: one append at a time
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchall()
    new_id = 1 if not last else int(last[0][0]) + 1
    prev_hash = GENESIS if not last else str(last[0][1])
    digest = _digest(
        id=new_id,
        at=when,
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        report_id=report_id,
        details_json=details_json,
        prev_hash=prev_hash,
    )
    conn.execute(
        "INSERT INTO audit_log (id, at, guild_id, actor_id, action, report_id, details,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, when, guild_id, actor_id, action, report_id, details_json, prev_hash, digest),
    )
    return new_id


@dataclass(frozen=True)
class ChainCheck:
    rows_checked: int
    first_broken_id: int | None
    problem: str | None
    head_hash: str = GENESIS
    """The last verified row's hash: with ``rows_checked``, the chain head an operator
    keeps elsewhere (``audit anchor``) to notice rows cut from the end."""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


@dataclass(frozen=True)
class ModeratorAction:
    report_id: int
    accepted_at: float
    actor_id: int
    at: float
    action: str


class AuditStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, action: str, **kw: Any) -> int:
        return await self._db.write(lambda conn: append(conn, action, **kw))

    async def moderator_actions(
        self, guild_id: int, since: float | None, until: float | None, actions: Sequence[str]
    ) -> list[ModeratorAction]:
        """The audit rows named ``actions`` on this server's reports created in
        ``[since, until)``, with each report's acceptance time, oldest first."""
        marks = ", ".join("?" for _ in actions)
        sql = (
            "SELECT a.report_id, r.accepted_at, a.actor_id, a.at, a.action"  # noqa: S608
            " FROM audit_log a JOIN reports r ON r.id = a.report_id"
            " WHERE r.guild_id = ? AND r.accepted_at IS NOT NULL"
            " AND r.created_at >= ? AND r.created_at < ?"
            f" AND a.actor_id IS NOT NULL AND a.action IN ({marks})"  # only "?"s
            " ORDER BY a.at, a.id"
        )
        rows = await self._db.fetch_all(
            sql,
            (guild_id, since if since is not None else 0.0,
             until if until is not None else float("inf"), *actions),
        )
        return [ModeratorAction(int(r[0]), float(r[1]), int(r[2]), float(r[3]), str(r[4]))
                for r in rows]

    async def for_report(self, report_id: int) -> list[AuditEntry]:
        rows = await self._db.fetch_all(FOR_REPORT_SQL, (report_id,))
        return [AuditEntry.from_row(r) for r in rows]

    async def between(
        self, start: float, end: float, *, guild_id: int | None = None
    ) -> list[AuditEntry]:
        sql = "SELECT * FROM audit_log WHERE at >= ? AND at < ?"
        params: list[Any] = [start, end]
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        rows = await self._db.fetch_all(sql + " ORDER BY id", params)
        return [AuditEntry.from_row(r) for r in rows]

    async def hash_of(self, row_id: int) -> str | None:
        """The stored hash of row ``row_id``; None if there is no such row."""
        value = await self._db.fetch_value("SELECT hash FROM audit_log WHERE id = ?", (row_id,))
        return None if value is None else str(value)

    async def iterate(self, batch: int = 1000) -> AsyncIterator[AuditEntry]:
        last = 0
        while True:
            rows = await self._db.fetch_all(
                "SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
            if not rows:
                return
            for row in rows:
                yield AuditEntry.from_row(row)
            last = rows[-1]["id"]

    async def verify(self) -> ChainCheck:
        """Walk the whole chain; name the first row whose hash or link does not match."""
        prev = GENESIS
        expected_id = 1
        checked = 0
        async for entry in self.iterate():
            if entry.id != expected_id:
                return ChainCheck(checked, entry.id, f"row {expected_id} is missing")
            if entry.prev_hash != prev:
                return ChainCheck(checked, entry.id, "link to the previous row is broken")
            digest = _digest(
                id=entry.id,
                at=entry.at,
                guild_id=entry.guild_id,
                actor_id=entry.actor_id,
                action=entry.action,
                report_id=entry.report_id,
                details_json=entry.details_json,
                prev_hash=entry.prev_hash,
            )
            if digest != entry.hash:
                return ChainCheck(checked, entry.id, "content does not match its hash")
            prev = entry.hash
            expected_id += 1
            checked += 1
        return ChainCheck(checked, None, None, prev)
