"""The SQLite file: connections, pragmas, transactions and migrations.

One writer connection, serialised by a lock so a transaction's statements never
interleave with another coroutine's, and one reader connection (WAL lets it read
while a write is in progress). SQL text lives in the store package only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be opened, migrated or written; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The numbered SQL files shipped in ``bot/store/migrations``, in order."""
    found: list[Migration] = []
    folder = resources.files("bot.store") / "migrations"
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migration numbers must run 1..n without gaps, found {versions}")
    return found


Row = sqlite3.Row


async def _rollback_quietly(conn: aiosqlite.Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.OperationalError:
        pass  # BEGIN itself failed: there is no transaction to end


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    # -- life cycle ---------------------------------------------------------------
    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        db = cls(path)
        await db._connect()
        if migrate:
            await db.migrate()
        return db

    async def _connect(self) -> None:
        if str(self.path) != ":memory:":
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create folder {self.path.parent}: {exc.strerror}"
                ) from None
        try:
            self._writer = await self._open_connection()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await self._writer.execute("PRAGMA synchronous=NORMAL")
            self._reader = await self._open_connection()
        except sqlite3.Error as exc:
            await self.close()
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from None

    async def _open_connection(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Erased tokens and purged report text are overwritten on disk, not just unlinked.
        await conn.execute("PRAGMA secure_delete=ON")
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                try:
                    await conn.close()
                except (sqlite3.Error, ValueError):
                    log.debug("closing database connection failed", exc_info=True)
        self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise DatabaseError("database is closed")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise DatabaseError("database is closed")
        return self._reader

    # -- queries ------------------------------------------------------------------
    # Each read runs and finishes in one call on the connection's thread. A statement
    # left open between two awaits would hold a read snapshot that every other
    # coroutine's read on this shared connection then sees, missing fresh commits.
    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = list(await self.reader.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """An immediate write transaction; committed on success, rolled back on error."""
        async with self._write_lock:
            conn = self.writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                # A task cancelled while BEGIN was queued: the statement still runs on the
                # connection's thread, and the transaction it opens must not outlive the
                # lock (every later write would fail "within a transaction").
                await _rollback_quietly(conn)
                raise
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; returns the affected row count."""
        async with self.transaction() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    # -- migrations ---------------------------------------------------------------
    async def user_version(self) -> int:
        async with self.writer.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def pending_migrations(self) -> list[Migration]:
        current = await self.user_version()
        return [m for m in bundled_migrations() if m.version > current]

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply pending migrations in order, each inside one transaction."""
        todo = migrations if migrations is not None else await self.pending_migrations()
        applied: list[Migration] = []
        async with self._write_lock:
            conn = self.writer
            for migration in todo:
                script = (
                    f"BEGIN IMMEDIATE;\n{migration.sql}\n"
                    f"PRAGMA user_version = {migration.version};\nCOMMIT;"
                )
                try:
                    await conn.executescript(script)
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise DatabaseError(
                        f"migration {migration.name} failed and was rolled back: {exc}"
                    ) from None
                log.info("applied migration %s", migration.name)
                applied.append(migration)
        return applied

    async def backup_to(self, target: Path) -> None:
        """A consistent copy of the live database using SQLite's online backup."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as dest:
            await self.writer.backup(dest)

    async def integrity_problems(self) -> list[str]:
        """SQLite's own full check of the file; an empty list means it is sound."""
        rows = await self.reader.execute_fetchall("PRAGMA integrity_check")
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found
