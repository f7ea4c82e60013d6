"""REST routes for login, users, DMs, channels, messages, guilds and moderation."""

from __future__ import annotations

import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from . import permissions as P
from .errors import (
    DiscordAPIError,
    cannot_dm,
    form_error,
    missing_access,
    missing_permissions,
    unknown,
)
from .messaging import SETTABLE_FLAGS
from .models import JSON, Channel, Guild, RecordedMessage
from .rest import BODY_KEY, RestContext, json_response, no_content, read_body, touch
from .state import ModerationAction


def register(router: web.UrlDispatcher, ctx: RestContext) -> None:
    r = CoreRoutes(ctx)
    api = "/api/v10"
    router.add_get(f"{api}/users/@me", r.get_me)
    router.add_get(f"{api}/oauth2/applications/@me", r.get_application)
    router.add_get(f"{api}/applications/@me", r.get_application)
    router.add_get(f"{api}/gateway", r.get_gateway)
    router.add_get(f"{api}/gateway/bot", r.get_gateway_bot)
    router.add_post(f"{api}/users/@me/channels", r.create_dm)
    router.add_get(f"{api}/users/{{user_id:\\d+}}", r.get_user)
    router.add_get(f"{api}/channels/{{channel_id:\\d+}}", r.get_channel)
    router.add_post(f"{api}/channels/{{channel_id:\\d+}}/messages", r.post_message)
    router.add_get(f"{api}/channels/{{channel_id:\\d+}}/messages", r.list_messages)
    router.add_get(
        f"{api}/channels/{{channel_id:\\d+}}/messages/{{message_id:\\d+}}", r.get_message
    )
    router.add_patch(
        f"{api}/channels/{{channel_id:\\d+}}/messages/{{message_id:\\d+}}", r.edit_message
    )
    router.add_delete(
        f"{api}/channels/{{channel_id:\\d+}}/messages/{{message_id:\\d+}}", r.delete_message
    )
    router.add_put(
        f"{api}/channels/{{channel_id:\\d+}}/messages/{{message_id:\\d+}}/reactions/{{emoji}}/@me",
        r.add_reaction,
    )
    router.add_post(f"{api}/channels/{{channel_id:\\d+}}/typing", r.typing)
    router.add_get(f"{api}/guilds/{{guild_id:\\d+}}", r.get_guild)
    router.add_get(f"{api}/guilds/{{guild_id:\\d+}}/channels", r.get_guild_channels)
    router.add_get(f"{api}/guilds/{{guild_id:\\d+}}/roles", r.get_guild_roles)
    router.add_get(f"{api}/guilds/{{guild_id:\\d+}}/members", r.list_members)
    router.add_get(f"{api}/guilds/{{guild_id:\\d+}}/members/{{user_id:\\d+}}", r.get_member)
    router.add_patch(f"{api}/guilds/{{guild_id:\\d+}}/members/{{user_id:\\d+}}", r.edit_member)
    router.add_delete(f"{api}/guilds/{{guild_id:\\d+}}/members/{{user_id:\\d+}}", r.kick_member)
    router.add_put(f"{api}/guilds/{{guild_id:\\d+}}/bans/{{user_id:\\d+}}", r.ban_member)
    router.add_delete(f"{api}/guilds/{{guild_id:\\d+}}/bans/{{user_id:\\d+}}", r.unban_member)


MAX_TIMEOUT = timedelta(days=28)
MAX_BAN_DELETE_SECONDS = 604800


def _check_timeout(value: Any) -> None:
    """``communication_disabled_until``: null lifts it; else an ISO time at most 28 days ahead."""
    if value is None:
        return
    try:
        until = datetime.fromisoformat(str(value))
    except ValueError:
        raise form_error(
            "communication_disabled_until", "DATE_TIME_TYPE_CONVERT", "Could not parse date."
        ) from None
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until - datetime.now(UTC) > MAX_TIMEOUT:
        raise form_error(
            "communication_disabled_until",
            "BASE_TYPE_BAD_TIME",
            "Timeout cannot be longer than 28 days.",
        )


