"""What Warden owes a reporter survives a stop: a report's outcome, a moderator's question
and a moderator's decision are each told exactly once, by DM at the next start if the
process that owed them could not."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.domain import NewReport
from bot.services.review.ports import Actor
from bot.store import Database, Store
from tests.report_rig import NO_LIMITS, run_warden
from tests.standins.discord import DiscordStandIn
from tests.standins.discord.models import RecordedMessage
from tests.standins.sanctions import SanctionsStandin
from tests.support import clean_env
from tests.test_ops_backup import prepare, standin_settings

DM_CHANNEL = r"^/users/@me/channels$"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, tmp_path)


def titles(messages: list[RecordedMessage]) -> list[str]:
    return sorted(str(e.get("title")) for m in messages for e in m.embeds)


async def until_dms(discord: DiscordStandIn, user: object, count: int) -> list[RecordedMessage]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = discord.dms_to(user)  # type: ignore[arg-type]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} DM(s), got {titles(discord.dms_to(user))}")  # type: ignore[arg-type]


async def test_outcomes_questions_and_decisions_cut_off_by_a_stop_are_told_once_at_start(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    discord = discord_standin
    guild, alice = discord.guild, discord.guild.reporter
    live = tmp_path / "warden.db"
    async with SanctionsStandin() as rh:
        alice_game, bob_game = rh.add_player("AliceInGame"), rh.add_player("BobInGame")
        settings = standin_settings(live, discord, rh)
        db = await Database.open(live)
        store = Store(db)
        await prepare(store, guild.id, [(alice.user.id, alice_game),
                                        (guild.target.user.id, bob_game)])
        ids = []
        for i in range(3):
            draft = await store.reports.create_draft(NewReport(
                guild_id=guild.id, channel_id=None, reporter_id=alice.user.id,
                reason="cheating", target_key=f"game:{bob_game.uuid}:{i}",
                description=f"report {i}", target_player_uuid=str(bob_game.uuid),
                reporter_player_uuid=str(alice_game.uuid)))
            await store.reports.accept(draft.id, limits=NO_LIMITS, actor_id=alice.user.id,
                                       deliveries=[("sanctions", "held")])
            ids.append(draft.id)
        await db.close()

        moderator = Actor(user_id=guild.owner.user.id, manages_server=True)
        async with run_warden(settings, discord) as bot:
            review = bot.services.lifecycle
            # Discord cannot open DMs now: the question and the decision do not reach her.
            rule = discord.fail_next("POST", DM_CHANNEL, 503, times=2)
            asked = await review.ask_reporter(guild.id, ids[1], moderator,
                                              question="Which round was it?")
            closed = await review.dismiss(guild.id, ids[2], moderator, reason="no proof",
                                          to_reporter="Send a clip next time.")
            assert rule.hits == 2
            assert "failed" in (asked.message or "") and "failed" in (closed.message or "")
        assert discord.dms_to(alice) == [], "nothing reached the reporter before the stop"

        # A process delivered report 1 and died before anything told the reporter: the
        # delivery is recorded, its announcement never happened.
        db = await Database.open(live)
        await Store(db).deliveries.finish(ids[0], "sanctions", status="sent", upstream_id="up-1")
        await db.close()

        async with run_warden(settings, discord) as bot:
            told = await until_dms(discord, alice, 3)
            await asyncio.sleep(0.3)  # time for a duplicate to show up, were there one
        assert titles(discord.dms_to(alice)) == sorted([
            "Report #1: delivery", "Report #2: the moderators have a question",
            "Report #3: no action"]), titles(told)
        texts = " ".join(str(e.get("description")) for m in told for e in m.embeds)
        assert "Which round was it?" in texts and "Send a clip next time." in texts
        assert "up-1" in texts

        # Told means told: another start sends nothing again.
        async with run_warden(settings, discord) as bot:
            await asyncio.sleep(0.5)
            waiting = await bot.services.store.notices.untold()
        assert waiting == []
        assert len(discord.dms_to(alice)) == 3
