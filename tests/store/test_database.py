from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.store import Database, DatabaseError
from bot.store.database import Migration, bundled_migrations
from tests.store.hops import count_hops


async def test_fresh_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "sub" / "warden.db")
    try:
        assert await db.user_version() == len(bundled_migrations())
        assert (await db.fetch_value("PRAGMA journal_mode")) == "wal"
        assert (await db.fetch_value("PRAGMA foreign_keys")) == 1
        tables = {r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master")}
        assert {"reports", "deliveries", "account_links", "audit_log", "guild_settings"} <= tables
    finally:
        await db.close()


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    db = await Database.open(path)
    await db.close()
    db = await Database.open(path, migrate=False)
    try:
        assert await db.pending_migrations() == []
        assert await db.migrate() == []
    finally:
        await db.close()


async def test_failed_migration_leaves_database_as_it_was(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        version = await db.user_version()
        broken = Migration(
            version + 1,
            "9999_broken.sql",
            "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);",
        )
        with pytest.raises(DatabaseError, match=r"9999_broken\.sql failed and was rolled back"):
            await db.migrate([broken])
        assert await db.user_version() == version
        names = {r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master")}
        assert "half_done" not in names
    finally:
        await db.close()


async def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")

    def insert_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('a', '1', 0)")
        raise RuntimeError("boom")

    try:
        with pytest.raises(RuntimeError, match="boom"):
            await db.write(insert_then_fail)  # type: ignore[arg-type]  # SQLite's own connection
        assert await db.fetch_value("SELECT COUNT(*) FROM kv_state") == 0
        assert not db.writer.in_transaction

        # A failing statement (a constraint) rolls back the statements before it as well.
        def insert_twice(conn: sqlite3.Connection) -> None:
            for _ in range(2):
                conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('b', '1', 0)")

        with pytest.raises(sqlite3.IntegrityError):
            await db.write(insert_twice)  # type: ignore[arg-type]  # SQLite's own connection
        assert await db.fetch_value("SELECT COUNT(*) FROM kv_state") == 0
        assert await db.execute(
            "INSERT INTO kv_state (key, value, updated_at) VALUES ('c', '1', 0)") == 1
    finally:
        await db.close()


# -- aiosqlite's private members behind Database.write and Database.read ------------------
# The helper in database.py relies on aiosqlite's Connection._execute (queue a callable on
# the connection's thread) and Connection._conn (the sqlite3 connection). These tests fail
# if an aiosqlite release drops either or stops running the callable on that thread.


async def _connection_thread_probe(conn: aiosqlite.Connection) -> Callable[[], int]:
    """Register ``thread_id()`` on ``conn``: SQLite calls it on the connection's thread, via
    aiosqlite's public API only. Returns the id it saw on its last call."""
    seen: list[int] = []

    def thread_id() -> int:
        seen.append(threading.get_ident())
        return seen[-1]

    await conn.create_function("thread_id", 0, thread_id)
    await conn.execute_fetchall("SELECT thread_id()")
    assert seen and seen[-1] != threading.get_ident()
    return lambda: seen[-1]


async def test_write_runs_in_one_hop_on_the_writer_connection_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        writer_thread = await _connection_thread_probe(db.writer)
        hops = count_hops(monkeypatch)
        seen: dict[str, Any] = {}

        def work(conn: sqlite3.Connection) -> str:
            seen["thread"] = threading.get_ident()
            seen["type"] = type(conn)
            seen["in_transaction"] = conn.in_transaction
            # The function exists on the writer connection only: this is that connection.
            seen["sql_thread"] = conn.execute("SELECT thread_id()").fetchone()[0]
            conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('k', '1', 0)")
            row = conn.execute("SELECT * FROM kv_state").fetchone()
            seen["row"] = type(row)
            return str(row["key"])

        assert await db.write(work) == "k"  # type: ignore[arg-type]  # SQLite's own connection
        assert hops == [1]
        assert seen["thread"] == seen["sql_thread"] == writer_thread()
        assert seen["type"] is sqlite3.Connection
        assert seen["in_transaction"] is True
        assert seen["row"] is sqlite3.Row
        assert not db.writer.in_transaction
        assert await db.fetch_value("SELECT value FROM kv_state WHERE key = 'k'") == "1"
    finally:
        await db.close()


async def test_read_runs_in_one_hop_on_the_reader_thread_from_one_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "warden.db"
    db = await Database.open(path)
    try:
        reader_thread = await _connection_thread_probe(db.reader)
        hops = count_hops(monkeypatch)

        def counts(conn: sqlite3.Connection) -> tuple[int, int, int, bool, type]:
            before = conn.execute("SELECT COUNT(*) FROM kv_state").fetchone()[0]
            # Another connection commits between the two statements...
            with sqlite3.connect(path, isolation_level=None) as other:
                other.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('x', '1', 0)")
            other.close()
            # ...which this read does not see: both statements read one snapshot.
            after = conn.execute("SELECT COUNT(*) FROM kv_state").fetchone()[0]
            thread = conn.execute("SELECT thread_id()").fetchone()[0]
            row = conn.execute("SELECT 1 AS one").fetchone()
            return before, after, thread, conn.in_transaction, type(row)

        before, after, thread, in_transaction, row_type = await db.read(counts)  # type: ignore[arg-type]  # SQLite's own connection
        assert hops == [1]
        assert (before, after) == (0, 0)
        assert thread == reader_thread() and thread != threading.get_ident()
        assert in_transaction and row_type is sqlite3.Row
        # The snapshot ended with the job: the next read sees the commit.
        assert not db.reader.in_transaction
        assert await db.fetch_value("SELECT COUNT(*) FROM kv_state") == 1

        def fails(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT * FROM kv_state").fetchone()
            raise LookupError("nothing here")

        with pytest.raises(LookupError):
            await db.read(fails)  # type: ignore[arg-type]  # SQLite's own connection
        assert not db.reader.in_transaction
    finally:
        await db.close()


async def test_a_cancelled_write_still_runs_to_commit_and_leaves_no_transaction(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        started, release = threading.Event(), threading.Event()

        def slow(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('a', '1', 0)")
            started.set()
            release.wait(5)
            conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('b', '1', 0)")

        task = asyncio.create_task(db.write(slow))  # type: ignore[arg-type]  # SQLite's own connection
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        # Queued behind the cancelled job on the same thread: it runs after its COMMIT.
        assert await db.execute(
            "INSERT INTO kv_state (key, value, updated_at) VALUES ('c', '1', 0)") == 1
        assert not db.writer.in_transaction
        keys = [r[0] for r in await db.fetch_all("SELECT key FROM kv_state ORDER BY key")]
        assert keys == ["a", "b", "c"]
    finally:
        await db.close()


async def test_pragmas_on_both_connections(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        for conn in (db.writer, db.reader):
            for pragma, value in (("cache_size", -1024), ("foreign_keys", 1),
                                  ("busy_timeout", 5000), ("secure_delete", 1)):
                rows = list(await conn.execute_fetchall(f"PRAGMA {pragma}"))
                assert rows[0][0] == value, pragma
    finally:
        await db.close()


async def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="cannot create folder"):
        await Database.open(blocker / "warden.db")


async def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        await db.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('k', '42', 0)")
        await db.backup_to(tmp_path / "copy.db")
    finally:
        await db.close()
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT value FROM kv_state WHERE key='k'").fetchone() == ("42",)
