"""After a restore, row ids and numbers start again from the backup's last one. A new
report then has the id of one the game backend already holds, so a look-up by that id
after an ambiguous send would find the lost report and never send the new one. Each
report's random id (``warden_report_uuid``) is what reconciliation matches on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import NewReport
from bot.store import Database, Store
from tests.report_rig import NO_LIMITS, run_warden
from tests.standins.discord import DiscordStandIn
from tests.standins.sanctions import REPORTS_ROUTE, Player, SanctionsStandin
from tests.support import clean_env
from tests.test_ops_backup import cli, prepare, standin_settings, until_all_sent


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, tmp_path)


async def file_report(store: Store, guild_id: int, reporter: tuple[int, Player],
                      target: Player, text: str) -> int:
    draft = await store.reports.create_draft(NewReport(
        guild_id=guild_id, channel_id=None, reporter_id=reporter[0], reason="cheating",
        target_key=f"game:{target.uuid}", description=text,
        target_player_uuid=str(target.uuid), reporter_player_uuid=str(reporter[1].uuid)))
    await store.reports.accept(draft.id, limits=NO_LIMITS, actor_id=reporter[0],
                               deliveries=[("sanctions", "pending")])
    return draft.id


async def test_a_report_numbered_like_a_lost_one_after_a_restore_is_still_delivered(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    live = tmp_path / "data" / "warden.db"
    backup = tmp_path / "backups" / "warden-backup.db"
    guild = discord_standin.guild
    async with SanctionsStandin() as rh:
        alice, bob = rh.add_player("AliceInGame"), rh.add_player("BobInGame")
        reporter = (guild.reporter.user.id, alice)
        settings = standin_settings(live, discord_standin, rh, api_retry_base_delay=0.01,
                                    outbox_retry_base_seconds=0.02,
                                    outbox_retry_max_seconds=0.1)
        db = await Database.open(live)
        store = Store(db)
        await prepare(store, guild.id, [reporter, (guild.target.user.id, bob)])
        await file_report(store, guild.id, reporter, bob, "before the backup")
        await db.backup_to(backup)
        lost = await file_report(store, guild.id, reporter, bob, "after the backup: lost")
        await db.close()
        async with run_warden(settings, discord_standin) as bot:
            await until_all_sent(bot.services.store, 2)
        assert [r["description"] for r in rh.reports_with_warden_id(str(lost))] == [
            "after the backup: lost"]

        code, _, err = await cli("restore", str(backup), database=live, cwd=tmp_path)
        assert code == 0, err

        db = await Database.open(live)
        store = Store(db)
        again = await file_report(store, guild.id, reporter, bob, "after the restore")
        new = await store.reports.get(again)
        await db.close()
        assert new is not None and again == lost and new.number == 2, (
            "the restored database hands out the lost report's id and number again")
        # The new report's send is lost on the way (it did not land): Warden must look
        # upstream, and what it finds under id 2 is the lost report, not this one.
        rh.inject("drop", path=REPORTS_ROUTE, method="POST", landed=False)
        async with run_warden(settings, discord_standin) as bot:
            await until_all_sent(bot.services.store, 2)
            delivered = await bot.services.store.deliveries.get(again, "sanctions")
        descriptions = [r["description"] for r in rh.reports]
        assert descriptions.count("after the restore") == 1, descriptions
        assert descriptions.count("before the backup") == 1, "nothing sent twice"
        assert rh.report_count == 3
        [upstream] = [r for r in rh.reports if r["description"] == "after the restore"]
        assert delivered is not None and delivered.upstream_id == upstream["report_id"]
        assert upstream["custom_data"]["warden_report_uuid"] == new.uuid
        assert upstream["custom_data"]["warden_report_id"] == str(again)
