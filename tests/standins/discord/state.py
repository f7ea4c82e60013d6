"""The stand-in's whole world in one object, shared by the REST routes, the gateway and
the test helpers. Everything runs on one event loop, so no locking is needed."""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import permissions as P
from .faults import FaultInjector
from .ids import SnowflakeFactory, iso_timestamp, moved_to_shard
from .models import (
    DM,
    GUILD_TEXT,
    JSON,
    Channel,
    Guild,
    Member,
    Overwrite,
    RecordedAttachment,
    RecordedMessage,
    Role,
    Upload,
    User,
)
from .records import InteractionRecord, RequestRecord, SyncRecord

DEFAULT_CHANNELS = ("general", "reports", "mod-log", "staff-only")
DEFAULT_MEMBERS = ("mod", "alice", "bob", "carol")


@dataclass
class ModerationAction:
    """A moderation call the bot made: kick, ban, unban, timeout, member edit."""

    kind: str
    guild_id: int
    user_id: int
    reason: str | None
    data: JSON
    at: float


@dataclass
class StandInState:
    application_id: int = 0
    bot_user: User = field(default_factory=lambda: User(0, "placeholder"))
    public_base: str = "http://127.0.0.1"
    ids: SnowflakeFactory = field(default_factory=SnowflakeFactory)
    users: dict[int, User] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    dm_channel_by_user: dict[int, int] = field(default_factory=dict)
    messages: dict[int, RecordedMessage] = field(default_factory=dict)
    message_log: list[RecordedMessage] = field(default_factory=list)
    attachment_blobs: dict[int, RecordedAttachment] = field(default_factory=dict)
    global_commands: list[JSON] | None = None
    guild_commands: dict[int, list[JSON]] = field(default_factory=dict)
    sync_log: list[SyncRecord] = field(default_factory=list)
    interactions: dict[int, InteractionRecord] = field(default_factory=dict)
    interactions_by_token: dict[str, InteractionRecord] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    unknown_requests: list[RequestRecord] = field(default_factory=list)
    faults: FaultInjector = field(default_factory=FaultInjector)
    forbidden_channels: dict[int, tuple[int, str]] = field(default_factory=dict)
    pending_writes: dict[int, int] = field(default_factory=dict)
    last_delivered: dict[int, float] = field(default_factory=dict)
    moderation_actions: list[ModerationAction] = field(default_factory=list)
    presence_updates: list[JSON] = field(default_factory=list)
    bot_errors: list[str] = field(default_factory=list)
    tokens_seen: list[str] = field(default_factory=list)
    guild_joined_at: dict[int, str] = field(default_factory=dict)
    # (guild id, command name) -> role and member ids a server admin allowed the command
    # for in Server Settings > Integrations, whatever its default_member_permissions.
    command_allowed: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    internal_errors: list[str] = field(default_factory=list)
    inflight_requests: int = 0
    last_request_activity: float = 0.0
    record: bool = True
    """False keeps no request log and no message history (``requests``, ``message_log``):
    for benchmarks, where thousands of interactions would otherwise pile up."""
    message_watchers: dict[int, list[InteractionRecord]] = field(default_factory=dict)
    """Message id -> the interactions whose replies include it (woken when it changes)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if self.application_id == 0:
            self.application_id = self.ids.next()
        if self.bot_user.id == 0:
            self.bot_user = User(self.application_id, "Warden", global_name="Warden", bot=True)
        self.users[self.bot_user.id] = self.bot_user

    # --- change notification ----------------------------------------------
    def notify(self) -> None:
        """Wake everything waiting on :meth:`changed`."""
        self._changed.set()
        self._changed = asyncio.Event()

    def changed(self) -> asyncio.Event:
        return self._changed

    def new_id(self) -> int:
        return self.ids.next()

    # --- users, guilds, members ---------------------------------------------
    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        global_name: str | None = None,
        dms_open: bool = True,
        user_id: int | None = None,
    ) -> User:
        user = User(
            user_id or self.new_id(), username, global_name=global_name, bot=bot, dms_open=dms_open
        )
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        members: Iterable[str] = DEFAULT_MEMBERS,
        extra_members: int = 0,
        channels: Iterable[str] = DEFAULT_CHANNELS,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """Create a guild seeded like a small community server; ``shard`` ``(id, count)``
        gives it an id whose events go to that shard when the bot runs ``count`` shards.

        Roles: @everyone, ``Moderator`` and the bot's managed role ``Warden``.
        Channels: text channels named in ``channels`` (``staff-only`` hides from
        @everyone and shows to Moderator). Members: the bot, an owner named
        ``owner-<guild id>``, every name in ``members`` (``mod`` gets the Moderator
        role) and ``extra_members`` more named ``member<N>``.
        """
        gid = self.new_id() if shard is None else moved_to_shard(self.new_id(), *shard)
        owner = self.add_user(f"owner-{gid}")
        guild = Guild(id=gid, name=name, owner_id=owner.id)
        guild.roles[gid] = Role(gid, gid, "@everyone", P.EVERYONE_DEFAULT, position=0)
        mod_role = Role(
            self.new_id(),
            gid,
            "Moderator",
            P.MODERATOR_DEFAULT,
            position=1,
            hoist=True,
            color=0x3498DB,
        )
        bot_role = Role(
            self.new_id(), gid, self.bot_user.username, P.BOT_DEFAULT, position=2, managed=True
        )
        guild.roles[mod_role.id] = mod_role
        guild.roles[bot_role.id] = bot_role
        guild.moderator_role_id = mod_role.id
        guild.bot_role_id = bot_role.id
        self.guilds[gid] = guild
        self.guild_joined_at[gid] = iso_timestamp()
        for pos, ch_name in enumerate(channels):
            overwrites: list[Overwrite] = []
            if ch_name == "staff-only":
                overwrites = [
                    Overwrite(gid, 0, deny=P.VIEW_CHANNEL),
                    Overwrite(mod_role.id, 0, allow=P.VIEW_CHANNEL),
                    Overwrite(bot_role.id, 0, allow=P.VIEW_CHANNEL),
                ]
            self.add_channel(guild, ch_name, position=pos, overwrites=overwrites)
        self.add_member(guild, self.bot_user, roles=[bot_role.id])
        self.add_member(guild, owner)
        for member_name in members:
            roles = [mod_role.id] if member_name == "mod" else []
            self.add_member(guild, member_name, roles=roles)
        for i in range(extra_members):
            user = User(self.new_id(), f"member{i}")
            self.users[user.id] = user
            self.add_member(guild, user)
        return guild

    def add_member(
        self, guild: Guild, user: User | str, *, roles: Iterable[int] = (), nick: str | None = None
    ) -> Member:
        if isinstance(user, str):
            user = self.add_user(user)
        self.users.setdefault(user.id, user)
        member = Member(user=user, guild_id=guild.id, roles=list(roles), nick=nick)
        guild.members[user.id] = member
        guild._index_member(member)
        return member

    def add_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: int = GUILD_TEXT,
        position: int | None = None,
        overwrites: list[Overwrite] | None = None,
        topic: str | None = None,
    ) -> Channel:
        channel = Channel(
            id=self.new_id(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=len(guild.channels) if position is None else position,
            overwrites=list(overwrites or []),
            topic=topic,
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def dm_channel_for(self, user_id: int) -> Channel:
        """The DM channel between the bot and ``user_id`` (created on first use)."""
        cid = self.dm_channel_by_user.get(user_id)
        if cid is not None:
            return self.channels[cid]
        channel = Channel(id=self.new_id(), type=DM, name=None, recipient_id=user_id)
        self.channels[channel.id] = channel
        self.dm_channel_by_user[user_id] = channel.id
        return channel

    def member_of(self, guild_id: int | None, user_id: int) -> Member | None:
        if guild_id is None:
            return None
        guild = self.guilds.get(guild_id)
        return guild.members.get(user_id) if guild is not None else None

    def bot_permissions_in(self, channel: Channel) -> int:
        if channel.guild_id is None:
            return P.ALL_PERMISSIONS & ~P.ADMINISTRATOR
        guild = self.guilds[channel.guild_id]
        return P.channel_permissions(guild, self.bot_user.id, channel)

    # --- attachments ------------------------------------------------------
    def store_attachment(
        self, upload: Upload, *, description: str | None = None, ephemeral: bool = False
    ) -> RecordedAttachment:
        att_id = self.new_id()
        content_type = upload.content_type or mimetypes.guess_type(upload.filename)[0]
        att = RecordedAttachment(
            id=att_id,
            filename=upload.filename,
            size=len(upload.data),
            url=f"{self.public_base}/attachments/{att_id}/{upload.filename}",
            content_type=content_type,
            data=upload.data,
            description=description,
            ephemeral=ephemeral,
        )
        self.attachment_blobs[att_id] = att
        return att

    # --- messages ------------------------------------------------------------
    def record_message(self, message: RecordedMessage) -> RecordedMessage:
        self.messages[message.id] = message
        if self.record:
            self.message_log.append(message)
        channel = self.channels.get(message.channel_id)
        if channel is not None and message.version == 0 and not message.ephemeral:
            channel.last_message_id = message.id
        for interaction in self.message_watchers.get(message.id, ()):
            interaction.notify()
        self.notify()
        return message

    def watch_message(self, interaction: InteractionRecord, message_id: int) -> None:
        """``interaction``'s waits wake whenever this message changes (its original
        response, a follow-up, or the message its component was clicked on)."""
        watchers = self.message_watchers.setdefault(message_id, [])
        if interaction not in watchers:
            watchers.append(interaction)
        interaction.notify()

    def new_message(
        self, channel: Channel, *, author_id: int, source: str, **fields: Any
    ) -> RecordedMessage:
        now = time.perf_counter()
        return RecordedMessage(
            id=fields.pop("id", None) or self.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            is_dm=channel.is_dm,
            recipient_id=fields.pop("recipient_id", channel.recipient_id),
            source=source,
            created_at=now,
            timestamp=iso_timestamp(),
            **fields,
        )

    def edit_message(self, message: RecordedMessage, **changes: Any) -> RecordedMessage:
        edited = message.with_changes(
            version=message.version + 1,
            edited_at=time.perf_counter(),
            edited_timestamp=iso_timestamp(),
            **changes,
        )
        return self.record_message(edited)

    # --- write tracking (for click safety) ----------------------------------
    def begin_write(self, message_id: int) -> None:
        self.pending_writes[message_id] = self.pending_writes.get(message_id, 0) + 1

    def end_write(self, message_id: int) -> None:
        left = self.pending_writes.get(message_id, 0) - 1
        if left <= 0:
            self.pending_writes.pop(message_id, None)
        else:
            self.pending_writes[message_id] = left
        self.last_delivered[message_id] = time.perf_counter()
        self.notify()

    # --- commands ------------------------------------------------------------
    def find_synced_command(
        self, name: str, ctype: int, guild_id: int | None
    ) -> tuple[JSON, int | None] | None:
        """The synced schema for a command, preferring the guild's own commands."""
        if guild_id is not None:
            for cmd in self.guild_commands.get(guild_id, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd, guild_id
        for cmd in self.global_commands or []:
            if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                return cmd, None
        return None

    @property
    def ever_synced(self) -> bool:
        return bool(self.sync_log)

    # --- lookups --------------------------------------------------------------
    def user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise KeyError(f"no user with id {user_id} in the stand-in")
        return user
