"""``/warden setup language:``: review posts, moderator answers and ``/reports`` in the
server's language, which defaults to the server's own preferred locale."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cogs.test_review_post import post_of, staff_setup
from tests.i18n.fake_catalogs import translated
from tests.review_rig import review_world
from tests.standins.discord import DiscordStandIn

pytestmark = pytest.mark.usefixtures("isolated_env")

FRENCH = {
    "Reported player": "Joueur signalé",
    "Claim": "Prendre en charge",
    "Open": "Ouvert",
    "Reports ({total})": "Signalements ({total})",
}
GERMAN = {"Reported player": "Gemeldeter Spieler"}


async def test_review_post_answers_and_reports_use_the_chosen_language(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    with translated("fr", FRENCH), translated("de", GERMAN):
        async with review_world(tmp_path, discord_standin) as w:
            w.mod.user.locale = "de"  # the moderator's own client language does not matter
            await staff_setup(w, language="fr")
            assert (await w.store.guilds.get(w.guild_id)).language == "fr"
            report = await w.accept_report()
            post = await post_of(w, report)
            assert "Joueur signalé" in post.text and "Reported player" not in post.text
            assert "Ouvert" in post.text
            claim = post.component(f"warden:review:claim:{report.id}")
            assert claim is not None and claim["label"] == "Prendre en charge"

            listed = await (await w.discord.slash(w.mod, "reports", subcommand="list")
                            ).wait_final()
            assert "Signalements (1)" in listed.text


async def test_without_a_choice_the_server_preferred_locale_is_used(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    with translated("de", GERMAN):
        discord_standin.guild.preferred_locale = "de"
        async with review_world(tmp_path, discord_standin) as w:
            await staff_setup(w)
            assert (await w.store.guilds.get(w.guild_id)).language is None
            post = await post_of(w, await w.accept_report())
            assert "Gemeldeter Spieler" in post.text
