"""The SQLite file: connections, pragmas, transactions and migrations.

One writer connection and one reader connection (WAL lets it read while a write is
in progress), each with its own aiosqlite thread. A write transaction is one plain
function run start to finish on the writer's thread (``Database.write``), so its
statements never interleave with another coroutine's and it costs one hand-off to the
thread; ``Database.read`` does the same for several reads. SQL text lives in the store
package only.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

from bot.store.private_files import create_private_file, make_private_dir, warn_if_shared

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


class DatabaseError(Exception):
    """The database cannot be opened, migrated or written; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(folder_name: str = "migrations") -> list[Migration]:
    """The numbered SQL files shipped in ``bot/store/<folder_name>``, in order
    (``migrations`` for SQLite, ``migrations_pg`` for PostgreSQL)."""
    found: list[Migration] = []
    folder = resources.files("bot.store") / folder_name
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migration numbers must run 1..n without gaps, found {versions}")
    return found


class EventChannel(Protocol):
    """Short text messages between the processes sharing a database
    (``bot/store/event_channel.py``)."""

    async def notify(self, payload: str) -> None: ...
    def listen(self) -> AsyncIterator[str | None]: ...
    async def close(self) -> None: ...


class Row(Protocol):
    """A result row on either backend: by column name or by position."""

    def __getitem__(self, key: Any, /) -> Any: ...
    def keys(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def close(self) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """What a transaction's function gets: ``sqlite3.Connection`` on SQLite, the same
    two calls (``?`` placeholders, rows as ``Row``) on PostgreSQL (bot/store/postgres.py)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...


T = TypeVar("T")


def hold_lock(conn: Conn, *key: object) -> None:
    """Serialise the rest of this write transaction with every other one that holds the
    same ``key``, in any process: on PostgreSQL an advisory lock released at COMMIT or
    ROLLBACK. On SQLite there is nothing to do: ``BEGIN IMMEDIATE`` already runs one
    write at a time on the file."""
    if isinstance(conn, sqlite3.Connection):
        return
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    conn.execute("SELECT pg_advisory_xact_lock(?)", (int.from_bytes(digest, "big", signed=True),))


# -- the connection's own thread -----------------------------------------------------
# aiosqlite gives each connection one thread fed by a FIFO queue, and every call is one
# hand-off to that thread and one wake-up of the event loop. It has no public API for
# "run this callable there", so this helper uses two private members: the coroutine
# ``Connection._execute(fn)``, which queues ``fn`` on the connection's thread and awaits
# its result, and ``Connection._conn``, the ``sqlite3.Connection`` underneath, which is
# only ever touched on that thread (inside ``job``). pyproject.toml pins aiosqlite below
# 0.23 for this, and tests/store/test_database.py fails if either member disappears or
# stops running on the connection's thread.
async def _on_connection_thread(
    conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]
) -> T:
    def job() -> T:
        return fn(conn._conn)

    result: T = await conn._execute(job)  # type: ignore[no-untyped-call]  # untyped upstream
    return result


def _end_quietly(conn: sqlite3.Connection) -> None:
    """Roll back whatever is still open, without hiding the error that got us here."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback failed")


def _in_write_transaction(
    fn: Callable[[sqlite3.Connection], T],
) -> Callable[[sqlite3.Connection], T]:
    def job(conn: sqlite3.Connection) -> T:
        # If BEGIN fails there is nothing of ours to roll back.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            _end_quietly(conn)  # also when COMMIT itself failed
            raise
        return result

    return job


def _in_read_snapshot(
    fn: Callable[[sqlite3.Connection], T],
) -> Callable[[sqlite3.Connection], T]:
    def job(conn: sqlite3.Connection) -> T:
        conn.execute("BEGIN")  # deferred: the first SELECT takes one WAL snapshot for all
        try:
            return fn(conn)
        finally:
            # ROLLBACK, not COMMIT: the reader never writes, whatever ``fn`` tried.
            _end_quietly(conn)

    return job


