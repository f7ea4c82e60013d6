"""Finding a player on the game backend by every name a member uses: a player uuid,
an in-game display name, or a Discord account the studio linked to the player.

Answers (a "no such player" too) are kept for ``CACHE_SECONDS``: a member checking a
name in autocomplete and then filing the report costs one look-up. Failures are not
kept, and are the caller's to weigh: a game-side look-up that fails must never stop
the Bungie.net side of a report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from bot.apis.sanctions import LookupPlatform, PlayerRef, SanctionsClient

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
CACHE_MAX = 2048
T = TypeVar("T")


class GamePlayers:
    def __init__(self, client: SanctionsClient,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}

    async def exists(self, player_uuid: UUID) -> bool:
        """Whether the game backend knows this player uuid."""
        found = await self._cached(("id", str(player_uuid)),
                                   lambda: self._client.get_player_id(player_uuid))
        return found is not None

    async def by_display_name(self, name: str) -> list[PlayerRef]:
        """Every player with this in-game display name (names are not unique)."""
        return await self._cached(("name", name),
                                  lambda: self._client.lookup_players_by_display_name(name))

    async def by_discord(self, discord_id: int) -> PlayerRef | None:
        """The player whose account the studio linked to this Discord user, if any."""
        return await self._cached(
            ("discord", str(discord_id)),
            lambda: self._client.find_platform_user(LookupPlatform.DISCORD, str(discord_id)))

    async def _cached(self, key: tuple[str, str], fetch: Callable[[], Awaitable[T]]) -> T:
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]  # type: ignore[return-value]  # stored by this same key's fetch
        value = await fetch()
        if len(self._cache) >= CACHE_MAX:
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < CACHE_SECONDS}
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
        self._cache[key] = (now, value)
        return value
