"""The subprocess harness (``tests/standins/launch.py``): Warden as its own process gets
ready in the Discord stand-in, answers, survives SIGKILL and a restart over the same
database, stops on SIGTERM, and a process that cannot start says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crypto import generate_key
from tests.linking_rig import free_port
from tests.report_rig import world_settings
from tests.standins.bungie import BungieStandin
from tests.standins.discord import DiscordStandIn
from tests.standins.launch import LaunchError, WardenProcess
from tests.standins.sanctions import SanctionsStandin

pytestmark = pytest.mark.usefixtures("isolated_env")


async def test_kill_restart_and_graceful_stop(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with BungieStandin() as bungie, SanctionsStandin() as sanctions:
        settings = world_settings(tmp_path, discord_standin, bungie, sanctions, free_port(),
                                  generate_key())
        async with WardenProcess.for_settings(settings, workdir=tmp_path / "run",
                                              discord=discord_standin) as bot:
            await bot.sync_commands(discord_standin.guild.id)
            first = await bot.start()
            assert first.seconds_to_ready is not None and bot.memory()["rss_kb"] > 10_000
            about = await discord_standin.slash(discord_standin.guild.reporter, "about")
            assert "Warden" in (await about.wait_final()).text

            assert await bot.kill() == -9
            assert first.ended_by == "SIGKILL" and not bot.running
            second = await bot.start()
            about = await discord_standin.slash(discord_standin.guild.reporter, "about")
            assert "Warden" in (await about.wait_final()).text

            assert await bot.terminate() == 0
            assert second.ended_by == "SIGTERM" and not bot.unexpected_exits
            assert "ready as" in bot.log_text(second)
            assert (await bot.cli("audit", "verify")).code == 0


async def test_a_process_that_cannot_start_says_why(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with BungieStandin() as bungie:
        settings = world_settings(tmp_path, discord_standin, bungie, None, free_port(),
                                  generate_key())
        bot = WardenProcess.for_settings(settings, workdir=tmp_path / "run",
                                         discord=discord_standin,
                                         extra_env={"OUTBOX_MAX_ATTEMPTS": "zero"})
        with pytest.raises(LaunchError, match="OUTBOX_MAX_ATTEMPTS"):
            await bot.start()
        assert bot.unexpected_exits and bot.unexpected_exits[0].returncode == 2
