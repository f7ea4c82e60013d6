"""Reporter blocks: members a server's moderators stopped from reporting there for a while.
Every block and every lift is audited in the same transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store import audit
from bot.store.database import Conn, Database, Row


@dataclass(frozen=True)
class ReporterBlock:
    guild_id: int
    member_id: int
    until: float
    reason: str | None
    blocked_by: int | None
    case_id: int | None
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> ReporterBlock:
        return cls(*(row[k] for k in cls.__dataclass_fields__))


class BlockStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def block(self, guild_id: int, member_id: int, *, until: float, reason: str | None,
                    blocked_by: int, case_id: int | None) -> None:
        now = time.time()

        def write(conn: Conn) -> None:
            conn.execute(
                "INSERT INTO reporter_blocks (guild_id, member_id, until, reason,"
                " blocked_by, case_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                # A new block replaces the old one, lifted or not.
                " ON CONFLICT (guild_id, member_id) DO UPDATE SET until = excluded.until,"
                " reason = excluded.reason, blocked_by = excluded.blocked_by,"
                " case_id = excluded.case_id, created_at = excluded.created_at,"
                " lifted_at = NULL, lifted_by = NULL",
                (guild_id, member_id, until, reason, blocked_by, case_id, now))
            audit.append(conn, "reporter.blocked", guild_id=guild_id, actor_id=blocked_by,
                         details={"member_id": member_id, "until": until, "case_id": case_id},
                         at=now)

        await self._db.write(write)

    async def active(self, guild_id: int, member_id: int, now: float) -> ReporterBlock | None:
        row = await self._db.fetch_one(
            "SELECT * FROM reporter_blocks WHERE guild_id = ? AND member_id = ? AND until > ?"
            " AND lifted_at IS NULL", (guild_id, member_id, now))
        return None if row is None else ReporterBlock.from_row(row)

    async def all_active(self, guild_id: int, now: float) -> list[ReporterBlock]:
        rows = await self._db.fetch_all(
            "SELECT * FROM reporter_blocks WHERE guild_id = ? AND until > ?"
            " AND lifted_at IS NULL ORDER BY until", (guild_id, now))
        return [ReporterBlock.from_row(r) for r in rows]

    async def lift(self, guild_id: int, member_id: int, *, lifted_by: int) -> bool:
        """False when the member has no active block."""
        now = time.time()

        def write(conn: Conn) -> bool:
            done = conn.execute(
                "UPDATE reporter_blocks SET lifted_at = ?, lifted_by = ? WHERE guild_id = ?"
                " AND member_id = ? AND lifted_at IS NULL AND until > ?",
                (now, lifted_by, guild_id, member_id, now)).rowcount == 1
            if done:
                audit.append(conn, "reporter.unblocked", guild_id=guild_id, actor_id=lifted_by,
                             details={"member_id": member_id}, at=now)
            return done

        return await self._db.write(write)
