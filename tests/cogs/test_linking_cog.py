"""Account linking as a member lives it: slash commands in the Discord stand-in, a DM
with a button, a browser through the Bungie or sanctions stand-in, and back.

The bot is built by ``bot.runtime.open_app`` from settings that point every outside
service at its stand-in, so the wiring (clients, service, web server start/stop) is
what production runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import httpx
import pytest
from discord import app_commands

from bot.app import WardenBot
from bot.crypto import generate_key
from bot.domain import Provider
from bot.runtime import open_app
from bot.settings import Settings, load_settings
from tests.linking_rig import Browser, free_port, raw_database_files
from tests.standins.bungie import BungieStandin
from tests.standins.discord import DiscordStandIn, Member, RecordedMessage, run_bot
from tests.standins.discord.models import iter_components
from tests.standins.sanctions import SanctionsStandin


@dataclass
class World:
    discord: DiscordStandIn
    bungie: BungieStandin
    sanctions: SanctionsStandin
    bot: WardenBot
    settings: Settings
    base_url: str
    browser: Browser

    @property
    def alice(self) -> Member:
        return self.discord.guild.member("alice")


def link_buttons(message: RecordedMessage) -> list[str]:
    return [c["url"] for c in iter_components(message.components) if c.get("url")]


@asynccontextmanager
async def world(
    tmp_path: Path,
    discord_standin: DiscordStandIn,
    *,
    sanctions: bool = True,
    linking: bool = True,
    extra_commands: list[app_commands.Command[Any, Any, Any]] | None = None,
) -> AsyncIterator[World]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    async with (
        BungieStandin(redirect_url=f"{base_url}/oauth/bungie/callback") as bungie,
        SanctionsStandin(redirect_uris=(f"{base_url}/oauth/game/callback",)) as rh,
    ):
        browser = Browser()
        values: dict[str, Any] = {
            "database_path": tmp_path / "warden.db",
            "discord_api_base_url": discord_standin.api_base_url,
            "discord_gateway_url": discord_standin.gateway_url,
            "bungie_api_key": bungie.api_key,
            "bungie_client_id": bungie.client_id,
            "bungie_client_secret": bungie.client_secret,
            "bungie_api_base_url": bungie.api_base_url,
            "bungie_stats_base_url": bungie.stats_base_url,
            "bungie_oauth_authorize_url": bungie.authorize_url,
            "bungie_oauth_token_url": bungie.token_url,
            "web_host": "127.0.0.1",
            "web_port": port,
        }
        if linking:
            values["public_base_url"] = base_url
            values["token_encryption_key"] = generate_key()
        if sanctions:
            values.update(
                sanctions_api_base_url=rh.base_url,
                sanctions_client_id=rh.client_id,
                sanctions_client_secret=rh.client_secret,
            )
        settings = load_settings(require_token=False, **values)
        try:
            async with open_app(settings, guild_ready_timeout=0.05) as bot:
                for command in extra_commands or []:
                    bot.tree.add_command(command)
                async with run_bot(bot, discord_standin):
                    yield World(discord_standin, bungie, rh, bot, settings, base_url, browser)
        finally:
            await browser.close()


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("DISCORD_", "BUNGIE_", "SANCTIONS_", "WEB_", "PUBLIC_", "TOKEN_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


async def test_link_bungie_end_to_end(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with world(tmp_path, discord_standin) as w:
        account = w.bungie.add_account("Guardian", 1234)

        reply = await (await w.discord.slash(w.alice, "link", subcommand="bungie")).wait_final()
        assert reply.ephemeral and "Check your DMs" in reply.text
        assert link_buttons(reply) == []  # the link went by DM, not into the channel

        dm = await w.discord.wait_for_dm(w.alice)
        [url] = link_buttons(dm)
        assert url.startswith(f"{w.base_url}/oauth/bungie/start?t=")
        assert "10 minutes" in dm.text

        w.bungie.login_as(account)
        page = await w.browser.link(url)
        assert page.status_code == 200
        assert "Linked as Guardian#1234 - you can close this tab" in page.text

        confirmation = await w.discord.wait_for_dm(
            w.alice, lambda m: "now linked as Guardian#1234" in m.text
        )
        assert confirmation.pings.users == frozenset()

        # Stored encrypted: no token the stand-in ever issued is in the database file.
        raw = raw_database_files(tmp_path / "warden.db")
        issued = [*w.bungie._access, *w.bungie._refresh]
        assert issued and not any(token.encode() in raw for token in issued)

        links = await (await w.discord.slash(w.alice, "links")).wait_final()
        assert links.ephemeral
        assert "Bungie.net" in links.text and "Guardian#1234" in links.text
        assert "Working" in links.text
        assert links.pings.everyone is False


async def test_link_game_and_unlink_both(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with world(tmp_path, discord_standin) as w:
        player = w.sanctions.add_player("Sniper", identities={"Steam": "765611"})
        account = w.bungie.add_account("Guardian", 1234)

        await (await w.discord.slash(w.alice, "link", subcommand="bungie")).wait_final()
        [bungie_url] = link_buttons(await w.discord.wait_for_dm(w.alice))
        w.bungie.login_as(account)
        assert (await w.browser.link(bungie_url)).status_code == 200

        handle = await w.discord.slash(
            w.alice, "link", subcommand="game", options={"platform": "steam"}
        )
        assert "Check your DMs" in (await handle.wait_final()).text
        dm = await w.discord.wait_for_dm(w.alice, lambda m: "Steam" in m.text)
        [game_url] = link_buttons(dm)
        w.sanctions.login_as(player)
        page = await w.browser.link(game_url)
        assert "Linked as Sniper" in page.text
        await w.discord.wait_for_dm(w.alice, lambda m: "linked as Sniper" in m.text)

        links = await (await w.discord.slash(w.alice, "links")).wait_final()
        assert "Guardian#1234" in links.text and "Sniper (Steam)" in links.text

        reply = await (
            await w.discord.slash(w.alice, "unlink", options={"which": "all"})
        ).wait_final()
        assert reply.ephemeral
        assert "Removed" in reply.text and "Guardian#1234" in reply.text
        assert "Sniper" in reply.text and "erased" in reply.text
        store = w.bot.services.store
        assert await store.db.fetch_value("SELECT COUNT(*) FROM account_links") == 0

        again = await (
            await w.discord.slash(w.alice, "unlink", options={"which": "bungie"})
        ).wait_final()
        assert "nothing was removed" in again.text
        links = await (await w.discord.slash(w.alice, "links")).wait_final()
        assert "not linked any account" in links.text


async def test_closed_dms_put_the_link_in_the_ephemeral_reply(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with world(tmp_path, discord_standin) as w:
        account = w.bungie.add_account("Guardian", 1234)
        w.discord.close_dms(w.alice)

        reply = await (await w.discord.slash(w.alice, "link", subcommand="bungie")).wait_final()

        assert reply.ephemeral and "DMs are closed" in reply.text
        [url] = link_buttons(reply)
        assert w.discord.dms_to(w.alice) == []
        w.bungie.login_as(account)
        page = await w.browser.link(url)
        assert "Linked as Guardian#1234" in page.text
        link = await w.bot.services.store.links.get(w.alice.user.id, Provider.BUNGIE)
        assert link is not None


async def test_unconfigured_provider_gets_a_specific_message(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with world(tmp_path, discord_standin, sanctions=False) as w:
        reply = await (
            await w.discord.slash(w.alice, "link", subcommand="game", options={"platform": "xbox"})
        ).wait_final()
        assert reply.ephemeral
        assert "Linking a game account is not set up on this Warden" in reply.text
        assert w.discord.dms_to(w.alice) == []


async def test_linking_switched_off_says_so_and_serves_no_oauth_route(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with world(tmp_path, discord_standin, linking=False) as w:
        assert w.bot.services.linking is None
        reply = await (await w.discord.slash(w.alice, "links")).wait_final()
        assert "Account linking is not set up" in reply.text
        # The web server runs for /healthz and /metrics, but knows no OAuth route.
        assert (await w.browser.open(f"{w.base_url}/healthz")).status_code == 200
        for path in ("/oauth/bungie/start?t=x", "/oauth/bungie/callback?code=x&state=y",
                     "/oauth/game/start?t=x", "/oauth/game/callback?code=x&state=y"):
            assert (await w.browser.open(w.base_url + path)).status_code == 404, path


async def test_web_server_runs_with_the_bot_and_stops_with_it(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with world(tmp_path, discord_standin) as w:
        assert (await w.browser.open(f"{w.base_url}/healthz")).json()["status"] == "ok"
        base = w.base_url
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{base}/healthz")


def needs_bungie_command() -> app_commands.Command[Any, Any, Any]:
    """Stands in for any feature that acts with the member's Bungie token."""

    async def whoami(interaction: discord.Interaction[WardenBot]) -> None:
        linking = interaction.client.services.linking
        assert linking is not None
        await linking.access_token(interaction.user.id, Provider.BUNGIE)
        await interaction.response.send_message("ok", ephemeral=True)

    return app_commands.Command(name="whoami", description="test", callback=whoami)


