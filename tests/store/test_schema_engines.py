"""The PostgreSQL migrations build the same tables and columns as the SQLite ones, so
every store query and ``copy-db`` work on either engine."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bot.store import Database


async def test_postgresql_schema_has_the_tables_and_columns_of_sqlite(
    tmp_path: Path, postgres_url: str
) -> None:
    sqlite_db = await Database.open(tmp_path / "warden.db")
    try:
        tables = [r[0] for r in await sqlite_db.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%'", ())]
        lite = {t: {r[1] for r in await sqlite_db.fetch_all(f"PRAGMA table_info({t})", ())}
                for t in tables}
    finally:
        await sqlite_db.close()
    pg_db = await Database.open(postgres_url)
    await pg_db.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'warden_schema'"  # its version
        ).fetchall()
    pg: dict[str, set[str]] = {}
    for table, column in rows:
        pg.setdefault(table, set()).add(column)
    assert pg == lite