class Database:
    """The writer and the reader connection, each with its own aiosqlite thread.

    Writes go through ``write``: the whole transaction is one job on the writer's
    thread, and aiosqlite's queue runs those jobs one after another, so no lock is
    needed. Nothing on the writer runs across more than one hop (migrations, backups and
    the single statements included), so no transaction is ever open while the event
    loop runs something else.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None

    # -- life cycle ---------------------------------------------------------------
    backend = "sqlite"

    def event_channel(self) -> EventChannel | None:
        """Messages to the other processes on this database; None where there are none
        (one process per SQLite file)."""
        return None

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True) -> Database:
        """SQLite at ``path``, or PostgreSQL when given a ``postgresql://`` URL."""
        if isinstance(path, str) and is_postgres_url(path):
            from bot.store.postgres import PostgresDatabase

            return await PostgresDatabase.connect(path, migrate=migrate)
        db = cls(Path(path))
        await db._connect()
        if migrate:
            await db.migrate()
        return db

    async def _connect(self) -> None:
        if str(self.path) != ":memory:":
            try:
                make_private_dir(self.path.parent)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create folder {self.path.parent}: {exc.strerror}"
                ) from None
            try:
                create_private_file(self.path)
            except OSError:
                pass  # SQLite says why it cannot open the file, below
            warn_if_shared(self.path)
        try:
            self._writer = await self._open_connection(
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"
            )
            self._reader = await self._open_connection()
        except sqlite3.Error as exc:
            await self.close()
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from None

    async def _open_connection(self, *pragmas: str) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        # Set on the sqlite3 connection underneath, so the functions given to ``write``
        # and ``read`` see the same rows as ``fetch_*``.
        conn.row_factory = sqlite3.Row

        def configure(sql: sqlite3.Connection) -> None:
            sql.execute("PRAGMA foreign_keys=ON")
            sql.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # Erased tokens and purged report text are overwritten on disk, not just unlinked.
            sql.execute("PRAGMA secure_delete=ON")
            # A 1 MiB page cache per connection instead of SQLite's 2 MiB: both caches count
            # toward Warden's peak RSS (bench/memory.py), and the hot indexes of the limit
            # checks stay far below that (bench/limit_checks.py).
            sql.execute("PRAGMA cache_size=-1024")
            for pragma in pragmas:
                sql.execute(pragma)

        try:
            await _on_connection_thread(conn, configure)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                try:
                    await conn.close()
                except (sqlite3.Error, ValueError):
                    log.debug("closing database connection failed", exc_info=True)
        self._reader = self._writer = None

    # The raw connections, for single statements (tests, pragmas). Read or close any
    # cursor they return: see ``write`` for what an open one costs the writer.
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

    # -- writes -------------------------------------------------------------------
    async def write(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` in one immediate write transaction, in ONE hop to the writer's thread.

        On that thread: ``BEGIN IMMEDIATE``, ``fn(connection)``, ``COMMIT``; if anything
        raises (``fn`` or COMMIT), ``ROLLBACK`` and the error reaches the caller. ``fn``
        is plain synchronous code on the ``sqlite3.Connection`` (rows are
        ``sqlite3.Row``): it must not await or touch the event loop, must fetch every
        result it starts (``fetchall``/``fetchone``, also for ``RETURNING``), and should
        do nothing slow, as every other write waits behind it.

        Cancellation: the job is queued before the caller first awaits, and a task
        cancelled while waiting stops waiting but does not stop the job: it still runs to
        COMMIT or ROLLBACK. A write is all or nothing and never leaves a transaction open.

        Nothing else may leave a statement open on the writer (an unread cursor of
        ``writer.execute``): SQLite would refuse this COMMIT. Use ``execute_fetchall``.
        """
        return await _on_connection_thread(self.writer, _in_write_transaction(fn))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; returns the affected row count."""
        return await self.write(lambda conn: conn.execute(sql, params).rowcount)

    async def execute_returning(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One statement in its own transaction; returns the rows it returns."""
        rows: list[Row] = await self.write(lambda conn: conn.execute(sql, params).fetchall())
        return rows

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        listed = list(rows)  # consumed here, not on the writer's thread
        await self.write(lambda conn: conn.executemany(sql, listed).close())

    # -- reads --------------------------------------------------------------------
    # Each read runs and finishes in one call on the connection's thread. A statement
    # left open between two awaits would hold a read snapshot that every other
    # coroutine's read on this shared connection then sees, missing fresh commits.
    async def read(self, fn: Callable[[Conn], T]) -> T:
        """Run several reads in ONE hop to the reader's thread, all from one snapshot.

        ``fn`` runs inside a deferred transaction that ends (ROLLBACK: the reader never
        writes) in the same job, so no snapshot outlives it on this shared connection.
        The same rules as for ``write``'s ``fn`` apply: synchronous, fetch what you start.
        """
        return await _on_connection_thread(self.reader, _in_read_snapshot(fn))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = list(await self.reader.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    # -- migrations ---------------------------------------------------------------
    async def user_version(self) -> int:
        rows = list(await self.writer.execute_fetchall("PRAGMA user_version"))
        return int(rows[0][0]) if rows else 0

    migrations_folder = "migrations"

    async def pending_migrations(self) -> list[Migration]:
        current = await self.user_version()
        return [m for m in bundled_migrations(self.migrations_folder) if m.version > current]

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply pending migrations in order, each inside one transaction (and one hop)."""
        todo = migrations if migrations is not None else await self.pending_migrations()
        applied: list[Migration] = []
        for migration in todo:
            await self._apply(migration)
            log.info("applied migration %s", migration.name)
            applied.append(migration)
        return applied

    async def _apply(self, migration: Migration) -> None:
        script = (
            f"BEGIN IMMEDIATE;\n{migration.sql}\n"
            f"PRAGMA user_version = {migration.version};\nCOMMIT;"
        )

        def run(conn: sqlite3.Connection) -> None:
            # Foreign keys off while a migration runs (they cannot change inside a
            # transaction): rebuilding a parent table (DROP, then RENAME of the copy)
            # would otherwise cascade-delete its children. SQLite's own recipe; the
            # check below still refuses a migration that leaves a dangling reference.
            conn.execute("PRAGMA foreign_keys=OFF")
            try:
                conn.executescript(script.removesuffix("COMMIT;"))
                dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise sqlite3.IntegrityError(
                        f"{len(dangling)} row(s) refer to rows that do not exist, first "
                        f"in table {dangling[0][0]}")
                conn.execute("COMMIT")
            except BaseException:
                _end_quietly(conn)
                raise
            finally:
                conn.execute("PRAGMA foreign_keys=ON")

        try:
            await _on_connection_thread(self.writer, run)
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"migration {migration.name} failed and was rolled back: {exc}"
            ) from None

    async def backup_to(self, target: Path) -> None:
        """A consistent copy of the live database using SQLite's online backup."""
        make_private_dir(target.parent)
        create_private_file(target)
        async with aiosqlite.connect(target) as dest:
            # One job on the writer's thread (aiosqlite runs the whole backup there), so
            # it never interleaves with a write.
            await self.writer.backup(dest)

    async def integrity_problems(self) -> list[str]:
        """SQLite's own full check of the file; an empty list means it is sound."""
        rows = await self.reader.execute_fetchall("PRAGMA integrity_check")
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found
