"""Who may act on reports in a server: its moderator role, or Manage Server."""

from __future__ import annotations

from bot.domain import GuildSettings, Report
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import t
from bot.services.review.ports import Actor
from bot.store import Store
from bot.store.cases import CaseWithReports


class Moderators:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def includes(guild: GuildSettings, actor: Actor) -> bool:
        role = guild.moderator_role_id
        # A role id equal to the server's is @everyone, which every member holds: never a
        # moderator role, even if an older version saved it.
        return actor.manages_server or (
            role is not None and role != guild.guild_id and role in actor.role_ids
        )

    async def require(self, guild_id: int, actor: Actor) -> GuildSettings:
        guild = await self._store.guilds.get(guild_id)
        if not self.includes(guild, actor):
            raise NotAllowed(
                t("Only this server's moderators can do this: you need the moderator role "
                  'chosen in `/warden setup`, or the Manage Server permission.')
            )
        return guild

    async def report(self, guild_id: int, report_id: int, actor: Actor) -> Report:
        """The accepted report ``report_id`` of this server, for a moderator."""
        await self.require(guild_id, actor)
        report = await self._store.reports.get(report_id)
        if report is None or report.guild_id != guild_id or report.accepted_at is None:
            raise InvalidInput(t('That report does not exist in this server.'))
        return report

    async def case(self, guild_id: int, case_id: int, actor: Actor) -> CaseWithReports:
        """Case ``case_id`` of this server with its reports, for a moderator."""
        await self.require(guild_id, actor)
        found = await self._store.cases.with_reports(case_id)
        if found is None or found.case.guild_id != guild_id or not found.reports:
            raise InvalidInput(t("That case does not exist in this server."))
        return found
