"""Simulated users: slash commands, context menus, autocomplete, clicks, selects,
modal submits and plain messages, dispatched to the bot as Discord's client would."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Sequence
from typing import Any

from .base import ActorLike, ChannelLike, MessageLike, StandInBase
from .builders import (
    Actor,
    Resolver,
    build_command_options,
    build_modal_components,
    build_select_values,
    find_component,
)
from .errors import CommandUnavailable, InvalidInteraction, StandInAssertionError
from .handle import InteractionHandle
from .models import (
    JSON,
    Guild,
    Member,
    RecordedMessage,
    Upload,
)
from .permissions import ADMINISTRATOR, ALL_PERMISSIONS, channel_permissions, has_all
from .records import InteractionRecord, ShownModal

#: Context menu command types.
USER_COMMAND = 2
MESSAGE_COMMAND = 3


class UserActions(StandInBase):
    """What simulated users can do (mixed into :class:`~.standin.DiscordStandIn`)."""

    # ======================================================================
    # Simulated users
    # ======================================================================
    async def post_user_message(
        self,
        channel: ChannelLike | None,
        author: ActorLike,
        content: str = "",
        *,
        attachments: Sequence[Upload] = (),
        embeds: Sequence[JSON] = (),
    ) -> RecordedMessage:
        """A user posts a message (``channel`` None = a DM to the bot). A connected bot
        gets MESSAGE_CREATE; without the MESSAGE_CONTENT intent its content arrives
        empty, as on Discord. Use it as the target of :meth:`message_command`."""
        user = self.user(author)
        target = self.state.dm_channel_for(user.id) if channel is None else self._channel(channel)
        fields: dict[str, Any] = {
            "content": content,
            "embeds": list(embeds),
            "components": [],
            "flags": 0,
            "allowed_mentions": None,
            "author_payload": user.to_payload(),
            "attachments": [self.state.store_attachment(a) for a in attachments],
        }
        recipient = user.id if target.is_dm else None
        return await self.messaging.create(
            target, fields, author_id=user.id, source="user", recipient_id=recipient
        )

    async def slash(
        self,
        actor: ActorLike,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        group: str | None = None,
        attachments: dict[str, Upload | tuple[str, bytes]] | None = None,
        guild: Guild | None = None,
        channel: ChannelLike | None = None,
        wait_response: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """``actor`` runs ``/name [group] [subcommand]`` with ``options``.

        ``name`` may also be ``"report create"``. Option values: ``str``/``int``/
        ``float``/``bool``, a :class:`Member`/:class:`User`/id for user options,
        :class:`Channel`, :class:`Role`; files go in ``attachments`` (or as
        :class:`Upload` values). Values are typed and checked against the synced
        command (or the attached bot's command tree); the payload carries
        ``resolved`` users *and* members like Discord's.

        A :class:`Member` acts in its guild (``channel`` defaults to ``#general``), a
        :class:`User` in DMs. Raises :class:`CommandUnavailable` when Discord's client
        would not offer the command (wrong context, ``default_member_permissions``).
        With ``wait_response`` (default) it waits for the bot's first callback and
        fails if none comes.
        """
        parts = name.split()
        path = [parts[0], *parts[1:]]
        if group is not None:
            path.append(group)
        if subcommand is not None:
            path.append(subcommand)
        who = self._actor(actor, guild=guild, channel=channel)
        schema, cmd_guild, cmd_id = self._command(path[0], 1, who)
        resolver = Resolver(self.state, who)
        values = dict(options or {})
        for key, upload in (attachments or {}).items():
            values[key] = upload
        opts = build_command_options(schema, path, values, resolver)
        data = self._command_data(cmd_id, path[0], 1, cmd_guild, opts, resolver)
        return await self._dispatch(
            2,
            who,
            data,
            f"/{' '.join(path)} by {who.describe()}",
            wait_response=wait_response,
            timeout=timeout,
        )

    async def autocomplete(
        self,
        actor: ActorLike,
        name: str,
        focused: str,
        value: str = "",
        options: dict[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        group: str | None = None,
        guild: Guild | None = None,
        channel: ChannelLike | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[JSON]:
        """``actor`` is typing ``value`` into option ``focused`` of ``/name``; returns the
        choices the bot answered (``[{"name": ..., "value": ...}]``)."""
        parts = name.split()
        path = [
            parts[0],
            *parts[1:],
            *([group] if group else []),
            *([subcommand] if subcommand else []),
        ]
        who = self._actor(actor, guild=guild, channel=channel)
        schema, cmd_guild, cmd_id = self._command(path[0], 1, who)
        resolver = Resolver(self.state, who)
        values = dict(options or {})
        values[focused] = value
        opts = build_command_options(schema, path, values, resolver, focused=focused)
        data = self._command_data(cmd_id, path[0], 1, cmd_guild, opts, resolver)
        handle = await self._dispatch(
            4,
            who,
            data,
            f"autocomplete /{' '.join(path)} {focused}={value!r}",
            wait_response=True,
            timeout=timeout,
        )
        return await handle.choices(timeout)

    async def user_command(
        self,
        actor: ActorLike,
        name: str,
        target: ActorLike,
        *,
        guild: Guild | None = None,
        channel: ChannelLike | None = None,
        wait_response: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """``actor`` right-clicks ``target`` and picks the user command ``name``."""
        who = self._actor(actor, guild=guild, channel=channel)
        _schema, cmd_guild, cmd_id = self._command(name, USER_COMMAND, who)
        resolver = Resolver(self.state, who)
        target_id = resolver.user(self.user(target))
        data = self._command_data(cmd_id, name, USER_COMMAND, cmd_guild, None, resolver)
        data["target_id"] = target_id
        return await self._dispatch(
            2,
            who,
            data,
            f"user command {name!r} on {target_id} by {who.describe()}",
            wait_response=wait_response,
            timeout=timeout,
        )

    async def message_command(
        self,
        actor: ActorLike,
        name: str,
        message: MessageLike,
        *,
        wait_response: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """``actor`` right-clicks ``message`` (e.g. from :meth:`post_user_message`) and
        picks the message command ``name``; runs in the message's channel."""
        target = self.message(message)
        who = self._actor(actor, channel=target.channel_id)
        _schema, cmd_guild, cmd_id = self._command(name, MESSAGE_COMMAND, who)
        resolver = Resolver(self.state, who)
        target_id = resolver.message(target)
        data = self._command_data(cmd_id, name, MESSAGE_COMMAND, cmd_guild, None, resolver)
        data["target_id"] = target_id
        return await self._dispatch(
            2,
            who,
            data,
            f"message command {name!r} on {target_id} by {who.describe()}",
            wait_response=wait_response,
            timeout=timeout,
        )

    async def click(
        self,
        actor: ActorLike,
        message: MessageLike,
        custom_id: str,
        *,
        wait_response: bool = True,
        wait_for_listener: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """``actor`` clicks the button ``custom_id`` on ``message``.

        discord.py registers a message's view only after the HTTP call that created
        or edited the message returned, and silently drops earlier clicks. So this
        first waits until the bot has received every response that wrote this
        message, plus :attr:`click_settle_delay`; when a bot is attached through
        :func:`run_bot` it also waits until the bot has a view, persistent view or
        ``DynamicItem`` listening for the custom_id. Then it dispatches, and (with
        ``wait_response``) fails loudly if the bot does not answer.
        """
        return await self._component(
            actor,
            message,
            custom_id,
            None,
            wait_response=wait_response,
            wait_for_listener=wait_for_listener,
            timeout=timeout,
        )

    async def select(
        self,
        actor: ActorLike,
        message: MessageLike,
        custom_id: str,
        values: Sequence[Any],
        *,
        wait_response: bool = True,
        wait_for_listener: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """``actor`` picks ``values`` in the select ``custom_id`` on ``message`` (option
        values for string selects; members/users/roles/channels or ids for entity
        selects). Same safety as :meth:`click`."""
        return await self._component(
            actor,
            message,
            custom_id,
            list(values),
            wait_response=wait_response,
            wait_for_listener=wait_for_listener,
            timeout=timeout,
        )

    async def submit_modal(
        self,
        actor: ActorLike,
        modal: InteractionHandle | ShownModal,
        values: dict[str, Any] | None = None,
        *,
        wait_response: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """``actor`` fills in and submits a modal the bot showed.

        ``modal`` is the :class:`ShownModal` or the handle of the interaction that opened
        it. ``values`` maps input custom_ids to a ``str`` (text input, radio), a ``list``
        (selects, checkbox groups, ``Upload`` files) or a ``bool`` (checkbox); inputs left
        out submit their defaults. Works for legacy action-row text inputs and for
        ``ui.Label``-wrapped inputs and selects alike.
        """
        shown = await modal.modal(timeout) if isinstance(modal, InteractionHandle) else modal
        opener = self.state.interactions.get(shown.interaction_id)
        if opener is None:
            raise InvalidInteraction(
                f"modal {shown.custom_id!r} was not opened by a known interaction"
            )
        channel = self.state.channels[opener.channel_id]
        guild = self.state.guilds.get(opener.guild_id) if opener.guild_id else None
        user = self.user(actor)
        who = self._actor(
            self.state.member_of(opener.guild_id, user.id) or user, guild=guild, channel=channel
        )
        resolver = Resolver(self.state, who)
        components = build_modal_components(shown.components, dict(values or {}), resolver)
        data: JSON = {"custom_id": shown.custom_id, "components": components}
        resolved = resolver.to_payload()
        if resolved:
            data["resolved"] = resolved
        source = (
            self.state.messages.get(opener.source_message_id) if opener.source_message_id else None
        )
        return await self._dispatch(
            5,
            who,
            data,
            f"modal {shown.custom_id!r} submitted by {who.describe()}",
            message=source,
            wait_response=wait_response,
            timeout=timeout,
        )

    # ======================================================================
    # internals
    # ======================================================================
    def _actor(
        self, actor: ActorLike, *, guild: Guild | None = None, channel: ChannelLike | None = None
    ) -> Actor:
        """Where an interaction happens: a Member acts in its guild, a User in DMs, an
        id in the default guild when a member of it; ``channel``/``guild`` override."""
        chan = self._channel(channel) if channel is not None else None
        if chan is not None and chan.guild_id is not None:
            if guild is not None and guild.id != chan.guild_id:
                raise InvalidInteraction(f"channel {chan.name!r} is not in guild {guild.name!r}")
            guild = self.state.guilds[chan.guild_id]
        in_dm_channel = chan is not None and chan.is_dm
        if isinstance(actor, Member):
            user = actor.user
            if not in_dm_channel:
                own = self.state.guilds[actor.guild_id]
                if guild is not None and guild.id != own.id:
                    raise InvalidInteraction(
                        f"{user.username} is a member of {own.name!r}, not {guild.name!r}"
                    )
                guild = own
        else:
            user = self.user(actor)
            if (
                isinstance(actor, int)
                and guild is None
                and chan is None
                and user.id in self.guild.members
            ):
                guild = self.guild
        if guild is None:
            if chan is not None and chan.is_dm and chan.recipient_id != user.id:
                raise InvalidInteraction(
                    f"{user.username} is not the recipient of DM channel {chan.id}"
                )
            return Actor(
                user=user, member=None, guild=None, channel=self.state.dm_channel_for(user.id)
            )
        member = guild.members.get(user.id)
        if member is None:
            raise InvalidInteraction(f"{user.username} is not a member of {guild.name!r}")
        if chan is None:
            texts = guild.text_channels()
            if not texts:
                raise InvalidInteraction(f"guild {guild.name!r} has no text channel to act in")
            chan = next((c for c in texts if c.name == "general"), texts[0])
        return Actor(user=user, member=member, guild=guild, channel=chan)

    def _command(self, name: str, ctype: int, who: Actor) -> tuple[JSON | None, int | None, int]:
        """(schema, guild id the command is registered in, command id)."""
        gid = who.guild.id if who.guild else None
        found = self.state.find_synced_command(name, ctype, gid)
        schema: JSON | None = None
        cmd_guild: int | None = None
        if found is not None:
            schema, cmd_guild = found
        else:
            tree_found = self._tree_command(name, ctype, gid)
            if tree_found is not None:
                schema, cmd_guild = tree_found
            elif self._bot is not None and getattr(self._bot, "tree", None) is not None:
                kind = {1: "slash command", 2: "user command", 3: "message command"}[ctype]
                raise CommandUnavailable(
                    f"no {kind} {name!r} is synced or in the bot's command tree"
                    f"{' for this guild' if gid else ''}"
                )
        if schema is not None:
            self._check_visible(schema, cmd_guild, who, name)
        if schema is not None and schema.get("id"):
            cmd_id = int(schema["id"])
        else:
            key = (name, ctype, cmd_guild)
            cmd_id = self._pseudo_command_ids.setdefault(key, self.state.new_id())
        return schema, cmd_guild, cmd_id

    def _tree_command(
        self, name: str, ctype: int, guild_id: int | None
    ) -> tuple[JSON, int | None] | None:
        bot = self._bot
        tree = getattr(bot, "tree", None) if bot is not None else None
        if tree is None:
            return None
        import discord

        kind = discord.AppCommandType(ctype)
        if guild_id is not None:
            cmd = tree.get_command(name, guild=discord.Object(guild_id), type=kind)
            if cmd is not None:
                return cmd.to_dict(tree), guild_id
        cmd = tree.get_command(name, type=kind)
        if cmd is not None:
            return cmd.to_dict(tree), None
        return None

    def _check_visible(self, schema: JSON, cmd_guild: int | None, who: Actor, name: str) -> None:
        contexts = schema.get("contexts")
        if who.guild is None:
            if cmd_guild is not None:
                raise CommandUnavailable(f"{name!r} is a guild command; it does not exist in DMs")
            if contexts is not None and 1 not in contexts:
                raise CommandUnavailable(
                    f"{name!r} is not available in DMs with the bot (contexts={contexts})"
                )
            if contexts is None and schema.get("dm_permission") is False:
                raise CommandUnavailable(f"{name!r} is guild-only (dm_permission=False)")
            return
        if contexts is not None and 0 not in contexts:
            raise CommandUnavailable(f"{name!r} is not available in guilds (contexts={contexts})")
        required = schema.get("default_member_permissions")
        allowed = self.state.command_allowed.get((who.guild.id, name), set())
        member = who.guild.members.get(who.user.id)
        if allowed & ({who.user.id} | set(member.roles if member else ())):
            return  # a server admin allowed it for this role or member
        if required not in (None, ""):
            perms = channel_permissions(who.guild, who.user.id, who.channel)
            if not has_all(perms, int(required)):
                raise CommandUnavailable(
                    f"{who.user.username} cannot see {name!r}: it needs permissions "
                    f"{int(required)} "
                    f"(default_member_permissions) and they have {perms}"
                )

    def _command_data(
        self,
        cmd_id: int,
        name: str,
        ctype: int,
        cmd_guild: int | None,
        options: list[JSON] | None,
        resolver: Resolver,
    ) -> JSON:
        data: JSON = {"id": str(cmd_id), "name": name, "type": ctype}
        if options is not None:
            data["options"] = options
        resolved = resolver.to_payload()
        if resolved:
            data["resolved"] = resolved
        if cmd_guild is not None:
            data["guild_id"] = str(cmd_guild)
        return data

    async def _component(
        self,
        actor: ActorLike,
        message: MessageLike,
        custom_id: str,
        values: list[Any] | None,
        *,
        wait_response: bool,
        wait_for_listener: bool,
        timeout: float | None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        current = self.message(message)
        who = self._actor(actor, channel=current.channel_id)
        if current.deleted:
            raise InvalidInteraction(f"message {current.id} was deleted")
        if current.ephemeral and current.recipient_id != who.user.id:
            raise InvalidInteraction(
                f"message {current.id} is ephemeral to user {current.recipient_id}; "
                f"{who.user.username} cannot see it"
            )
        comp = find_component(current, custom_id)
        ctype = int(comp.get("type", 2))
        resolver = Resolver(self.state, who)
        data: JSON = {"custom_id": custom_id, "component_type": ctype}
        if values is not None:
            if ctype == 2:
                raise InvalidInteraction(f"{custom_id!r} is a button; use click()")
            data["values"] = build_select_values(comp, values, resolver)
            resolved = resolver.to_payload()
            if resolved:
                data["resolved"] = resolved
        elif ctype != 2:
            raise InvalidInteraction(f"{custom_id!r} is a select (type {ctype}); use select()")
        await self._wait_clickable(current.id, ctype, custom_id, wait_for_listener, timeout)
        current = self.message(current.id)
        verb = "clicked" if values is None else f"selected {data['values']} in"
        return await self._dispatch(
            3,
            who,
            data,
            f"{who.user.username} {verb} {custom_id!r} on message {current.id}",
            message=current,
            wait_response=wait_response,
            timeout=timeout,
        )

    async def _wait_clickable(
        self,
        message_id: int,
        ctype: int,
        custom_id: str,
        wait_for_listener: bool,
        timeout: float | None,  # noqa: ASYNC109
    ) -> None:
        settle = self.click_settle_delay

        def delivered() -> bool:
            if self.state.pending_writes.get(message_id):
                return False
            last = self.state.last_delivered.get(message_id)
            return last is None or time.perf_counter() - last >= settle

        limit = self._timeout(timeout)
        deadline = time.monotonic() + limit
        while not delivered():
            if time.monotonic() > deadline:
                raise StandInAssertionError(
                    f"the bot never received the response that wrote message {message_id}"
                )
            await asyncio.sleep(min(settle, 0.01) or 0.001)
        if not wait_for_listener or self._bot is None:
            return
        # The bot registers views outside any request we see, so poll its view store.
        while self._bot_listens(message_id, ctype, custom_id) is False:
            if time.monotonic() > deadline:
                raise StandInAssertionError(
                    f"the bot does not listen for {custom_id!r} on message {message_id}: no "
                    "view, persistent view or DynamicItem matches it (timed out or stopped "
                    "view? pass wait_for_listener=False to click anyway)"
                )
            await asyncio.sleep(0.005)

    def _bot_listens(self, message_id: int, ctype: int, custom_id: str) -> bool | None:
        """Peek into discord.py's view store (private API; None when it cannot tell)."""
        try:
            store = self._bot._connection._view_store
            if any(pattern.fullmatch(custom_id) for pattern in store._dynamic_items):
                return True
            for key in (message_id, None):
                if (ctype, custom_id) in store._views.get(key, {}):
                    return True
            return False
        except AttributeError:
            return None

    async def _dispatch(
        self,
        itype: int,
        who: Actor,
        data: JSON,
        description: str,
        *,
        message: RecordedMessage | None = None,
        wait_response: bool,
        timeout: float | None,  # noqa: ASYNC109
    ) -> InteractionHandle:
        iid = self.state.new_id()
        token = f"standin.{secrets.token_urlsafe(32)}"
        payload = self._interaction_payload(iid, token, itype, who, data, message)
        record = InteractionRecord(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            user_id=who.user.id,
            guild_id=who.guild.id if who.guild else None,
            channel_id=who.channel.id,
            description=description,
            source_message_id=message.id if message is not None else None,
        )
        self.state.interactions[iid] = record
        self.state.interactions_by_token[token] = record

        def on_write(at: float) -> None:
            record.dispatched_at = at

        await self.gateway.dispatch_interaction(payload, record.guild_id, on_write=on_write)
        handle = InteractionHandle(self, record)
        if wait_response:
            await handle.response(timeout)
        return handle

    def _interaction_payload(
        self,
        iid: int,
        token: str,
        itype: int,
        who: Actor,
        data: JSON,
        message: RecordedMessage | None,
    ) -> JSON:
        channel = who.channel
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.state.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel.id),
            "locale": who.user.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "context": 0 if who.guild else 1,
            "authorizing_integration_owners": {"0": str(who.guild.id) if who.guild else "0"},
        }
        if who.guild is not None and who.member is not None:
            perms = channel_permissions(who.guild, who.user.id, channel)
            payload["guild_id"] = str(who.guild.id)
            payload["guild"] = {"id": str(who.guild.id), "locale": who.guild.preferred_locale,
                                "features": []}
            payload["guild_locale"] = who.guild.preferred_locale
            payload["member"] = who.member.to_payload(permissions=perms)
            payload["channel"] = channel.to_payload(permissions=perms)
            payload["app_permissions"] = str(self.state.bot_permissions_in(channel))
        else:
            payload["user"] = who.user.to_payload()
            payload["channel"] = channel.to_payload(recipient=who.user)
            payload["app_permissions"] = str(ALL_PERMISSIONS & ~ADMINISTRATOR)
        if message is not None:
            payload["message"] = self.messaging.payload(message)
        return payload
