"""Bungie's own words in the member's language: the activity picker names activities from
the manifest in the language of the member's Discord, and the draft names the category and
reason Bungie.net files the report under, both cached per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report_rig import report_world
from tests.standins.discord import DiscordStandIn

pytestmark = pytest.mark.usefixtures("isolated_env")

BURNOUT = 588019350
ENTITY = "DestinyActivityDefinition"


async def test_activity_names_come_in_the_members_language(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.bungie.manifest_entities[(ENTITY, BURNOUT)] = {
            "hash": BURNOUT, "displayProperties": {"name": "Burnout"}}
        w.bungie.manifest_translations[(ENTITY, BURNOUT, "de")] = {
            "hash": BURNOUT, "displayProperties": {"name": "Ausgebrannt"}}
        w.bungie.manifest_translations[(ENTITY, BURNOUT, "es-mx")] = {
            "hash": BURNOUT, "displayProperties": {"name": "Agotamiento"}}
        w.activity(w.alice_bungie, w.bob_bungie, hours_ago=2)

        w.alice.user.locale = "de"
        [german] = await w.discord.autocomplete(w.alice, "report", "activity", "")
        assert "Ausgebrannt" in german["name"] and "Burnout" not in german["name"]
        assert "vor 2 Stunden" in german["name"] and "ago" not in german["name"]

        w.alice.user.locale = "es-419"  # Discord's Latin American Spanish: Bungie's es-mx
        [spanish] = await w.discord.autocomplete(w.alice, "report", "activity", "")
        assert "Agotamiento" in spanish["name"]

        w.alice.user.locale = "en-US"
        [english] = await w.discord.autocomplete(w.alice, "report", "activity", "")
        assert "Burnout" in english["name"]


async def test_a_german_member_sees_bungies_german_report_categories(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        activity = str(w.activity())

        w.alice.user.locale = "de"
        german = await w.report(w.alice, reason="cheating", player="Bob#0042",
                                activity=activity)
        assert "Betrug › Hacken" in german.text and "Cheating ›" not in german.text

        w.alice.user.locale = "fr"
        french = await w.report(w.alice, reason="afk", player="Bob#0042", activity=activity)
        assert "Inactivité › Absent" in french.text

        w.alice.user.locale = "en-US"
        english = await w.report(w.alice, reason="cheating", player="Bob#0042",
                                 activity=activity)
        assert "Cheating › Hacking" in english.text

        # Fetched once per language, then cached (and kept for the next start).
        asked = [r for r in w.bungie.requests
                 if "DestinyReportReasonCategoryDefinition" in r.path]
        assert len([r for r in asked if r.query.get("lc") == "de"]) == 9
        assert len([r for r in asked if r.query.get("lc") == "fr"]) == 9
        assert await w.store.kv.get("bungie_reason_names:de") is not None
