"""The public test API object, :class:`DiscordStandIn`.

Typical use::

    async with start_discord_standin() as standin, run_bot(make_bot(), standin) as bot:
        alice, bob = standin.guild.reporter, standin.guild.target
        h = await standin.slash(alice, "report", options={"player": bob, "reason": "cheating"})
        reply = await h.wait_final()
        assert reply.ephemeral and "thanks" in reply.text
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .actions import UserActions
from .base import ActorLike, ChannelLike
from .errors import StandInAssertionError
from .faults import FaultRule, rate_limit_headers
from .gateway import INTENT_GUILD_MEMBERS
from .handle import MessagePredicate
from .models import (
    GUILD_TEXT,
    JSON,
    Channel,
    Guild,
    Member,
    Overwrite,
    RecordedMessage,
    Role,
    User,
)
from .records import InteractionRecord, RequestRecord
from .state import DEFAULT_CHANNELS, DEFAULT_MEMBERS, ModerationAction
from .waiting import summarize_messages, wait_until


class DiscordStandIn(UserActions):
    """A running local Discord (REST + gateway) and the helpers to drive it.

    Attributes:
        api_base_url: ``http://127.0.0.1:PORT/api/v10`` - give to ``point_discord_at``.
        gateway_url: ``ws://127.0.0.1:PORT/gateway``.
        guild: the seeded guild (``guild.reporter``, ``guild.target``, ``guild.moderator``,
            ``guild.review_channel``, ``guild.moderator_role``, ``guild.member("carol")``...).
        bot_user / application_id: the bot's own user and application.
        default_timeout: seconds every wait uses unless told otherwise.
        click_settle_delay: extra seconds a click waits after the bot received the
            response that created/edited the message (see :meth:`click`).
    """

    # ======================================================================
    # The world
    # ======================================================================
    def add_guild(
        self,
        name: str = "Another Guild",
        *,
        members: Iterable[str] = DEFAULT_MEMBERS,
        extra_members: int = 0,
        channels: Iterable[str] = DEFAULT_CHANNELS,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """Add a guild seeded like the default one (see ``StandInState.add_guild``;
        ``shard=(id, count)`` puts it on that shard). If a bot's session handles it, that
        session receives GUILD_CREATE, as when a bot joins a guild."""
        guild = self.state.add_guild(
            name, members=members, extra_members=extra_members, channels=channels, shard=shard
        )
        for session in self.gateway.connected_sessions():
            if session.handles_guild(guild.id):
                self.gateway.dispatch_soon(
                    "GUILD_CREATE",
                    self.gateway.guild_create_payload(guild, session),
                    guild_id=guild.id,
                )
        return guild

    def add_user(
        self,
        username: str,
        *,
        dms_open: bool = True,
        bot: bool = False,
        global_name: str | None = None,
    ) -> User:
        """A user who is in no guild (DM-only interactions, or add them later)."""
        return self.state.add_user(username, dms_open=dms_open, bot=bot, global_name=global_name)

    def add_member(
        self,
        user: User | str,
        *,
        guild: Guild | None = None,
        roles: Iterable[int] = (),
        nick: str | None = None,
        dms_open: bool = True,
    ) -> Member:
        """Add a member (a new user when ``user`` is a name) to ``guild`` (default guild).
        A connected bot with the GUILD_MEMBERS intent receives GUILD_MEMBER_ADD."""
        target = guild or self.guild
        if isinstance(user, str):
            user = self.state.add_user(user, dms_open=dms_open)
        member = self.state.add_member(target, user, roles=roles, nick=nick)
        data = member.to_payload()
        data["guild_id"] = str(target.id)
        self.gateway.dispatch_soon(
            "GUILD_MEMBER_ADD", data, guild_id=target.id, intent=INTENT_GUILD_MEMBERS
        )
        return member

    def add_channel(
        self,
        name: str,
        *,
        guild: Guild | None = None,
        type: int = GUILD_TEXT,
        overwrites: Sequence[Overwrite] = (),
        topic: str | None = None,
    ) -> Channel:
        """Add a channel; a connected bot receives CHANNEL_CREATE."""
        target = guild or self.guild
        channel = self.state.add_channel(
            target, name, type=type, overwrites=list(overwrites), topic=topic
        )
        self.gateway.dispatch_soon("CHANNEL_CREATE", channel.to_payload(), guild_id=target.id)
        return channel

    def add_role(
        self,
        name: str,
        *,
        guild: Guild | None = None,
        permissions: int = 0,
        managed: bool = False,
        position: int | None = None,
    ) -> Role:
        """Add a role, below the bot's unless ``position`` says otherwise (then the bot's
        role is not moved: a role at or above it is one the bot cannot act on). A connected
        bot receives GUILD_ROLE_CREATE (and GUILD_ROLE_UPDATE when the bot's role moves up)."""
        target = guild or self.guild
        bot_role = target.roles.get(target.bot_role_id or 0)
        if position is None:
            position = len(target.roles)
            if bot_role is not None and position >= bot_role.position:
                position = bot_role.position
                bot_role.position = position + 1
                self.gateway.dispatch_soon(
                    "GUILD_ROLE_UPDATE",
                    {"guild_id": str(target.id), "role": bot_role.to_payload()},
                    guild_id=target.id,
                )
        role = Role(self.state.new_id(), target.id, name, permissions,
                    position=position, managed=managed)
        target.roles[role.id] = role
        self.gateway.dispatch_soon("GUILD_ROLE_CREATE",
                                   {"guild_id": str(target.id), "role": role.to_payload()},
                                   guild_id=target.id)
        return role

    def allow_command(self, name: str, *ids: int, guild: Guild | None = None) -> None:
        """What a server admin does in Server Settings > Integrations: let these roles or
        members use ``name`` whatever its ``default_member_permissions``."""
        target = guild or self.guild
        self.state.command_allowed.setdefault((target.id, name), set()).update(ids)

    def close_dms(self, user: ActorLike) -> None:
        """From now on ``POST /channels/{dm}/messages`` to this user answers 403 / 50007."""
        self.user(user).dms_open = False

    def open_dms(self, user: ActorLike) -> None:
        self.user(user).dms_open = True

    def forbid_channel(
        self, channel: ChannelLike, *, code: int = 50013, message: str = "Missing Permissions"
    ) -> None:
        """Bot writes to this channel answer 403 with ``code`` (50013 Missing Permissions,
        50001 Missing Access...) until :meth:`allow_channel`."""
        self.state.forbidden_channels[self._channel(channel).id] = (code, message)

    def allow_channel(self, channel: ChannelLike) -> None:
        self.state.forbidden_channels.pop(self._channel(channel).id, None)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> FaultRule:
        """The next ``times`` requests matching ``method`` (or ``"*"``) and ``path_regex``
        (searched in the path below ``/api/v10``, e.g. ``r"^/channels/\\d+/messages$"``)
        get ``status`` with ``body``/``headers`` instead of being handled.

        For 429 without explicit headers, Discord's rate-limit headers are added
        (including ``Via``, without which discord.py refuses to retry). discord.py
        retries 500/502/504/524 after 1 s, 3 s, ... so prefer 503 or few ``times``.
        """
        return self.state.faults.add(
            method, path_regex, status, body=body, headers=headers, times=times
        )

    def rate_limit_next(
        self,
        method: str,
        path_regex: str,
        *,
        retry_after: float = 0.05,
        times: int = 1,
        is_global: bool = False,
    ) -> FaultRule:
        """Answer the next matching requests with Discord's 429 body and headers."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        return self.fail_next(
            method,
            path_regex,
            429,
            body=body,
            headers=rate_limit_headers(retry_after, is_global=is_global),
            times=times,
        )

    # ======================================================================
    # Observing what the bot did
    # ======================================================================
    @property
    def messages(self) -> list[RecordedMessage]:
        """Latest version of every message (deleted ones included, ``deleted=True``)."""
        return sorted(self.state.messages.values(), key=lambda m: m.id)

    @property
    def message_log(self) -> list[RecordedMessage]:
        """Every create/edit/delete as a separate version, in order."""
        return list(self.state.message_log)

    def messages_to(
        self, user: ActorLike, *, include_ephemeral: bool = True
    ) -> list[RecordedMessage]:
        """What the bot sent this user: DMs, and ephemeral replies only they can see."""
        uid = self.user(user).id
        return [
            m
            for m in self.messages
            if not m.deleted
            and m.source != "user"
            and m.recipient_id == uid
            and (m.is_dm or (include_ephemeral and m.ephemeral))
        ]

    def dms_to(self, user: ActorLike) -> list[RecordedMessage]:
        """DMs from the bot to this user (latest versions)."""
        return [m for m in self.messages_to(user, include_ephemeral=False) if m.is_dm]

    def channel_messages(
        self, channel: ChannelLike, *, include_ephemeral: bool = False
    ) -> list[RecordedMessage]:
        """Latest versions of the messages in a channel, oldest first."""
        cid = self._channel(channel).id
        return [
            m
            for m in self.messages
            if m.channel_id == cid and not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

    async def wait_for_message(
        self,
        predicate: MessagePredicate,
        timeout: float | None = None,  # noqa: ASYNC109
        *,
        description: str = "a message matching the predicate",
    ) -> RecordedMessage:
        """The first recorded message version (creates and edits, DMs, channel posts,
        interaction replies) for which ``predicate`` is true, waiting if needed."""

        def check() -> RecordedMessage | None:
            for message in self.state.message_log:
                if not message.deleted and predicate(message):
                    return message
            return None

        return await wait_until(
            self.state,
            check,
            timeout=self._timeout(timeout),
            what=description,
            seen=lambda: summarize_messages(self.state.message_log),
        )

    async def wait_for_dm(
        self,
        user: ActorLike,
        predicate: MessagePredicate | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> RecordedMessage:
        """The first DM from the bot to ``user`` (matching ``predicate``)."""
        uid = self.user(user).id
        return await self.wait_for_message(
            lambda m: (
                m.is_dm
                and m.recipient_id == uid
                and m.source != "user"
                and (predicate is None or predicate(m))
            ),
            timeout,
            description=f"a DM to user {uid}",
        )

    async def wait_until(
        self,
        check: Callable[[], Any],
        timeout: float | None = None,  # noqa: ASYNC109
        *,
        description: str = "a condition",
    ) -> Any:
        """Wait until ``check()`` returns something truthy and return it. Re-checked on
        every change of the stand-in and every 10 ms (for conditions on the bot)."""
        return await wait_until(
            self.state,
            check,
            timeout=self._timeout(timeout),
            what=description,
            seen=lambda: summarize_messages(self.state.message_log, limit=5),
            poll=0.01,
        )

    async def wait_idle(
        self,
        quiet: float = 0.03,
        timeout: float | None = None,  # noqa: ASYNC109
        *,
        fail: bool = True,
    ) -> bool:
        """Wait until no REST call of the bot is in flight and none came for ``quiet``
        seconds (the bot has probably finished reacting). Returns False on timeout
        when ``fail`` is False, else raises."""
        deadline = time.monotonic() + self._timeout(timeout)
        while True:
            idle_for = time.perf_counter() - self.state.last_request_activity
            if self.state.inflight_requests == 0 and idle_for >= quiet:
                return True
            if time.monotonic() > deadline:
                if fail:
                    raise StandInAssertionError(
                        f"the bot kept calling the API for {self._timeout(timeout)}s"
                    )
                return False
            await asyncio.sleep(max(quiet - idle_for, 0.005))

    @property
    def requests(self) -> list[RequestRecord]:
        """Every REST request the bot made (path below ``/api/v10``)."""
        return list(self.state.requests)

    @property
    def unknown_requests(self) -> list[RequestRecord]:
        """Requests to routes the stand-in does not implement (answered 404)."""
        return list(self.state.unknown_requests)

    def assert_no_unknown_routes(self) -> None:
        if self.state.unknown_requests:
            calls = [f"{r.method} {r.path}" for r in self.state.unknown_requests]
            raise StandInAssertionError(
                f"the bot called routes the stand-in does not know: {calls}"
            )

    @property
    def bot_errors(self) -> list[str]:
        """ERROR log records from the ``discord`` logger while :func:`run_bot` ran."""
        return self.state.bot_errors

    @property
    def interactions(self) -> list[InteractionRecord]:
        return list(self.state.interactions.values())

    def ack_latencies(self) -> list[float]:
        """Seconds from INTERACTION_CREATE written to the socket to the bot's first
        callback, for every interaction answered so far (dispatch order)."""
        return [
            r.ack_latency for r in self.state.interactions.values() if r.ack_latency is not None
        ]

    @property
    def moderation_actions(self) -> list[ModerationAction]:
        return list(self.state.moderation_actions)

    def commands(self, guild: Guild | int | None = None) -> list[JSON] | None:
        """Commands as last synced (global, or for ``guild``); None if never synced."""
        if guild is None:
            return self.state.global_commands
        gid = guild if isinstance(guild, int) else guild.id
        return self.state.guild_commands.get(gid)

    @property
    def sync_count(self) -> int:
        """How many bulk command overwrites the bot made."""
        return len(self.state.sync_log)
