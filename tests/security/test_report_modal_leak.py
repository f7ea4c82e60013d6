"""Issue 12 item 8: a report form a member dismisses leaves discord.py's view store once
its timeout passes, so right-click spam cannot grow memory without bound."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.report_rig import report_world
from tests.standins.discord import DiscordStandIn


async def test_dismissed_report_forms_leave_the_view_store(
    tmp_path: Path, discord_standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        # The module the running bot loaded (discord.py drops a cog's modules from
        # sys.modules when an earlier bot unloads the extension, so it may be a new one).
        monkeypatch.setattr(sys.modules["cogs.report.modal"], "MODAL_TIMEOUT", 4.0,
                            raising=False)
        await w.link_everyone()
        store = w.bot._connection._view_store
        for _ in range(5):  # opened and never submitted
            handle = await w.discord.user_command(w.alice, "Report player", w.bob)
            await handle.modal()
        # discord.py stores a form once the HTTP call that opened it has returned.
        await w.discord.wait_until(lambda: len(store._modals) == 5, timeout=3.0,
                                   description="five forms in the view store")
        await w.discord.wait_until(lambda: not store._modals, timeout=8.0,
                                   description="the dismissed forms to time out")
