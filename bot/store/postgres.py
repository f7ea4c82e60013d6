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
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import pq
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


_INDEXES: dict[tuple[bytes | None, ...], dict[str, int]] = {}
"""Column name -> position, one dict per distinct list of result columns. The store's
statements have a few dozen shapes, so this stays small (and is capped anyway)."""
_MAX_INDEXES = 1024


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    # psycopg calls this once per result, BEGIN and COMMIT included. ``cursor.description``
    # builds a Column object per column each time (about 20 us for ``SELECT *`` from
    # reports); the raw names from libpq and a dict made once per shape cost a tenth.
    result = cursor.pgresult
    fields = result.nfields if result is not None else 0
    if not fields:
        return _no_rows
    assert result is not None
    names = tuple([result.fname(i) for i in range(fields)])
    index = _INDEXES.get(names)
    if index is None:
        # Column names are identifiers the store wrote, ASCII in any client encoding.
        index = {(name or b"").decode("utf-8"): i for i, name in enumerate(names)}
        if len(_INDEXES) < _MAX_INDEXES:
            _INDEXES[names] = index
    return functools.partial(PgRow, index)


def _no_rows(values: Sequence[Any]) -> PgRow:
    return PgRow({}, values)


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


_STOP = object()


class _Lane:
    """One connection and the one thread that ever touches it.

    A job is queued on the thread with its asyncio future and the thread sets the result
    through ``call_soon_threadsafe``: one wake-up of the thread and one of the loop. (A
    ``ThreadPoolExecutor`` behind ``wrap_future`` and ``shield`` chained three futures
    and took about three times the CPU per job.)
    """

    def __init__(self, conn: psycopg.Connection[PgRow], name: str) -> None:
        self.conn = PgConn(conn)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, job: Callable[[PgConn], T]) -> T:
        # The job is queued before the caller first awaits, and the thread runs every
        # queued job: a caller cancelled while the job waits or runs stops waiting (its
        # future is cancelled), but the job still runs to COMMIT or ROLLBACK (the same
        # promise as the SQLite writer).
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((job, future))
        return await future

    def _serve(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            job, future = item
            try:
                result = job(self.conn)
            except BaseException as exc:  # delivered to the caller, as with an executor
                _deliver(future, _set_exception, exc)
            else:
                _deliver(future, _set_result, result)

    def close(self) -> None:
        """Run what is queued, then stop the thread and close the connection."""
        self._jobs.put(_STOP)
        self._thread.join()
        self.conn.raw.close()


def _deliver(future: asyncio.Future[Any], setter: Callable[[asyncio.Future[Any], Any], None],
             value: Any) -> None:
    try:
        future.get_loop().call_soon_threadsafe(setter, future, value)
    except RuntimeError:
        pass  # the loop is closed: nobody waits for this result any more


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # not cancelled meanwhile
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _command(raw: psycopg.Connection[Any], sql: bytes) -> None:
    """BEGIN, COMMIT or ROLLBACK straight through libpq: these need none of psycopg's
    cursor, parameter and row machinery, which costs more than the round trip itself."""
    result = raw.pgconn.exec_(sql)
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)


def _in_transaction(begin: bytes, end: bytes, fn: Callable[[Conn], T]) -> Callable[[PgConn], T]:
    def job(conn: PgConn) -> T:
        raw = conn.raw
        _command(raw, begin)
        try:
            result = fn(conn)
            _command(raw, end)
        except BaseException:
            try:
                _command(raw, b"ROLLBACK")
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
        return await self._lane(self._write_lane).run(_in_transaction(b"BEGIN", b"COMMIT", fn))

    async def read(self, fn: Callable[[Conn], T]) -> T:
        return await self._lane(self._read_lane).run(
            _in_transaction(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", b"ROLLBACK", fn)
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
