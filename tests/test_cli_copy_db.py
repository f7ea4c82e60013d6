"""``python -m bot copy-db``: a SQLite installation moved into PostgreSQL, every row."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bot.domain import NewReport, ReportLimits
from bot.store import Database, Store
from tests.store.test_links import new_link
from tests.test_cli import run_cli

LIMITS = ReportLimits(short_count=5, short_seconds=1, hour_count=50, day_count=50,
                      target_cooldown_hours=0)


async def _installation(path: Path) -> None:
    db = await Database.open(path)
    store = Store(db)
    try:
        await store.guilds.update(10, actor_id=7, review_channel_id=100)
        await store.links.upsert(new_link(tag="moved"), now=100.0)
        for i in range(3):
            draft = await store.reports.create_draft(NewReport(
                guild_id=10, channel_id=1, reporter_id=20 + i, reason="cheating",
                target_key=f"bungie:{i}", description="aimbot"), now=1000.0 + i)
            await store.reports.accept(draft.id, limits=LIMITS, actor_id=20 + i,
                                       deliveries=[("sanctions", "pending")], now=1000.0 + i)
        await store.kv.set("bungie_mode", "handoff")
    finally:
        await db.close()


async def test_copy_db_moves_every_row_and_the_audit_chain_verifies(
    tmp_path: Path, postgres_url: str
) -> None:
    await _installation(tmp_path / "data" / "warden.db")
    result = run_cli("copy-db", "--to", postgres_url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit chain intact on the copy" in result.stdout

    env = {"DATABASE_URL": postgres_url}
    verified = run_cli("audit", "verify", cwd=tmp_path, env=env)
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact" in verified.stdout
    with psycopg.connect(postgres_url) as conn:
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[index]  # noqa: S608
                  for t in ("reports", "deliveries", "account_links", "audit_log", "kv_state",
                            "cases")}
        token = conn.execute("SELECT access_token FROM account_links").fetchone()
    assert counts == {"reports": 3, "deliveries": 3, "account_links": 1, "audit_log": 5,
                      "kv_state": 1, "cases": 3}
    assert token is not None and b"sealed-access-moved" in bytes(token[0])  # still sealed

    # The copy works on: the next report continues the numbers and ids.
    db = await Database.open(postgres_url)
    try:
        draft = await Store(db).reports.create_draft(NewReport(
            guild_id=10, channel_id=1, reporter_id=99, reason="afk", target_key="x"))
        assert draft.number == 4 and draft.id == 4
    finally:
        await db.close()

    again = run_cli("copy-db", "--to", postgres_url, cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr
