"""Who reports whom: members of the Discord stand-in's guild, each with a Bungie.net
account and a game player in the API stand-ins and both accounts linked in Warden's
database, and one planned report ("job") per activity.

Every job has its own activity (a PGCR with the reporter and the target in it), so each
accepted report is the only one for its (activity, offender, reporter): a second Bungie
report for that triple can only be a duplicate delivery.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from bot.crypto import TokenBox
from bot.domain import Reason, ReviewMode
from bot.settings import Settings
from bot.store import Database, Store
from tests.report_rig import NO_LIMITS, bungie_link, game_link
from tests.standins.bungie import Account, BungieStandin
from tests.standins.discord import DiscordStandIn, Member
from tests.standins.sanctions import Player, SanctionsStandin

FLOWS = ("slash-name", "slash-mention", "menu")
"""``/report`` naming the player by Bungie name or by @mention, or the "Report player"
menu and its form; every flow ends with the draft's Confirm button."""
FLOW_WEIGHTS = (0.4, 0.3, 0.3)


@dataclass(frozen=True)
class Person:
    member: Member
    account: Account
    player: Player

    @property
    def discord_id(self) -> int:
        return self.member.user.id


@dataclass(frozen=True)
class Job:
    number: int
    reporter: Person
    target: Person
    activity_id: int
    reason: str
    flow: str


def people(discord: DiscordStandIn, bungie: BungieStandin, sanctions: SanctionsStandin,
           prefix: str, count: int) -> list[Person]:
    found: list[Person] = []
    for i in range(count):
        name = f"{prefix}{i}"
        found.append(Person(
            member=discord.add_member(name.lower()),
            account=bungie.add_account(name, 1 + i % 9999),
            player=sanctions.add_player(f"{name}InGame"),
        ))
    return found


def plan(reporters: list[Person], targets: list[Person], count: int, bungie: BungieStandin,
         rng: random.Random) -> list[Job]:
    reasons = [r.value for r in Reason]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    jobs: list[Job] = []
    for number in range(count):
        reporter = reporters[number % len(reporters)]
        target = rng.choice(targets)
        activity = bungie.add_pgcr([reporter.account, target.account],
                                   period=start - timedelta(seconds=number))
        flow = rng.choices(FLOWS, FLOW_WEIGHTS)[0]
        jobs.append(Job(number, reporter, target, activity, rng.choice(reasons), flow))
    return jobs


async def seed_database(settings: Settings, discord: DiscordStandIn, bungie: BungieStandin,
                        sanctions: SanctionsStandin, everyone: list[Person]) -> None:
    """Links for everyone, and the guild set up as its admins would (review channel,
    moderator role, auto mode, no report limits), before Warden first starts."""
    box = TokenBox(settings.token_keys())
    db = await Database.open(settings.database_location())
    try:
        store = Store(db)
        for person in everyone:
            await store.links.upsert(bungie_link(box, bungie, person.discord_id, person.account))
            await store.links.upsert(game_link(box, sanctions, person.discord_id, person.player))
        guild = discord.guild
        await store.guilds.update(
            guild.id, actor_id=None, review_channel_id=guild.review_channel.id,
            moderator_role_id=guild.moderator_role.id, review_mode=ReviewMode.AUTO,
            **asdict(NO_LIMITS),
        )
    finally:
        await db.close()
