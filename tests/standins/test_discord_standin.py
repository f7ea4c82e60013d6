"""Tests of the Discord stand-in itself, driven by a tiny real discord.py bot."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.standins.discord import (
    ChannelPostLimits,
    CommandUnavailable,
    DiscordStandIn,
    InvalidInteraction,
    Upload,
    run_bot,
    start_discord_standin,
)

REASONS = ["cheating", "griefing", "harassment", "spam"]


class ClaimButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"report:(?P<id>[0-9]+):claim"
):
    """A persistent button whose state (the report id) lives in its custom_id."""

    def __init__(self, report_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Claim",
                style=discord.ButtonStyle.primary,
                custom_id=f"report:{report_id}:claim",
            )
        )
        self.report_id = report_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any, /
    ) -> ClaimButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(
            content=f"Report {self.report_id} claimed by {interaction.user.name}", view=None
        )


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    summary: discord.ui.Label[Any] = discord.ui.Label(
        text="Summary", component=discord.ui.TextInput(custom_id="summary", max_length=100)
    )
    category: discord.ui.Label[Any] = discord.ui.Label(
        text="Category",
        component=discord.ui.Select(
            custom_id="category",
            options=[
                discord.SelectOption(label="Bug", value="bug"),
                discord.SelectOption(label="Idea", value="idea"),
            ],
        ),
    )
    details: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Details", custom_id="details", style=discord.TextStyle.paragraph, required=False
    )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        summary = self.summary.component
        category = self.category.component
        assert isinstance(summary, discord.ui.TextInput) and isinstance(category, discord.ui.Select)
        await interaction.response.send_message(
            f"summary={summary.value} category={category.values} details={self.details.value!r}",
            ephemeral=True,
        )


class PickView(discord.ui.View):
    @discord.ui.select(
        custom_id="pick",
        options=[discord.SelectOption(label=x, value=x) for x in ("red", "green", "blue")],
        max_values=2,
    )
    async def pick(
        self, interaction: discord.Interaction[Any], select: discord.ui.Select[Any]
    ) -> None:
        await interaction.response.edit_message(
            content=f"picked {sorted(select.values)}", view=None
        )


class NoteModal(discord.ui.Modal, title="Add a note"):
    note: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Note", custom_id="note")

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(content=f"note: {self.note.value}", view=None)


class TicketView(discord.ui.View):
    @discord.ui.button(label="Add note", custom_id="add-note")
    async def add_note(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.send_modal(NoteModal())


class TinyBot(commands.Bot):
    def __init__(self, *, members_intent: bool = False, message_content: bool = False) -> None:
        intents = discord.Intents.default()
        intents.members = members_intent
        intents.message_content = message_content
        super().__init__(
            command_prefix="!",
            intents=intents,
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.reports = 0
        self.seen_messages: list[str] = []
        install_commands(self)

    async def on_message(self, message: discord.Message) -> None:
        if message.author != self.user:
            self.seen_messages.append(message.content)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ClaimButton)


def install_commands(bot: TinyBot) -> None:
    tree = bot.tree

    @tree.command(name="report", description="Report a player")
    async def report(
        interaction: discord.Interaction[Any], player: discord.Member, reason: str
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot.reports += 1
        assert interaction.guild is not None
        review = discord.utils.get(interaction.guild.text_channels, name="reports")
        assert review is not None
        view = discord.ui.View(timeout=None)
        view.add_item(ClaimButton(bot.reports))
        await review.send(
            f"Report {bot.reports}: {player.mention} by {interaction.user.mention}: {reason}",
            view=view,
        )
        await interaction.followup.send(
            f"Reported {player.display_name} for {reason}", ephemeral=True
        )

    @tree.command(name="lookup", description="Look up a reason")
    async def lookup(interaction: discord.Interaction[Any], reason: str) -> None:
        await interaction.response.send_message(f"reason={reason}", ephemeral=True)

    @lookup.autocomplete("reason")
    async def lookup_reason(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=r.title(), value=r)
            for r in REASONS
            if r.startswith(current.lower())
        ]

    @tree.command(name="feedback", description="Send feedback")
    async def feedback(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @tree.command(name="notify", description="DM a user")
    async def notify(interaction: discord.Interaction[Any], user: discord.User) -> None:
        try:
            await user.send("Your report was reviewed.")
        except discord.Forbidden as exc:
            await interaction.response.send_message(f"cannot DM: {exc.code}", ephemeral=True)
            return
        await interaction.response.send_message("sent", ephemeral=True)

    @tree.command(name="announce", description="Post in this channel")
    async def announce(interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.defer(ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        message = await interaction.channel.send(text)
        await interaction.edit_original_response(content=f"posted {message.id}")

    @tree.command(name="evidence", description="Store evidence")
    async def evidence(interaction: discord.Interaction[Any], file: discord.Attachment) -> None:
        data = await file.read()
        assert interaction.guild is not None
        review = discord.utils.get(interaction.guild.text_channels, name="reports")
        assert review is not None
        await review.send("evidence", file=discord.File(io.BytesIO(data), filename=file.filename))
        await interaction.response.send_message(
            f"stored {file.filename} ({len(data)} bytes)", ephemeral=True
        )

    @tree.command(name="pick", description="Pick colours")
    async def pick(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("pick some", view=PickView())

    @tree.command(name="ticket", description="Open a ticket")
    async def ticket(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("ticket opened", view=TicketView(), ephemeral=True)

    @tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("pong")

    @tree.command(name="silent", description="Never answers")
    async def silent(interaction: discord.Interaction[Any]) -> None:
        return None

    @tree.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction[Any]) -> None:
        await asyncio.sleep(0.4)
        await interaction.response.send_message("late")

    @tree.command(name="config", description="Admin only")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def config(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("config", ephemeral=True)

    settings = app_commands.Group(name="settings", description="Settings")
    channel_group = app_commands.Group(
        name="channel", description="Channel settings", parent=settings
    )

    @channel_group.command(name="set", description="Set the review channel")
    async def channel_set(
        interaction: discord.Interaction[Any], channel: discord.TextChannel, note: str = ""
    ) -> None:
        await interaction.response.send_message(
            f"set {channel.name} {note}".strip(), ephemeral=True
        )

    @settings.command(name="show", description="Show settings")
    async def settings_show(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("settings", ephemeral=True)

    tree.add_command(settings)

    @app_commands.context_menu(name="Report player")
    async def report_player(interaction: discord.Interaction[Any], member: discord.Member) -> None:
        await interaction.response.send_message(f"report player {member.name}", ephemeral=True)

    @app_commands.context_menu(name="Report message")
    async def report_message(
        interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        await interaction.response.send_message(
            f"report message by {message.author.name}: {message.content} "
            f"[{', '.join(a.filename for a in message.attachments)}]",
            ephemeral=True,
        )

    tree.add_command(report_player)
    tree.add_command(report_message)


# ---------------------------------------------------------------------------


async def test_bot_logs_in_and_sees_the_guild(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    async with run_bot(TinyBot(members_intent=True), standin) as bot:
        assert bot.user is not None and bot.user.id == standin.bot_user.id
        assert bot.application_id == standin.application_id
        guild = bot.get_guild(standin.guild.id)
        assert guild is not None
        assert {c.name for c in guild.text_channels} >= {
            "general",
            "reports",
            "mod-log",
            "staff-only",
        }
        assert {r.name for r in guild.roles} >= {"@everyone", "Moderator"}
        assert guild.get_member(standin.guild.reporter.id) is not None
        assert guild.member_count == len(guild.members) == len(standin.guild.members)
        me = guild.me
        assert me.guild_permissions.send_messages and not me.guild_permissions.administrator
        staff_only = discord.utils.get(guild.text_channels, name="staff-only")
        assert staff_only is not None
        alice = guild.get_member(standin.guild.reporter.id)
        assert alice is not None
        assert not staff_only.permissions_for(alice).view_channel
        assert staff_only.permissions_for(me).send_messages
        fetched = await guild.fetch_member(standin.guild.target.id)
        assert fetched.name == "bob"
        assert (await bot.fetch_user(standin.guild.moderator.id)).name == "mod"
        channel = await bot.fetch_channel(standin.guild.review_channel.id)
        assert isinstance(channel, discord.TextChannel) and channel.name == "reports"
        with pytest.raises(discord.NotFound):
            await bot.fetch_user(1)
    assert standin.state.tokens_seen[0] == "test-token"
    standin.assert_no_unknown_routes()


async def test_tree_sync_stores_commands(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    async with run_bot(TinyBot(), standin) as bot:
        synced = await bot.tree.sync()
        guild_synced = await bot.tree.sync(guild=discord.Object(standin.guild.id))
    names = {(c["name"], c["type"]) for c in standin.commands() or []}
    assert {("report", 1), ("settings", 1), ("Report player", 2), ("Report message", 3)} <= names
    assert {c.name for c in synced} == {c["name"] for c in standin.commands() or []}
    assert all(c.id for c in synced)
    assert guild_synced == [] and standin.commands(standin.guild) == []
    assert standin.sync_count == 2
    config = next(c for c in standin.commands() or [] if c["name"] == "config")
    assert config["default_member_permissions"] == str(discord.Permissions(manage_guild=True).value)


async def test_slash_with_member_option_defers_then_follows_up_ephemerally(
    discord_standin: DiscordStandIn,
) -> None:
    standin = discord_standin
    g = standin.guild
    async with run_bot(TinyBot(), standin) as bot:
        await bot.tree.sync()
        h = await standin.slash(
            g.reporter, "report", options={"player": g.target, "reason": "aimbot"}
        )
        first = await h.response()
        assert first.name == "DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE" and first.ephemeral
        reply = await h.wait_final()
        assert reply.ephemeral and reply.recipient_id == g.reporter.id
        assert reply.content == "Reported bob for aimbot"
        assert h.ack_latency is not None and 0 <= h.ack_latency < 1
        assert reply in standin.messages_to(g.reporter)
        post = await standin.wait_for_message(lambda m: m.channel_id == g.review_channel.id)
        assert post.custom_ids == ["report:1:claim"]
        assert post.pings.nobody, "allowed_mentions none must ping nobody"
        assert h.payload["data"]["resolved"]["members"][str(g.target.id)]["roles"] == []
    standin.assert_no_unknown_routes()


async def test_autocomplete_round_trip(discord_standin: DiscordStandIn) -> None:
    async with run_bot(TinyBot(), discord_standin):
        choices = await discord_standin.autocomplete(
            discord_standin.guild.reporter, "lookup", "reason", "gr"
        )
    assert choices == [{"name": "Griefing", "value": "griefing"}]


async def test_modal_with_labels_is_shown_and_submitted(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    alice = standin.guild.reporter
    async with run_bot(TinyBot(), standin):
        h = await standin.slash(alice, "feedback")
        modal = await h.modal()
        assert modal.title == "Feedback"
        assert modal.custom_ids == ["summary", "category", "details"]
        assert modal.label_for("summary") == "Summary"
        with pytest.raises(InvalidInteraction, match="required"):
            await standin.submit_modal(alice, h, {"category": ["bug"]})
        submitted = await standin.submit_modal(
            alice, h, {"summary": "Great bot", "category": ["idea"]}
        )
        reply = await submitted.wait_final()
    assert reply.content == "summary=Great bot category=['idea'] details=''"
    assert reply.ephemeral


async def test_persistent_dynamic_button_survives_a_restart(
    discord_standin: DiscordStandIn,
) -> None:
    standin = discord_standin
    g = standin.guild
    async with run_bot(TinyBot(), standin):
        h = await standin.slash(
            g.reporter, "report", options={"player": g.target, "reason": "spam"}
        )
        await h.wait_final()  # let the command finish before the bot shuts down
        post = await standin.wait_for_message(lambda m: m.channel_id == g.review_channel.id)
    async with run_bot(TinyBot(), standin):  # a new process: nothing in memory
        h = await standin.click(g.moderator, post, "report:1:claim")
        assert (await h.response()).name == "UPDATE_MESSAGE"
    edited = standin.message(post)
    assert edited.content == "Report 1 claimed by mod"
    assert edited.components == [] and edited.version == 1


async def test_select_on_an_interaction_reply(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    async with run_bot(TinyBot(), standin):
        h = await standin.slash(standin.guild.reporter, "pick")
        message = await h.wait_final()
        with pytest.raises(InvalidInteraction, match="no option"):
            await standin.select(standin.guild.reporter, message, "pick", ["purple"])
        await standin.select(standin.guild.target, message, "pick", ["red", "blue"])
    assert standin.message(message).content == "picked ['blue', 'red']"


async def test_dm_to_user_with_closed_dms_is_forbidden_50007(
    discord_standin: DiscordStandIn,
) -> None:
    standin = discord_standin
    g = standin.guild
    standin.close_dms(g.target)
    async with run_bot(TinyBot(), standin):
        h = await standin.slash(g.moderator, "notify", options={"user": g.target})
        assert (await h.wait_final()).content == "cannot DM: 50007"
        standin.open_dms(g.target)
        h = await standin.slash(g.moderator, "notify", options={"user": g.target})
        assert (await h.wait_final()).content == "sent"
    dm = await standin.wait_for_dm(g.target)
    assert dm.content == "Your report was reviewed." and dm.is_dm
    assert standin.dms_to(g.target) == [dm]


async def test_rate_limited_route_is_retried_by_discord_py(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    rule = standin.rate_limit_next("POST", r"^/channels/\d+/messages$", retry_after=0.05)
    async with run_bot(TinyBot(), standin):
        h = await standin.slash(standin.guild.reporter, "announce", options={"text": "hello all"})
        reply = await h.wait_final(lambda m: m.content.startswith("posted"))
    posts = [r for r in standin.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [429, 200]
    assert rule.hits == 1
    [posted] = standin.channel_messages("general")
    assert posted.content == "hello all" and reply.content == f"posted {posted.id}"


async def test_channel_post_limit_is_announced_enforced_and_waited_out_by_discord_py() -> None:
    limits = ChannelPostLimits(posts=3, window=0.5)
    async with start_discord_standin(channel_posts=limits) as standin, run_bot(
        TinyBot(), standin
    ) as bot:
        general = standin.guild.channel("general")
        channel = bot.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        started = time.monotonic()
        await asyncio.gather(*(channel.send(f"post {i}") for i in range(7)))
        took = time.monotonic() - started
        # Posts in another channel are counted apart.
        await bot.get_channel(standin.guild.channel("mod-log").id).send("elsewhere")
    assert sorted(m.content for m in standin.channel_messages("general")) == [
        f"post {i}" for i in range(7)]
    assert limits.most_in_any_window(general.id) == 3  # the limit was reached, never passed
    assert took >= 2 * 0.5 * 0.9  # three windows' worth of posts
    posts = [r for r in standin.requests if r.method == "POST"
             and r.path == f"/channels/{general.id}/messages"]
    assert [r.status for r in posts].count(200) == 7
    assert limits.refused[general.id] == [r.status for r in posts].count(429)
    assert limits.refused[standin.guild.channel("mod-log").id] == 0


async def test_server_errors(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    standin.fail_next("POST", r"^/channels/\d+/messages$", 500)
    async with run_bot(TinyBot(), standin, raise_bot_errors=False):
        # discord.py retries a 500 (after 1 s) ...
        h = await standin.slash(standin.guild.reporter, "announce", options={"text": "retried"})
        await h.wait_final(lambda m: m.content.startswith("posted"), timeout=3)
        # ... but not a 503, which surfaces as DiscordServerError in the command.
        standin.fail_next("POST", r"^/channels/\d+/messages$", 503)
        h = await standin.slash(standin.guild.reporter, "announce", options={"text": "lost"})
        await standin.wait_until(
            lambda: any("503" in e for e in standin.bot_errors), description="503 error"
        )
    posts = [
        r.status for r in standin.requests if r.method == "POST" and r.path.endswith("/messages")
    ]
    assert posts == [500, 200, 503]
    assert [m.content for m in standin.channel_messages("general")] == ["retried"]


async def test_missing_permissions_in_a_channel(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    standin.forbid_channel("general")
    async with run_bot(TinyBot(), standin, raise_bot_errors=False):
        await standin.slash(standin.guild.reporter, "announce", options={"text": "x"})
        await standin.wait_until(
            lambda: any("50013" in e for e in standin.bot_errors), description="a 50013 error"
        )
    assert [r.status for r in standin.requests if r.path.endswith("/messages")] == [403]


async def test_waiting_for_what_never_comes_fails_fast(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    async with run_bot(TinyBot(), standin):
        started = time.monotonic()
        with pytest.raises(
            AssertionError, match=r"Timed out after 0\.30s waiting for the bot to answer /silent"
        ):
            await standin.slash(standin.guild.reporter, "silent", timeout=0.3)
        with pytest.raises(AssertionError, match="a message that never comes"):
            await standin.wait_for_message(
                lambda m: False, timeout=0.2, description="a message that never comes"
            )
        assert time.monotonic() - started < 2


async def test_late_callback_gets_unknown_interaction() -> None:
    async with start_discord_standin(ack_deadline=0.2) as standin:
        async with run_bot(TinyBot(), standin, raise_bot_errors=False):
            h = await standin.slash(standin.guild.reporter, "slow", wait_response=False)
            await standin.wait_until(
                lambda: h.record.rejected_callbacks, description="a rejected callback"
            )
            await standin.wait_until(
                lambda: any("10062" in e for e in standin.bot_errors), description="10062"
            )
        assert "too late" in h.record.rejected_callbacks[0][1]


async def test_context_menus(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    g = standin.guild
    async with run_bot(TinyBot(), standin) as bot:
        await bot.tree.sync()
        h = await standin.user_command(g.moderator, "Report player", g.target)
        assert (await h.wait_final()).content == "report player bob"
        said = await standin.post_user_message(
            "general", g.target, "rude words", attachments=[Upload("shot.png", b"\x89PNG....")]
        )
        h = await standin.message_command(g.reporter, "Report message", said)
        assert (await h.wait_final()).content == "report message by bob: rude words [shot.png]"


async def test_attachment_option_and_multipart_upload(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    data = b"frame" * 1000
    async with run_bot(TinyBot(), standin):
        h = await standin.slash(
            standin.guild.reporter, "evidence", attachments={"file": ("clip.mp4", data)}
        )
        assert (await h.wait_final()).content == "stored clip.mp4 (5000 bytes)"
    [post] = standin.channel_messages(standin.guild.review_channel)
    [att] = post.attachments
    assert (att.filename, att.size, att.data) == ("clip.mp4", 5000, data)
    assert att.url.startswith(standin.base_url)


async def test_subcommand_group_and_channel_option(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    g = standin.guild
    async with run_bot(TinyBot(), standin):  # unsynced: schema comes from the bot's tree
        h = await standin.slash(
            g.owner, "settings channel set", options={"channel": g.review_channel}
        )
        assert (await h.wait_final()).content == "set reports"
        h = await standin.slash(g.owner, "settings", subcommand="show")
        assert (await h.wait_final()).content == "settings"
        with pytest.raises(InvalidInteraction, match="needs a subcommand"):
            await standin.slash(g.owner, "settings")
        with pytest.raises(InvalidInteraction, match="no option"):
            await standin.slash(
                g.owner, "settings channel set", options={"chanel": g.review_channel}
            )


async def test_visibility_rules(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    g = standin.guild
    dave = standin.add_user("dave")
    async with run_bot(TinyBot(), standin) as bot:
        await bot.tree.sync()
        with pytest.raises(CommandUnavailable, match="default_member_permissions"):
            await standin.slash(g.reporter, "config")
        assert (await (await standin.slash(g.owner, "config")).wait_final()).content == "config"
        with pytest.raises(CommandUnavailable, match="DMs"):
            await standin.slash(dave, "config")
        h = await standin.slash(dave, "ping")  # global command, allowed in DMs
        reply = await h.wait_final()
        assert reply.is_dm and reply.recipient_id == dave.id and reply.content == "pong"
        with pytest.raises(CommandUnavailable):
            await standin.slash(g.reporter, "nonexistent")


async def test_many_guilds_and_a_large_guild_is_chunked() -> None:
    async with start_discord_standin(extra_members=3000) as standin:
        for i in range(99):
            standin.add_guild(f"guild {i}", extra_members=20)
        started = time.monotonic()
        async with run_bot(TinyBot(members_intent=True), standin) as bot:
            assert len(bot.guilds) == 100
            guild = bot.get_guild(standin.guild.id)
            assert guild is not None and guild.large
            assert len(guild.members) == len(standin.guild.members) == 3000 + 6
            other = standin.guilds[-1]
            h = await standin.slash(other.reporter, "ping")
            assert (await h.wait_final()).guild_id == other.id
        assert time.monotonic() - started < 5
        assert standin.gateway.sent_events["GUILD_MEMBERS_CHUNK"] == 4


async def test_unknown_routes_are_recorded(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    async with run_bot(TinyBot(), standin) as bot:
        with pytest.raises(discord.NotFound):
            await bot.http.request(
                discord.http.Route(
                    "GET", "/guilds/{guild_id}/audit-logs", guild_id=standin.guild.id
                )
            )
    assert [f"{r.method} {r.path}" for r in standin.unknown_requests] == [
        f"GET /guilds/{standin.guild.id}/audit-logs"
    ]
    with pytest.raises(AssertionError, match="audit-logs"):
        standin.assert_no_unknown_routes()


async def test_modal_opened_from_a_button_updates_that_message(
    discord_standin: DiscordStandIn,
) -> None:
    standin = discord_standin
    alice = standin.guild.reporter
    async with run_bot(TinyBot(), standin):
        ticket = await (await standin.slash(alice, "ticket")).wait_final()
        assert ticket.ephemeral and ticket.custom_ids == ["add-note"]
        with pytest.raises(InvalidInteraction, match="ephemeral"):
            await standin.click(standin.guild.target, ticket, "add-note")
        clicked = await standin.click(alice, ticket, "add-note")
        submitted = await clicked.submit_modal({"note": "seen it twice"})
        assert (await submitted.response()).name == "UPDATE_MESSAGE"
        final = await submitted.wait_final()
    assert (
        final.id == ticket.id and final.content == "note: seen it twice" and final.components == []
    )


async def test_message_content_intent_is_honoured(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    g = standin.guild
    async with run_bot(TinyBot(), standin) as bot:
        await standin.post_user_message("general", g.target, "secret words")
        await standin.post_user_message(None, g.target, "a DM to the bot")
        await standin.wait_until(lambda: len(bot.seen_messages) == 2, description="two messages")
        assert bot.seen_messages == ["", "a DM to the bot"]
    async with run_bot(TinyBot(message_content=True), standin) as bot:
        await standin.post_user_message("general", g.target, "secret words")
        await standin.wait_until(lambda: bot.seen_messages, description="a message")
        assert bot.seen_messages == ["secret words"]


async def test_gateway_reconnect_resumes_and_keeps_working(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    async with run_bot(TinyBot(), standin):
        await standin.gateway.request_reconnect()
        await standin.wait_until(lambda: standin.gateway.resume_count == 1, description="a RESUME")
        await standin.wait_until(
            lambda: standin.gateway.connected_sessions(), description="reconnected"
        )
        h = await standin.slash(standin.guild.reporter, "ping")
        assert (await h.wait_final()).content == "pong"
    assert standin.gateway.identify_count == 1
