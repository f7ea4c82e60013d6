"""PostgreSQL behind the same ``Database`` calls as SQLite (``DATABASE_URL``).

psycopg 3's synchronous connection on one worker thread per connection keeps the
store's shape: a transaction is one plain function run start to finish on that thread
(``write``/``read``), its statements written once with ``?`` placeholders for both
engines. ``PgConn`` translates them (and nothing else: the store's SQL is the dialect
both engines share, RETURNING and ON CONFLICT included). Migrations for this engine
live in ``bot/store/migrations_pg``; the version applied is kept in ``warden_schema``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.rows import RowMaker

from bot.store.database import (
    Conn,
    Cursor,
    Database,
    DatabaseError,
    Migration,
    Row,
)
from bot.store.event_channel import PgEventChannel

log = logging.getLogger(__name__)
T = TypeVar("T")


class PgRow:
    """A row by column name or by position, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: Any, /) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    names = [c.name for c in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(index, values)

    return make


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` doubled), outside quotes."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class PgConn:
    """The ``Conn`` a transaction's function gets on PostgreSQL."""

    def __init__(self, conn: psycopg.Connection[PgRow]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return self.raw.execute(translate(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        cur = self.raw.cursor()
        cur.executemany(translate(sql), [tuple(p) for p in parameters])
        return cur


class _Lane:
    """One connection and the one thread that ever touches it."""

    def __init__(self, conn: psycopg.Connection[PgRow], name: str) -> None:
        self.conn = PgConn(conn)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, job: Callable[[PgConn], T]) -> T:
        # Shielded: a caller cancelled while the job waits or runs stops waiting, but the
        # job still runs to COMMIT or ROLLBACK (the same promise as the SQLite writer).
        future = self.pool.submit(job, self.conn)
        return await asyncio.shield(asyncio.wrap_future(future))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.conn.raw.close()


def _in_transaction(begin: str, end: str, fn: Callable[[Conn], T]) -> Callable[[PgConn], T]:
    def job(conn: PgConn) -> T:
        raw = conn.raw
        raw.execute(begin)
        try:
            result = fn(conn)
            raw.execute(end)
        except BaseException:
            try:
                raw.execute("ROLLBACK")
            except psycopg.Error:
                log.exception("rollback failed")
            raise
        return result

    return job


class PostgresDatabase(Database):
    """The writer and the reader connection on PostgreSQL, each on its own thread.

    Same calls as the SQLite ``Database``; ``writer``/``reader`` (aiosqlite connections)
    and ``backup_to`` (SQLite's online backup) do not exist here: ``backup`` and
    ``restore`` on PostgreSQL are pg_dump and pg_restore (README).
    """

    backend = "postgresql"
    migrations_folder = "migrations_pg"

    def __init__(self, url: str) -> None:
        super().__init__(Path("postgresql"))
        self.url = url
        self._write_lane: _Lane | None = None
        self._read_lane: _Lane | None = None

    @classmethod
    async def connect(cls, url: str, *, migrate: bool = True) -> PostgresDatabase:
        db = cls(url)
        try:
            db._write_lane = _Lane(await asyncio.to_thread(db._connect_raw), "pg-writer")
            db._read_lane = _Lane(await asyncio.to_thread(db._connect_raw), "pg-reader")
        except psycopg.Error as exc:
            await db.close()
            raise DatabaseError(f"cannot connect to PostgreSQL: {_first_line(exc)}") from None
        await db.user_version()  # creates warden_schema on a new database
        if migrate:
            await db.migrate()
        return db

    def event_channel(self) -> PgEventChannel:
        return PgEventChannel(self.url)

    def _connect_raw(self) -> psycopg.Connection[PgRow]:
        # autocommit: the lanes say BEGIN and COMMIT themselves, one job each.
        return psycopg.connect(self.url, autocommit=True, row_factory=_row_factory)

    async def close(self) -> None:
        for lane in (self._read_lane, self._write_lane):
            if lane is not None:
                await asyncio.to_thread(lane.close)
        self._read_lane = self._write_lane = None

    def _lane(self, lane: _Lane | None) -> _Lane:
        if lane is None:
            raise DatabaseError("database is closed")
        return lane

    async def write(self, fn: Callable[[Conn], T]) -> T:
        return await self._lane(self._write_lane).run(_in_transaction("BEGIN", "COMMIT", fn))

    async def read(self, fn: Callable[[Conn], T]) -> T:
        return await self._lane(self._read_lane).run(
            _in_transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "ROLLBACK", fn)
        )

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        # One statement on the autocommit connection is its own transaction: one round
        # trip where BEGIN, the statement and COMMIT would take three.
        return await self._lane(self._write_lane).run(
            lambda conn: conn.execute(sql, params).rowcount)

    async def execute_returning(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._lane(self._write_lane).run(
            lambda conn: conn.execute(sql, params).fetchall())
        return rows

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        listed = list(rows)
        await self.write(lambda conn: conn.executemany(sql, listed).close())

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._lane(self._read_lane).run(
            lambda conn: conn.execute(sql, params).fetchall()
        )
        return rows

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    # -- migrations ---------------------------------------------------------------
    async def user_version(self) -> int:
        def read(conn: PgConn) -> int:
            conn.raw.execute(
                "CREATE TABLE IF NOT EXISTS warden_schema (version INTEGER NOT NULL)"
            )
            rows = conn.raw.execute("SELECT max(version) FROM warden_schema").fetchall()
            return int(rows[0][0] or 0)

        return await self._lane(self._write_lane).run(read)

    async def _apply(self, migration: Migration) -> None:
        def run(conn: PgConn) -> None:
            with conn.raw.transaction():
                # One migration at a time across processes starting together.
                conn.raw.execute("SELECT pg_advisory_xact_lock(7317001)")
                done = conn.raw.execute(
                    "SELECT 1 FROM warden_schema WHERE version >= %s", (migration.version,)
                ).fetchall()
                if done:
                    return
                conn.raw.execute(migration.sql)  # a script: no parameters
                conn.raw.execute(
                    "INSERT INTO warden_schema (version) VALUES (%s)", (migration.version,)
                )

        try:
            await self._lane(self._write_lane).run(run)
        except psycopg.Error as exc:
            raise DatabaseError(
                f"migration {migration.name} failed and was rolled back: {_first_line(exc)}"
            ) from None

    async def backup_to(self, target: Path) -> None:
        raise DatabaseError(
            "backup on PostgreSQL: use pg_dump --format=custom (README: PostgreSQL)"
        )

    async def integrity_problems(self) -> list[str]:
        return []  # PostgreSQL checks its own pages; nothing like SQLite's integrity_check


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
