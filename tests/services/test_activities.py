"""What the activity directory keeps: PGCRs, most recently used first and at most
``PGCR_CACHE_SIZE``; a member's recent activities for a minute, and only the lists still
fresh, not one per member who ever opened the picker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from bot.apis.bungie import ActivityHistoryEntry, BungieClient, Character, Pgcr
from bot.apis.bungie.models import ActivityDetails
from bot.services.reporting.activities import PGCR_CACHE_SIZE, RECENT_TTL, ActivityDirectory
from bot.services.reporting.targets import Identity
from tests.support import Clock


class FakeBungie:
    """The two look-ups behind the picker, counted."""

    def __init__(self) -> None:
        self.profile_calls = 0
        self.pgcr_calls = 0

    async def get_pgcr(self, activity_id: int) -> Pgcr:
        self.pgcr_calls += 1
        return Pgcr(period=datetime(2026, 11, 1, tzinfo=UTC),
                    activity_details=ActivityDetails(instance_id=activity_id))

    async def get_profile_characters(self, membership_type: int,
                                     membership_id: int) -> list[Character]:
        self.profile_calls += 1
        return [Character(character_id=membership_id * 10, membership_id=membership_id,
                          membership_type=membership_type)]

    async def get_activity_history(self, membership_type: int, membership_id: int,
                                   character_id: int, **_: Any) -> list[ActivityHistoryEntry]:
        return [ActivityHistoryEntry(instance_id=character_id + 1, mode=5, modes=[5],
                                     director_activity_hash=0, reference_id=0,
                                     period=datetime(2026, 11, 1, tzinfo=UTC))]


def member(membership_id: int) -> Identity:
    return Identity(discord_id=membership_id, destiny_membership_id=membership_id,
                    destiny_membership_type=3)


async def test_recent_lists_are_reused_for_a_minute_then_dropped() -> None:
    bungie, clock = FakeBungie(), Clock(1_000_000.0)
    directory = ActivityDirectory(cast(BungieClient, bungie), clock=clock)

    for membership_id in range(1, 101):
        choices = await directory.recent_choices(member(membership_id), "")
        assert [c.value for c in choices] == [str(membership_id * 10 + 1)]
    await directory.recent_choices(member(1), "")  # within the minute: no new look-up
    assert bungie.profile_calls == 100
    assert len(directory._recent) == 100

    clock.now += RECENT_TTL
    await directory.recent_choices(member(1), "")
    assert bungie.profile_calls == 101
    assert list(directory._recent) == [1]  # the 99 stale lists are gone


async def test_pgcrs_are_kept_most_recently_used_first_and_bounded() -> None:
    bungie = FakeBungie()
    directory = ActivityDirectory(cast(BungieClient, bungie), clock=Clock(1_000_000.0))
    for activity_id in range(1, PGCR_CACHE_SIZE + 1):
        assert (await directory.pgcr(activity_id)).activity_id == activity_id
    await directory.pgcr(1)  # used again: now the most recent
    assert bungie.pgcr_calls == PGCR_CACHE_SIZE

    await directory.pgcr(PGCR_CACHE_SIZE + 1)  # one more: the least recently used goes
    assert len(directory._pgcrs) == PGCR_CACHE_SIZE
    await directory.pgcr(1)
    assert bungie.pgcr_calls == PGCR_CACHE_SIZE + 1
    await directory.pgcr(2)
    assert bungie.pgcr_calls == PGCR_CACHE_SIZE + 2
