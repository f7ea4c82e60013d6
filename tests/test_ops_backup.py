"""Backup while Warden writes, and the documented restore: ``python -m bot backup`` and
``python -m bot restore`` as an operator runs them, then a real Warden over the result."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.crypto import TokenBox, generate_key
from bot.domain import NewReport, Provider, ReviewMode
from bot.settings import Settings, load_settings
from bot.store import Database, Store
from bot.store.deliveries import RESTORED
from bot.store.links import NewLink, SealedTokens
from tests.report_rig import NO_LIMITS, run_warden
from tests.standins.discord import DiscordStandIn
from tests.standins.sanctions import Player, SanctionsStandin

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("isolated_env")


async def cli(*args: str, database: Path, cwd: Path) -> tuple[int, str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(ROOT),
           "DATABASE_PATH": str(database)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


async def until_all_sent(store: Store, count: int) -> None:
    for _ in range(400):
        done = await store.db.fetch_value(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
        if done == count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("deliveries not all sent")


async def prepare(store: Store, guild_id: int, members: list[tuple[int, Player]]) -> None:
    await store.guilds.update(
        guild_id, actor_id=None, review_mode=ReviewMode.AUTO,
        short_count=NO_LIMITS.short_count, hour_count=NO_LIMITS.hour_count,
        day_count=NO_LIMITS.day_count, target_cooldown_hours=NO_LIMITS.target_cooldown_hours)
    box = TokenBox([generate_key()])  # never opened: without linking, the service token files
    for user_id, player in members:
        await store.links.upsert(NewLink(
            discord_user_id=user_id, provider=Provider.GAME, account_id=str(player.uuid),
            display_name=player.display_name, platform="steam",
            tokens=SealedTokens(box.seal("unused"), None, None, None)))


def standin_settings(live: Path, discord: DiscordStandIn, rh: SanctionsStandin,
                     **extra: Any) -> Settings:
    """Warden over ``live`` with the Discord and sanctions stand-ins (no Bungie)."""
    return load_settings(
        require_token=False, database_path=live, web_port=0,
        discord_api_base_url=discord.api_base_url, discord_gateway_url=discord.gateway_url,
        sanctions_api_base_url=rh.base_url, sanctions_client_id=rh.client_id,
        sanctions_client_secret=rh.client_secret, **extra)


async def test_backup_during_writes_then_restore_keeps_every_report_and_sends_none_twice(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    live = tmp_path / "data" / "warden.db"
    backup = tmp_path / "backups" / "warden-backup.db"
    guild = discord_standin.guild
    async with SanctionsStandin() as rh:
        alice, bob = rh.add_player("AliceInGame"), rh.add_player("BobInGame")
        settings = standin_settings(live, discord_standin, rh, outbox_retry_base_seconds=0.02,
                                    outbox_retry_max_seconds=0.1)
        db = await Database.open(live)
        store = Store(db)
        await prepare(store, guild.id, [(guild.reporter.user.id, alice),
                                        (guild.target.user.id, bob)])

        # Warden accepting reports as fast as it can while the operator takes a backup.
        stop = asyncio.Event()

        async def keep_writing() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                draft = await store.reports.create_draft(NewReport(
                    guild_id=guild.id, channel_id=None, reporter_id=guild.reporter.user.id,
                    reason="cheating", target_key=f"game:{bob.uuid}",
                    description=f"report text {i}", target_player_uuid=str(bob.uuid),
                    reporter_player_uuid=str(alice.uuid)))
                await store.reports.accept(draft.id, limits=NO_LIMITS,
                                           actor_id=guild.reporter.user.id,
                                           deliveries=[("sanctions", "pending")])
                await asyncio.sleep(0.02)  # a busy server's pace, not a benchmark's

        writer = asyncio.create_task(keep_writing())
        await asyncio.sleep(0.3)  # some reports before the backup starts
        before = await store.reports.count_accepted()
        code, out, err = await cli("backup", str(backup), database=live, cwd=tmp_path)
        after = await store.reports.count_accepted()
        stop.set()
        await writer
        total = await store.reports.count_accepted()
        await db.close()
        assert code == 0, err
        assert after > before, "the backup should have run while reports were written"

        # Warden goes on and delivers everything, including reports the backup lacks.
        async with run_warden(settings, discord_standin) as bot:
            await until_all_sent(bot.services.store, total)
        assert rh.report_count == total

        # The disk dies, say: the operator stops Warden and restores the backup.
        code, out, err = await cli("restore", str(backup), database=live, cwd=tmp_path)
        assert code == 0, err
        assert "audit chain intact" in out and "kept as" in out
        kept = [p for p in live.parent.iterdir() if ".before-restore-" in p.name]
        assert kept, "the replaced database must be kept, not deleted"
        restored_db = await Database.open(live, migrate=False)
        try:
            check = await Store(restored_db).audit.verify()
        finally:
            await restored_db.close()
        assert check.ok, check.problem

        # The restored file: sound, and exactly the reports of the moment of the backup,
        # each whole (a consistent snapshot, not a torn copy).
        assert rows(live, "PRAGMA integrity_check") == [("ok",)]
        restored = rows(live, "SELECT r.id, r.description, d.status, d.last_error FROM reports r"
                              " JOIN deliveries d ON d.report_id = r.id ORDER BY r.id")
        assert before <= len(restored) <= after
        [previous] = [p for p in kept if not p.name.endswith(("-wal", "-shm"))]
        old = dict(rows(previous, "SELECT id, description FROM reports"))
        for report_id, description, status, last_error in restored:
            assert description == old[report_id]
            # Sent, perhaps, after the backup was taken: to be checked before any resend.
            assert (status, last_error) == ("pending", RESTORED)

        # The next start checks each one upstream and finds it there: nothing twice.
        async with run_warden(settings, discord_standin) as bot:
            await until_all_sent(bot.services.store, len(restored))
        assert rh.report_count == total
        for report_id in range(1, total + 1):
            assert len(rh.reports_with_warden_id(str(report_id))) == 1


def _one_report_database(path: Path) -> None:
    async def make() -> None:
        db = await Database.open(path)
        store = Store(db)
        draft = await store.reports.create_draft(NewReport(
            guild_id=1, channel_id=None, reporter_id=3, reason="cheating",
            target_key="game:x", description="the only report"))
        await store.reports.accept(draft.id, limits=NO_LIMITS, actor_id=3,
                                   deliveries=[("sanctions", "pending")])
        await db.close()

    asyncio.run(make())


def test_restore_refuses_a_damaged_or_tampered_backup_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    live = tmp_path / "warden.db"
    _one_report_database(live)
    monkeypatch.setenv("DATABASE_PATH", str(live))
    original = live.read_bytes()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    assert main(["restore", str(garbage)]) == 2
    assert "not a database" in capsys.readouterr().err

    tampered = tmp_path / "tampered.db"
    assert main(["backup", str(tampered)]) == 0
    with closing(sqlite3.connect(tampered)) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET details = '{}' WHERE id = 1")
        conn.commit()
    capsys.readouterr()
    assert main(["restore", str(tampered)]) == 2
    err = capsys.readouterr().err
    assert "audit chain broken at row 1" in err and "nothing was changed" in err

    assert main(["restore", str(tmp_path / "missing.db")]) == 2
    assert live.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "garbage.db", "tampered.db", "warden.db"]
