"""A server's Warden configuration: review channel, moderator role, review mode, limits,
and the ``/warden setup`` checklist that judges it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain import GuildSettings, ReportLimits, ReviewMode
from bot.errors import InvalidInput
from bot.i18n import LANGUAGES, resolve, t
from bot.services.delivery.registry import DestinationRegistry
from bot.services.review.checklist import (
    SetupFacts,
    checklist,
    moderator_role_refusal,
    review_problem_key,
)
from bot.services.status import CheckItem
from bot.store import Store

LIMIT_BOUNDS: dict[str, tuple[int, int]] = {
    "short_count": (0, 100),
    "short_seconds": (1, 86400),
    "hour_count": (0, 1000),
    "day_count": (0, 10000),
    "target_cooldown_hours": (0, 24 * 30),
}


@dataclass(frozen=True)
class Overview:
    """Everything ``/warden settings`` shows."""

    guild: GuildSettings
    checklist: list[CheckItem]
    retention_days: int


class ServerSettings:
    def __init__(self, *, store: Store, destinations: DestinationRegistry,
                 retention_days: int) -> None:
        self._store = store
        self._destinations = destinations
        self._retention_days = retention_days

    async def get(self, guild_id: int) -> GuildSettings:
        return await self._store.guilds.get(guild_id)

    async def configure(
        self,
        guild_id: int,
        actor_id: int,
        *,
        review_channel_id: int | None = None,
        moderator_role_id: int | None = None,
        moderator_role_managed: bool = False,
        review_mode: ReviewMode | None = None,
        audit_channel_id: int | None = None,
        clear_audit_channel: bool = False,
        language: str | None = None,
        dm_before_removal: bool | None = None,
    ) -> GuildSettings:
        if moderator_role_id is not None:
            refusal = moderator_role_refusal(guild_id, moderator_role_id,
                                             managed=moderator_role_managed)
            if refusal is not None:
                raise InvalidInput(t('Nothing was changed: ') + refusal)
        changes: dict[str, Any] = {}
        if audit_channel_id is not None and clear_audit_channel:
            raise InvalidInput(t('Choose an audit channel or clear it, not both.'))
        if audit_channel_id is not None or clear_audit_channel:
            changes["audit_channel_id"] = audit_channel_id
        if language is not None:
            if language not in {lang.discord for lang in LANGUAGES}:
                raise InvalidInput(t('Nothing was changed: ') + language)
            changes["language"] = language
        if review_channel_id is not None:
            changes["review_channel_id"] = review_channel_id
        if moderator_role_id is not None:
            changes["moderator_role_id"] = moderator_role_id
        if review_mode is not None:
            changes["review_mode"] = ReviewMode(review_mode)
        if dm_before_removal is not None:
            changes["dm_before_removal"] = dm_before_removal
        if not changes:
            return await self._store.guilds.get(guild_id)
        return await self._store.guilds.update(guild_id, actor_id=actor_id, **changes)

    async def set_limits(
        self, guild_id: int, actor_id: int, changes: dict[str, int]
    ) -> ReportLimits:
        problems = []
        for name, value in changes.items():
            low, high = LIMIT_BOUNDS[name]
            if not low <= value <= high:
                problems.append(t('`{name}` must be between {low} and {high}',
                                  name=name, low=low, high=high))
        if problems:
            raise InvalidInput(t('Nothing was changed: ') + "; ".join(problems) + ".")
        if not changes:
            return (await self._store.guilds.get(guild_id)).limits
        saved = await self._store.guilds.update(guild_id, actor_id=actor_id, **changes)
        return saved.limits

    async def language(self, guild_id: int, preferred_locale: object) -> str:
        """The locale of the server's staff posts: the one chosen with ``/warden setup``,
        else the server's own preferred locale."""
        chosen = (await self._store.guilds.get(guild_id)).language
        return chosen or resolve(preferred_locale)

    async def checklist(self, guild_id: int, facts: SetupFacts) -> list[CheckItem]:
        guild = await self._store.guilds.get(guild_id)
        return checklist(
            guild, facts,
            destinations=await self._destinations.setup_items(),
            last_problem=await self._store.kv.get(review_problem_key(guild_id)),
        )

    async def overview(self, guild_id: int, facts: SetupFacts) -> Overview:
        return Overview(
            guild=await self._store.guilds.get(guild_id),
            checklist=await self.checklist(guild_id, facts),
            retention_days=self._retention_days,
        )
