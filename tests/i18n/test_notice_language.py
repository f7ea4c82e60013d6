"""A moderator's decision is stored as a message id with its parameters, not as English
words, and reaches the reporter in the language they last used Warden in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cogs.test_review_post import _mod_actor, staff_setup
from tests.i18n.fake_catalogs import translated
from tests.review_rig import review_world
from tests.standins.discord import DiscordStandIn

pytestmark = pytest.mark.usefixtures("isolated_env")

CLOSED = ("The moderators reviewed your report #{number} ({reason}) about {target} and "
          "closed it: no action was taken.")
FRENCH = {
    "Report #{number}: no action": "Signalement n°{number} : clos",
    CLOSED: "Les modérateurs ont clos votre signalement n°{number} ({reason}) sur {target}.",
    "{closed}\n\nMessage from the moderators: {message}":
        "{closed}\n\nMessage des modérateurs : {message}",
    "Cheating": "Triche",
}


async def test_a_decision_is_told_in_the_reporters_language(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    with translated("fr", FRENCH):
        async with review_world(tmp_path, discord_standin) as w:
            await staff_setup(w)
            await w.store.locales.remember(w.alice.id, "fr")
            report = await w.accept_report()
            await w.lifecycle.dismiss(w.guild_id, report.id, await _mod_actor(w),
                                      reason="no proof", to_reporter="Send a clip next time")

            dm = await w.discord.wait_for_dm(w.alice)
            assert "Signalement n°1 : clos" in dm.text
            assert ("Les modérateurs ont clos votre signalement n°1 (Triche) sur Bob#1234."
                    "\n\nMessage des modérateurs : Send a clip next time") in dm.text

            rows = await w.store.db.fetch_all(
                "SELECT title, body, words FROM reporter_notices WHERE kind = 'decision'")
            [(title, body, words)] = [tuple(r) for r in rows]
            assert title is None and body is None  # no English copy
            stored = json.loads(words)
            assert stored["title"]["id"] == "Report #{number}: no action"
            assert stored["body"]["params"]["closed"]["id"] == CLOSED