async def test_revoked_grant_prompts_a_relink_with_a_button(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with world(tmp_path, discord_standin, extra_commands=[needs_bungie_command()]) as w:
        w.bungie.access_ttl = 1  # every use needs a refresh
        account = w.bungie.add_account("Guardian", 1234)
        await (await w.discord.slash(w.alice, "link", subcommand="bungie")).wait_final()
        [url] = link_buttons(await w.discord.wait_for_dm(w.alice))
        w.bungie.login_as(account)
        assert (await w.browser.link(url)).status_code == 200

        w.bungie.revoke(account)  # as Bungie once did to every app at once
        reply = await (await w.discord.slash(w.alice, "whoami")).wait_final()

        assert reply.ephemeral
        assert "Bungie.net link no longer works" in reply.text and "/link bungie" in reply.text
        assert len(link_buttons(reply)) == 1
        links = await (await w.discord.slash(w.alice, "links")).wait_final()
        assert "Needs relinking (Bungie.net no longer accepts the sign-in)" in links.text
        w.alice.user.locale = "de"  # why it broke is stored as a reason, worded per reader
        links = await (await w.discord.slash(w.alice, "links")).wait_final()
        assert "(Bungie.net akzeptiert die Anmeldung nicht mehr)" in links.text
        w.alice.user.locale = "en-US"
        links = await (await w.discord.slash(w.alice, "links")).wait_final()
        [relink_url] = link_buttons(links)  # the newest one-time link; it replaced the first

        w.bungie.access_ttl = 3600
        page = await w.browser.link(relink_url)
        assert "Linked as Guardian#1234" in page.text
        reply = await (await w.discord.slash(w.alice, "whoami")).wait_final()
        assert reply.text == "ok"
        audit = [e.action async for e in w.bot.services.store.audit.iterate()]
        assert audit.count("link.refresh_failed") == 1 and "link.relinked" in audit


async def test_an_attackers_dm_link_opened_by_someone_else_names_the_attacker(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """Forced linking: bob sends his /link button to alice ("verify here"). Her browser
    shows whose Discord account it would link, and never reaches Bungie.net by itself."""
    async with world(tmp_path, discord_standin) as w:
        bob = w.discord.guild.member("bob")
        await (await w.discord.slash(bob, "link", subcommand="bungie")).wait_final()
        [bobs_link] = link_buttons(await w.discord.wait_for_dm(bob))

        page = await w.browser.open(bobs_link)  # in alice's browser

        assert page.status_code == 200 and page.history == []
        assert "You are linking Bungie.net to @bob on Discord" in page.text
        assert w.bungie.requests_to("/en/OAuth/Authorize") == []


async def test_a_display_name_cannot_reorder_the_confirmation_page(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """eve's display name reverses the text after it (U+202E): the page shows her unique
    @username and her display name without the control character."""
    async with world(tmp_path, discord_standin) as w:
        eve = w.discord.add_member(w.discord.add_user("eve", global_name="\u202eecila\u200b"))
        await (await w.discord.slash(eve, "link", subcommand="bungie")).wait_final()
        [link] = link_buttons(await w.discord.wait_for_dm(eve))
        page = await w.browser.open(link)
        assert "You are linking Bungie.net to @eve (ecila) on Discord" in page.text
        assert "\u202e" not in page.text and "\u200b" not in page.text
