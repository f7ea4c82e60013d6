"""``/reports list|show|export|stats``: search, read and export reports (moderators only).

Discord shows the group to members with Manage Messages by default; the review
service then checks the moderator role (or Manage Server) on every call.
"""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app import WardenBot, report_interaction_error, services_of
from bot.domain import CaseStatus, Reason
from bot.i18n import Duration, localize, t
from bot.services.review.card import DELIVERY_LABELS, STATUS_LABELS, reason_label
from bot.services.review.dates import parse_range
from bot.services.review.ports import Actor
from bot.services.review.queries import ListQuery, ReportListPage, ReportQueries, Stats
from cogs.review.buttons import review_view
from cogs.review.facts import actor_of, guild_id_of, server_locale
from cogs.review.render import render_embed

LIST_TIMEOUT = 14 * 60  # the interaction token lives 15 minutes
STATUS_CHOICES = [
    app_commands.Choice(name=STATUS_LABELS[s], value=s)
    for s in CaseStatus
]
REASON_CHOICES = [app_commands.Choice(name=r.label, value=r.value) for r in Reason]
DATE_HELP = "YYYY-MM-DD (UTC)"
CHART_FILENAME = "warden-stats.png"


def page_embed(page: ReportListPage, query: ListQuery, locale: object = None) -> discord.Embed:
    """One page of ``/reports list`` in ``locale`` (the server's language)."""

    def tl(value: str) -> str:
        return localize(value, locale)

    def status(value: str) -> str:
        return tl(STATUS_LABELS.get(value, value))

    filters = []
    if query.status:
        filters.append(tl(t("status {status}", status=status(query.status))))
    if query.reason:
        filters.append(tl(t("reason {reason}", reason=reason_label(query.reason))))
    if query.target:
        filters.append(tl(t("player {player}",
                            player=discord.utils.escape_markdown(query.target)[:40])))
    if query.reporter_id:
        mention = f"<@{query.reporter_id}>"
        filters.append(tl(t("reporter {reporter}", reporter=mention)))
    if query.range.since is not None or query.range.until is not None:
        filters.append(query.range.describe())
    lines = [
        f"**#{item.number}** · {tl(item.reason_label)} · {status(item.status)}"
        f" · {discord.utils.escape_markdown(item.target)[:60]} · <@{item.reporter_id}>"
        f" · <t:{int(item.created_at)}:R>"
        for item in page.items
    ]
    embed = discord.Embed(
        title=tl(t("Reports ({total})", total=page.total)),
        description="\n".join(lines) or tl(t('No reports match.')),
    )
    where = {"page": page.page + 1, "pages": page.pages}
    footer = (tl(t("Filters: {filters}. Page {page} of {pages}. Open one with /reports show.",
                   filters="; ".join(filters), **where)) if filters
              else tl(t("Page {page} of {pages}. Open one with /reports show.", **where)))
    embed.set_footer(text=footer[:2048])
    return embed


class ReportListView(discord.ui.View):
    """Previous / Next for one member's ephemeral list."""

    def __init__(
        self, service: ReportQueries, guild_id: int, actor: Actor, query: ListQuery,
        page: ReportListPage, locale: object = None,
    ) -> None:
        super().__init__(timeout=LIST_TIMEOUT)
        self.locale = locale
        self.service = service
        self.guild_id = guild_id
        self.actor = actor
        self.query = query
        self.page = page
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page.page <= 0
        self.next.disabled = self.page.page >= self.page.pages - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return interaction.user.id == self.actor.user_id

    async def _turn(self, interaction: discord.Interaction[Any], step: int) -> None:
        self.page = await self.service.list_reports(
            self.guild_id, self.actor, self.query, page=self.page.page + step
        )
        self._sync_buttons()
        await interaction.response.edit_message(
            embed=page_embed(self.page, self.query, self.locale), view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[ReportListView]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[ReportListView]
    ) -> None:
        await self._turn(interaction, +1)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_interaction_error(interaction, error)


def stats_embed(stats: Stats, locale: object = None) -> discord.Embed:
    def tl(value: str) -> str:
        return localize(value, locale)

    embed = discord.Embed(
        title=tl(t('Reports from {describe}', describe=stats.range.describe())),
        description=tl(t("{total} report(s).", total=stats.total)),
    )

    def block(counts: dict[str, str | int]) -> str:
        return "\n".join(f"{k}: {v}" for k, v in counts.items()) or "-"

    by_reason = {tl(reason_label(k)): v
                 for k, v in sorted(stats.by_reason.items(), key=lambda kv: -kv[1])}
    by_status = {tl(STATUS_LABELS.get(k, k)): v for k, v in sorted(stats.by_status.items())}
    embed.add_field(name=tl(t('By reason')), value=block(dict(by_reason))[:1024])
    embed.add_field(name=tl(t('By status')), value=block(dict(by_status))[:1024])
    for destination, counts in stats.by_destination.items():
        shown = {tl(DELIVERY_LABELS.get(k, k)): v for k, v in counts.items()}
        embed.add_field(name=tl(t("{destination} deliveries", destination=destination)),
                        value=block(dict(shown))[:1024], inline=False)
    first = (t("no moderator action yet") if stats.median_first_action is None else
             t("median {span} ({acted} of {total} report(s) acted on)",
               span=Duration(stats.median_first_action),
               acted=stats.acted_on, total=stats.total))
    embed.add_field(name=tl(t("From report to first moderator action")), value=tl(first),
                    inline=False)
    by_moderator = {f"<@{who}>": n for who, n in list(stats.by_moderator.items())[:20]}
    embed.add_field(name=tl(t("Actions per moderator")),
                    value=block(dict(by_moderator))[:1024], inline=False)
    embed.set_image(url=f"attachment://{CHART_FILENAME}")
    return embed