class CoreRoutes:
    def __init__(self, ctx: RestContext) -> None:
        self.ctx = ctx
        self.state = ctx.state

    # --- helpers ------------------------------------------------------------
    def _channel(self, request: web.Request) -> Channel:
        channel = self.state.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    def _guild(self, request: web.Request) -> Guild:
        guild = self.state.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    def _message(self, request: web.Request, channel: Channel) -> RecordedMessage:
        message = self.state.messages.get(int(request.match_info["message_id"]))
        if (
            message is None
            or message.deleted
            or message.channel_id != channel.id
            or message.ephemeral
        ):
            raise unknown("Message", 10008)
        return message

    def _require(self, channel: Channel, required: int) -> None:
        """403 like Discord when the bot lacks permissions (or the test forbade the channel)."""
        forced = self.state.forbidden_channels.get(channel.id)
        if forced is not None:
            raise DiscordAPIError(403, forced[0], forced[1])
        if channel.guild_id is None:
            return
        perms = self.state.bot_permissions_in(channel)
        if not perms & P.VIEW_CHANNEL:
            raise missing_access()
        if not P.has_all(perms, required):
            raise missing_permissions()

    async def _body(self, request: web.Request) -> Any:
        body = await read_body(request)
        request[BODY_KEY] = body.payload
        return body

    # --- login ----------------------------------------------------------------
    async def get_me(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        self.state.tokens_seen.append(auth.removeprefix("Bot "))
        return json_response(
            dict(
                self.state.bot_user.to_payload(),
                verified=True,
                mfa_enabled=False,
                email=None,
                locale="en-US",
                premium_type=0,
            )
        )

    async def get_application(self, request: web.Request) -> web.StreamResponse:
        owner_user = next((g.owner.user for g in self.state.guilds.values()), self.state.bot_user)
        return json_response(
            {
                "id": str(self.state.application_id),
                "name": self.state.bot_user.username,
                "icon": None,
                "description": "Discord stand-in application",
                "summary": "",
                "type": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": owner_user.to_payload(),
                "team": None,
                "bot": self.state.bot_user.to_payload(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
                "approximate_guild_count": len(self.state.guilds),
            }
        )

    async def get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.ctx.gateway._gateway_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        gateway = self.ctx.gateway
        started = sum(1 for r in gateway.identifies if r.accepted)
        return json_response(
            {
                "url": gateway._gateway_url(),
                "shards": gateway.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": max(1000 - started, 0),
                    "reset_after": 14_400_000,
                    "max_concurrency": gateway.max_concurrency,
                },
            }
        )

    # --- users and DMs --------------------------------------------------------
    async def get_user(self, request: web.Request) -> web.StreamResponse:
        user = self.state.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise unknown("User", 10013)
        return json_response(user.to_payload())

    async def create_dm(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        try:
            recipient_id = int(body.payload["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise form_error(
                "recipient_id", "BASE_TYPE_REQUIRED", "This field is required"
            ) from None
        user = self.state.users.get(recipient_id)
        if user is None:
            raise unknown("User", 10013)
        channel = self.state.dm_channel_for(recipient_id)
        return json_response(channel.to_payload(recipient=user))

    # --- channels and messages ----------------------------------------------------
    async def get_channel(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        if (
            channel.guild_id is not None
            and not self.state.bot_permissions_in(channel) & P.VIEW_CHANNEL
        ):
            raise missing_access()
        recipient = self.state.users.get(channel.recipient_id) if channel.recipient_id else None
        return json_response(channel.to_payload(recipient=recipient))

    async def post_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        body = await self._body(request)
        self._require(channel, P.SEND_MESSAGES | (P.ATTACH_FILES if body.files else 0))
        if channel.is_dm and channel.recipient_id is not None:
            recipient = self.state.users.get(channel.recipient_id)
            if recipient is not None and (not recipient.dms_open or recipient.bot):
                raise cannot_dm()
        fields = self.ctx.messaging.fields_from_body(
            body, existing=None, is_edit=False, allowed_flags=SETTABLE_FLAGS
        )
        reference = body.payload.get("message_reference")
        if reference:
            ref_id = reference.get("message_id")
            if (
                ref_id is not None
                and int(ref_id) not in self.state.messages
                and reference.get("fail_if_not_exists", True)
            ):
                raise form_error(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            fields["message_reference"] = reference
        message = await self.ctx.messaging.create(
            channel,
            fields,
            author_id=self.state.bot_user.id,
            source="channel",
            message_type=19 if reference else 0,
        )
        touch(request, self.ctx, message.id)
        return json_response(self.ctx.messaging.payload(message))

    async def list_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        self._require(channel, P.READ_MESSAGE_HISTORY)
        limit = min(int(request.query.get("limit", "50")), 100)
        msgs = [
            m
            for m in self.state.messages.values()
            if m.channel_id == channel.id and not m.deleted and not m.ephemeral
        ]
        msgs.sort(key=lambda m: m.id, reverse=True)
        if "before" in request.query:
            msgs = [m for m in msgs if m.id < int(request.query["before"])]
        if "after" in request.query:
            msgs = [m for m in msgs if m.id > int(request.query["after"])]
        return json_response([self.ctx.messaging.payload(m) for m in msgs[:limit]])

    async def get_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        self._require(channel, P.READ_MESSAGE_HISTORY)
        return json_response(self.ctx.messaging.payload(self._message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        message = self._message(request, channel)
        body = await self._body(request)
        if message.author_id != self.state.bot_user.id:
            raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        forced = self.state.forbidden_channels.get(channel.id)
        if forced is not None:
            raise DiscordAPIError(403, forced[0], forced[1])
        fields = self.ctx.messaging.fields_from_body(
            body, existing=message.attachments, is_edit=True, allowed_flags=SETTABLE_FLAGS
        )
        edited = await self.ctx.messaging.edit(message, fields)
        touch(request, self.ctx, edited.id)
        return json_response(self.ctx.messaging.payload(edited))

    async def delete_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.state.bot_user.id:
            self._require(channel, P.MANAGE_MESSAGES)
        await self.ctx.messaging.delete(message)
        return no_content()

    async def add_reaction(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        self._message(request, channel)
        self._require(channel, P.ADD_REACTIONS | P.READ_MESSAGE_HISTORY)
        return no_content()

    async def typing(self, request: web.Request) -> web.StreamResponse:
        self._channel(request)
        return no_content()

    # --- guilds ------------------------------------------------------------------
    async def get_guild(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        data = guild.to_payload(
            members=[],
            member_count=len(guild.members),
            large=False,
            joined_at=self.state.guild_joined_at.get(guild.id, ""),
        )
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
            "unavailable",
        ):
            data.pop(key, None)
        data["approximate_member_count"] = len(guild.members)
        return json_response(data)

    async def get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        return json_response([c.to_payload() for c in guild.channels.values()])

    async def get_guild_roles(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        return json_response([r.to_payload() for r in guild.roles.values()])

    async def list_members(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        limit = min(int(request.query.get("limit", "1")), 1000)
        after = int(request.query.get("after", "0"))
        members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
        return json_response([m.to_payload() for m in members[:limit]])

    async def get_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        return json_response(member.to_payload())

    def _moderate(
        self, request: web.Request, guild: Guild, kind: str, required: int, data: JSON
    ) -> int:
        """Discord's refusals, then the record: 403 50013 when the bot lacks ``required``,
        when the target owns the guild, or when the target's highest role is at or above
        the bot's highest role."""
        user_id = int(request.match_info["user_id"])
        bot_id = self.state.bot_user.id
        if not P.has_all(P.base_permissions(guild, bot_id), required):
            raise missing_permissions()
        if user_id == guild.owner_id:
            raise missing_permissions()
        if user_id in guild.members and P.top_role_position(guild, user_id) >= P.top_role_position(
            guild, bot_id
        ):
            raise missing_permissions()
        raw = request.headers.get("X-Audit-Log-Reason")
        # discord.py percent-encodes the reason (the header is latin-1); Discord decodes it.
        reason = urllib.parse.unquote(raw) if raw is not None else None
        self.state.moderation_actions.append(
            ModerationAction(
                kind=kind,
                guild_id=guild.id,
                user_id=user_id,
                reason=reason,
                data=data,
                at=time.perf_counter(),
            )
        )
        self.state.notify()
        return user_id

    async def edit_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        body = await self._body(request)
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        payload = body.payload
        required = 0
        if "communication_disabled_until" in payload:
            required |= P.MODERATE_MEMBERS
        if "roles" in payload:
            required |= P.MANAGE_ROLES
        if "nick" in payload:
            required |= P.MANAGE_NICKNAMES
        if "communication_disabled_until" in payload:
            _check_timeout(payload["communication_disabled_until"])
        kind = "timeout" if "communication_disabled_until" in payload else "edit_member"
        self._moderate(request, guild, kind, required, payload)
        if "communication_disabled_until" in payload:
            member.communication_disabled_until = payload["communication_disabled_until"]
        if "nick" in payload:
            member.nick = payload["nick"]
        if "roles" in payload:
            member.roles = [int(x) for x in payload["roles"]]
        data = member.to_payload()
        data["guild_id"] = str(guild.id)
        self.ctx.gateway.dispatch_soon(
            "GUILD_MEMBER_UPDATE", data, guild_id=guild.id, intent=1 << 1
        )
        return json_response(member.to_payload())

    async def kick_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        if int(request.match_info["user_id"]) not in guild.members:
            raise unknown("Member", 10007)
        user_id = self._moderate(request, guild, "kick", P.KICK_MEMBERS, {})
        guild.members.pop(user_id, None)
        return no_content()

    async def ban_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        body = await self._body(request)
        payload = dict(body.payload or {})
        # discord.py sends the deletion window as a query parameter; the docs show a body.
        for key in ("delete_message_seconds", "delete_message_days"):
            if key in request.query:
                try:
                    payload[key] = int(request.query[key])
                except ValueError:
                    payload[key] = request.query[key]
            if key in payload:
                limit = MAX_BAN_DELETE_SECONDS if key == "delete_message_seconds" else 7
                value = payload[key]
                if not isinstance(value, int) or not 0 <= value <= limit:
                    raise form_error(
                        key, "NUMBER_TYPE_MAX", f"int value should be between 0 and {limit}."
                    )
        user_id = self._moderate(request, guild, "ban", P.BAN_MEMBERS, payload)
        guild.members.pop(user_id, None)
        return no_content()

    async def unban_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        self._moderate(request, guild, "unban", P.BAN_MEMBERS, {})
        return no_content()
