from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store import Database, DatabaseError
from bot.store.database import Migration, bundled_migrations


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


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO kv_state (key, value, updated_at) VALUES ('a', '1', 0)"
                )
                raise RuntimeError("boom")
        assert await db.fetch_value("SELECT COUNT(*) FROM kv_state") == 0
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
