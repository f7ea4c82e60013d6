"""Installation-wide facts learned at run time, as small JSON values."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.store import audit
from bot.store.database import Conn, Database

WRITE_PROBE_KEY = "health.write_probe"


class KeyValueStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> Any:
        raw = await self._db.fetch_value("SELECT value FROM kv_state WHERE key = ?", (key,))
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, *, audit_action: str | None = None) -> None:
        now = time.time()
        encoded = json.dumps(value)

        def store(conn: Conn) -> None:
            conn.execute(
                "INSERT INTO kv_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, encoded, now),
            )
            if audit_action:
                audit.append(conn, audit_action, details={"key": key, "value": value}, at=now)

        await self._db.write(store)

    async def probe_write(self) -> None:
        """A real, tiny write (the time, under a reserved key): raises if the database
        cannot take writes (read-only file, full disk, a lock held too long)."""
        await self.set(WRITE_PROBE_KEY, time.time())
