"""Copying a whole installation from one database into another, empty one (SQLite to
PostgreSQL: ``python -m bot copy-db``). Rows are copied as stored: tokens stay
encrypted, audit rows keep their ids and hashes, so ``audit verify`` passes on the copy.
"""

from __future__ import annotations

from typing import Any

from bot.store.database import Conn, Database, DatabaseError

# Parents before children (foreign keys), every table Warden keeps.
TABLES = (
    "guild_settings",
    "member_prefs",
    "member_locales",
    "account_links",
    "oauth_states",
    "kv_state",
    "cases",
    "reports",
    "report_counters",
    "report_notes",
    "deliveries",
    "reporter_notices",
    "told_before_restore",
    "reporter_blocks",
    "audit_log",
)
# Identity columns continue after the copied ids (PostgreSQL).
_RESET_IDS = tuple(
    "SELECT setval(pg_get_serial_sequence('" + table + "', 'id'),"  # noqa: S608 - fixed names
    " COALESCE((SELECT MAX(id) FROM " + table + "), 0) + 1, false)"
    for table in ("cases", "reports", "report_notes", "reporter_notices", "audit_log")
)
_BATCH = 1000


async def copy_installation(source: Database, target: Database) -> dict[str, int]:
    """Copy every row of ``source`` into ``target`` (both at the latest schema) in one
    transaction on ``target``; refuses a target that holds any row. Returns the number
    of rows per table."""

    def read_all(conn: Conn) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        for table in TABLES:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names
            columns = list(rows[0].keys()) if rows else []
            tables[table] = (columns, [tuple(r) for r in rows])
        return tables

    everything = await source.read(read_all)

    def write_all(conn: Conn) -> dict[str, int]:
        for table in TABLES:
            if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall():  # noqa: S608
                raise DatabaseError(f"the target database is not empty (table {table} has rows)")
        counts: dict[str, int] = {}
        for table in TABLES:
            columns, rows = everything[table]
            counts[table] = len(rows)
            if not rows:
                continue
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            for start in range(0, len(rows), _BATCH):
                conn.executemany(sql, [_plain(r) for r in rows[start:start + _BATCH]])
        if target.backend == "postgresql":
            for reset in _RESET_IDS:
                conn.execute(reset).fetchall()
        return counts

    return await target.write(write_all)


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLite hands BLOBs back as bytes already; memoryview from elsewhere becomes bytes.
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
