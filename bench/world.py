"""A Warden world for benchmarks: the three stand-ins on loopback, a SQLite file with
linked members, and the environment that points a ``bench.child`` process at them.

The pieces come from ``tests/``: the stand-ins, ``tests.report_rig.world_settings``
for the settings and ``bungie_link``/``game_link`` for link rows sealed with the
installation key, exactly as the linking flow stores them. Delivery and retry
settings are Warden's defaults (the test rig shortens them), and the stand-ins keep
counters rather than full request records.

Every member is linked on both sides. The first ``targets`` members are the players
reported; each report comes from another member, about a target, in an activity
(a PGCR) that both played in, so it is checked and delivered to both stand-ins.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.crypto import TokenBox, generate_key
from bot.domain import ReviewMode
from bot.settings import Settings
from bot.store import Database, Store
from tests.linking_rig import free_port
from tests.report_rig import FAST, ReportWorld, bungie_link, game_link, world_settings
from tests.standins.bungie import Account, BungieStandin
from tests.standins.discord import (
    DiscordStandIn,
    InteractionHandle,
    Member,
    RecordedMessage,
    start_discord_standin,
)
from tests.standins.launch import settings_env
from tests.standins.sanctions import Player, SanctionsStandin

TOKEN = "bench-token"
DEFAULTS: dict[str, Any] = {name: Settings.model_fields[name].default for name in FAST}
"""The rig's shortened retry and timeout settings, put back to Warden's defaults."""
UNPACED = 100_000.0
"""Bungie requests per second: Warden paces its calls to Bungie at 25/s, the real
Bungie's per-IP budget, which caps reports with an activity at 12.5/s. The stand-in
does not throttle, and the benchmarks measure Warden, not that budget."""


@dataclass(frozen=True)
class Linked:
    member: Member
    account: Account
    player: Player


@dataclass(frozen=True)
class Job:
    """One report to make: who, about whom, in which activity."""

    reporter: Linked
    target: Linked
    activity: int

    @property
    def options(self) -> dict[str, Any]:
        return {"reason": "cheating", "player": self.target.account.bungie_name,
                "activity": str(self.activity)}


@dataclass
class World:
    workdir: Path
    discord: DiscordStandIn
    bungie: BungieStandin
    sanctions: SanctionsStandin
    settings: Settings
    targets: list[Linked]
    reporters: list[Linked]

    def warden_env(self) -> dict[str, str]:
        """Warden's settings as the environment ``python -m bot run`` reads."""
        return settings_env(self.settings)

    def bare_env(self) -> dict[str, str]:
        return {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE_URL": self.discord.api_base_url,
                "DISCORD_GATEWAY_URL": self.discord.gateway_url}

    def jobs(self, count: int) -> list[Job]:
        """``count`` reports, each by the next reporter in turn, each in a new activity."""
        found: list[Job] = []
        for index in range(count):
            reporter = self.reporters[index % len(self.reporters)]
            target = self.targets[index % len(self.targets)]
            activity = self.bungie.add_pgcr([reporter.account, target.account])
            found.append(Job(reporter, target, activity))
        return found


def fresh_dir(workdir: Path, database_name: str) -> None:
    """``workdir`` exists and holds no database (nor its WAL) from an earlier run."""
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob(database_name + "*"):
        old.unlink()


async def link_members(db_path: Path | str, key: str, bungie: BungieStandin,
                       sanctions: SanctionsStandin, members: list[Member],
                       first_code: int = 1000) -> list[Linked]:
    """Accounts on both stand-ins for every member, and the link rows Warden reads."""
    box = TokenBox([key])
    db = await Database.open(db_path)
    try:
        store = Store(db)
        linked: list[Linked] = []
        for index, member in enumerate(members):
            name = f"Guardian{index}"
            account = bungie.add_account(name, first_code + index % 9000)
            player = sanctions.add_player(f"{name}InGame")
            await store.links.upsert(bungie_link(box, bungie, member.user.id, account))
            await store.links.upsert(game_link(box, sanctions, member.user.id, player))
            linked.append(Linked(member, account, player))
        return linked
    finally:
        await db.close()


async def configure_guilds(db_path: Path | str, discord: DiscordStandIn) -> None:
    """Every server reviews in ``#reports`` and forwards at once, with default limits."""
    db = await Database.open(db_path)
    try:
        store = Store(db)
        for guild in discord.guilds:
            await store.guilds.update(guild.id, actor_id=None, review_mode=ReviewMode.AUTO,
                                      review_channel_id=guild.channel("reports").id)
    finally:
        await db.close()


@asynccontextmanager
async def open_world(workdir: Path, *, members: int, targets: int = 20, guilds: int = 1,
                     database_url: str | None = None,
                     **standin_options: Any) -> AsyncIterator[World]:
    """The stand-ins with ``members`` linked members in the first of ``guilds`` servers
    (stored in SQLite in ``workdir``, or in the PostgreSQL database ``database_url``)."""
    targets = max(1, min(targets, members // 2))
    fresh_dir(workdir, "warden.db")
    standin_options.setdefault("default_timeout", 60.0)
    standin_options.setdefault("record", False)
    async with AsyncExitStack() as stack:
        discord = await stack.enter_async_context(
            start_discord_standin(extra_members=members, **standin_options))
        for number in range(1, guilds):
            discord.add_guild(f"Server {number}")
        # The POST floors replay the very reports Warden files: no 1403 for the repeats.
        bungie = await stack.enter_async_context(BungieStandin(record=False,
                                                               refuse_repeats=False))
        sanctions = await stack.enter_async_context(SanctionsStandin(record=False))
        key = generate_key()
        settings = world_settings(workdir, discord, bungie, sanctions, free_port(), key,
                                  discord_token=TOKEN, bungie_requests_per_second=UNPACED,
                                  database_url=database_url, **DEFAULTS)
        extra = [m for m in discord.guild.members.values()
                 if m.user.username.startswith("member")]
        started = time.perf_counter()
        linked = await link_members(settings.database_location(), key, bungie, sanctions,
                                    extra)
        await configure_guilds(settings.database_location(), discord)
        took = time.perf_counter() - started
        if members >= 1000:
            print(f"  (world: {members} members linked in {took:.1f} s)", flush=True)
        # The stand-ins' world is built once and lives to the end: keep the collector
        # from walking it again and again while the measured processes run.
        gc.collect()
        gc.freeze()
        yield World(workdir, discord, bungie, sanctions, settings,
                    targets=linked[:targets], reporters=linked[targets:])


async def report(world: World, job: Job, *, within: float = 60.0) -> RecordedMessage:
    """``/report`` as the member types it; returns the draft the bot showed."""
    handle = await world.discord.slash(job.reporter.member, "report", options=job.options,
                                       timeout=within)
    return await handle.wait_final(timeout=within)


async def confirm(world: World, job: Job, draft: RecordedMessage, *,
                  within: float = 60.0) -> RecordedMessage:
    """Press Confirm on the draft; returns the draft once Warden edited it into the
    report's final status (every destination answered)."""
    custom_id = ReportWorld.confirm_id(draft)
    handle: InteractionHandle = await world.discord.click(job.reporter.member, draft,
                                                          custom_id, timeout=within)
    return await handle.wait_final(settled, timeout=within)


def settled(message: RecordedMessage) -> bool:
    """The reporter's status message says where every copy of the report ended up."""
    return "is confirmed and saved" in message.text and "sending…" not in message.text
