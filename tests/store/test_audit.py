from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from bot.store import Database, Store


@pytest.fixture
async def store(store_location: Path | str):
    db = await Database.open(store_location)
    yield Store(db)
    await db.close()


async def test_chain_verifies_and_never_stores_tokens(store: Store) -> None:
    await store.audit.record("link.created", actor_id=1, details={"provider": "bungie"})
    await store.audit.record(
        "link.refreshed", actor_id=1, details={"access_token": "secret-value", "ok": True}
    )
    check = await store.audit.verify()
    assert check.ok and check.rows_checked == 2
    raw = await store.db.fetch_all("SELECT details FROM audit_log")
    assert all("secret-value" not in r[0] for r in raw)


async def test_update_and_delete_are_refused(store: Store) -> None:
    await store.audit.record("report.created", report_id=1)
    with pytest.raises((sqlite3.IntegrityError, psycopg.Error), match="append-only"):
        await store.db.execute("UPDATE audit_log SET action = 'x'")
    with pytest.raises((sqlite3.IntegrityError, psycopg.Error), match="append-only"):
        await store.db.execute("DELETE FROM audit_log")


async def test_verify_names_the_first_edited_row(store: Store) -> None:
    for n in range(5):
        await store.audit.record("report.created", report_id=n)
    # An attacker with file access drops the trigger and edits row 3.
    await store.db.execute(
        "DROP TRIGGER audit_log_no_update ON audit_log"
        if store.db.backend == "postgresql" else "DROP TRIGGER audit_log_no_update"
    )
    await store.db.execute("UPDATE audit_log SET details = '{\"x\":1}' WHERE id = 3")
    check = await store.audit.verify()
    assert not check.ok
    assert check.first_broken_id == 3
    assert check.rows_checked == 2