class Reports(commands.Cog):
    reports = app_commands.Group(
        name="reports",
        description=locale_str("Search, read and export reports (moderators)"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot

    @reports.command(name="list", description=
        locale_str("List reports, newest first, with filters"))
    @app_commands.describe(
        status=locale_str("Only reports in this state"),
        reason=locale_str("Only reports for this reason"),
        player=locale_str("The reported player: Discord id or mention, Bungie name, "
                          "membership id, uuid"),
        reporter=locale_str("Only reports by this member"),
        since=f"From this day, {DATE_HELP}",
        until=f"Up to and including this day, {DATE_HELP}",
    )
    @app_commands.choices(status=STATUS_CHOICES, reason=REASON_CHOICES)
    async def list_(
        self,
        interaction: discord.Interaction[WardenBot],
        status: app_commands.Choice[str] | None = None,
        reason: app_commands.Choice[str] | None = None,
        player: str | None = None,
        reporter: discord.User | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        service = services_of(self.bot).queries
        guild_id = guild_id_of(interaction)
        actor = actor_of(interaction)
        query = ListQuery(
            status=status.value if status else None,
            reason=reason.value if reason else None,
            target=player,
            reporter_id=reporter.id if reporter else None,
            range=parse_range(since, until),
        )
        page = await service.list_reports(guild_id, actor, query)
        locale = await server_locale(interaction)
        view = ReportListView(service, guild_id, actor, query, page, locale)
        await interaction.response.send_message(
            embed=page_embed(page, query, locale),
            view=view if page.pages > 1 else discord.utils.MISSING,
            ephemeral=True, allowed_mentions=discord.AllowedMentions.none(),
        )

    @reports.command(name="show", description=locale_str("Show one report with its buttons"))
    @app_commands.describe(number=locale_str("The report number, as in #12"))
    async def show(
        self, interaction: discord.Interaction[WardenBot], number: app_commands.Range[int, 1]
    ) -> None:
        service = services_of(self.bot).queries
        card = await service.show(guild_id_of(interaction), number, actor_of(interaction))
        locale = await server_locale(interaction)
        await interaction.response.send_message(
            embed=render_embed(card, locale), view=review_view(card, locale), ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @reports.command(name="export", description=locale_str("Download reports, deliveries and audit "
                                                "events as CSV and JSON Lines"))
    @app_commands.describe(
        since=f"From this day, {DATE_HELP} (default: 30 days ago)",
        until=f"Up to and including this day, {DATE_HELP} (default: today)",
    )
    async def export(
        self,
        interaction: discord.Interaction[WardenBot],
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        service = services_of(self.bot).queries
        guild_id = guild_id_of(interaction)
        period = parse_range(since, until, default_days=30)
        await interaction.response.defer(ephemeral=True, thinking=True)
        bundle = await service.export(guild_id, actor_of(interaction), period)
        files = [discord.File(io.BytesIO(f.data), filename=f.filename) for f in bundle.files]
        await interaction.followup.send(
            localize(t('Reports from {describe}: {reports} report(s), {deliveries} deliveries, '
              '{audit_events} audit event(s). The same rows are in CSV (spreadsheets) and '
              'JSON Lines (scripts).',
              describe=period.describe(), reports=bundle.reports, deliveries=bundle.deliveries,
              audit_events=bundle.audit_events), await server_locale(interaction)),
            files=files, ephemeral=True,
        )

    @reports.command(name="stats", description=
        locale_str("Counts by reason, status and delivery outcome, time to first action, "
                   "and a chart"))
    @app_commands.describe(
        since=f"From this day, {DATE_HELP} (default: 30 days ago)",
        until=f"Up to and including this day, {DATE_HELP} (default: today)",
    )
    async def stats(
        self,
        interaction: discord.Interaction[WardenBot],
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        service = services_of(self.bot).queries
        period = parse_range(since, until, default_days=30)
        stats = await service.stats(guild_id_of(interaction), actor_of(interaction), period)
        # The first chart loads the plotting library: more than Discord's 3 s to answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = await server_locale(interaction)
        chart = await service.stats_chart(stats, locale)
        await interaction.followup.send(
            embed=stats_embed(stats, locale),
            file=discord.File(io.BytesIO(chart), CHART_FILENAME),
            ephemeral=True, allowed_mentions=discord.AllowedMentions.none(),
        )

    @reports.command(name="player", description="Every case of one player in this server")
    @app_commands.describe(
        player="The reported player: Discord id or mention, Bungie name, membership id, uuid")
    async def player(self, interaction: discord.Interaction[WardenBot], player: str) -> None:
        service = services_of(self.bot).queries
        history = await service.player_history(guild_id_of(interaction), actor_of(interaction),
                                               player)
        lines = [
            f"**#{c.number}** <t:{int(c.opened_at)}:d> · {c.outcome}"
            + (f" <t:{int(c.decided_at)}:d>" if c.decided_at else "")
            for c in history.cases
        ]
        shown = len(lines)
        embed = discord.Embed(
            title=f"{discord.utils.escape_markdown(history.player)[:200]}: "
                  f"{history.total} case(s)",
            description="\n".join(lines)[:4000] or "No cases.",
        )
        if history.total > shown:
            embed.set_footer(text=f"The newest {shown} of {history.total}.")
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
