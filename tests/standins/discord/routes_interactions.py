"""REST routes for application commands, interaction callbacks and interaction webhooks
(``@original`` edits and follow-ups)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from .errors import DiscordAPIError, form_error, unknown
from .messaging import SETTABLE_FLAGS, SETTABLE_FLAGS_INTERACTION, MessageBody
from .models import FLAG_EPHEMERAL, FLAG_LOADING, JSON, RecordedMessage
from .records import CallbackRecord, InteractionRecord, ShownModal, SyncRecord
from .rest import (
    BODY_KEY,
    STARTED_KEY,
    RestContext,
    json_response,
    no_content,
    read_body,
    touch,
)
from .validation import validate_autocomplete, validate_commands, validate_modal

#: Callback types allowed per interaction type (2 command, 3 component, 4 autocomplete, 5 modal).
ALLOWED_CALLBACKS: dict[int, set[int]] = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
CALLBACK_NAMES = {
    1: "PONG",
    4: "CHANNEL_MESSAGE_WITH_SOURCE",
    5: "DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE",
    6: "DEFERRED_UPDATE_MESSAGE",
    7: "UPDATE_MESSAGE",
    8: "APPLICATION_COMMAND_AUTOCOMPLETE_RESULT",
    9: "MODAL",
}


def register(router: web.UrlDispatcher, ctx: RestContext) -> None:
    r = InteractionRoutes(ctx)
    api = "/api/v10"
    app = "{application_id:\\d+}"
    router.add_get(f"{api}/applications/{app}/commands", r.get_commands)
    router.add_put(f"{api}/applications/{app}/commands", r.put_commands)
    router.add_post(f"{api}/applications/{app}/commands", r.post_command)
    router.add_get(f"{api}/applications/{app}/guilds/{{guild_id:\\d+}}/commands", r.get_commands)
    router.add_put(f"{api}/applications/{app}/guilds/{{guild_id:\\d+}}/commands", r.put_commands)
    router.add_post(f"{api}/applications/{app}/guilds/{{guild_id:\\d+}}/commands", r.post_command)
    router.add_post(f"{api}/interactions/{{interaction_id:\\d+}}/{{token}}/callback", r.callback)
    router.add_post(f"{api}/webhooks/{app}/{{token}}", r.followup)
    msg = f"{api}/webhooks/{app}/{{token}}/messages/{{message_id}}"
    router.add_get(msg, r.get_webhook_message)
    router.add_patch(msg, r.edit_webhook_message)
    router.add_delete(msg, r.delete_webhook_message)


class InteractionRoutes:
    def __init__(self, ctx: RestContext) -> None:
        self.ctx = ctx
        self.state = ctx.state

    # --- commands ---------------------------------------------------------------
    def _check_app(self, request: web.Request) -> int | None:
        if int(request.match_info["application_id"]) != self.state.application_id:
            raise DiscordAPIError(403, 50001, "Missing Access")
        raw = request.match_info.get("guild_id")
        if raw is None:
            return None
        gid = int(raw)
        if gid not in self.state.guilds:
            raise DiscordAPIError(403, 50001, "Missing Access")
        return gid

    def _stored(self, guild_id: int | None) -> list[JSON]:
        if guild_id is None:
            return self.state.global_commands or []
        return self.state.guild_commands.get(guild_id, [])

    def _normalise(self, cmd: JSON, guild_id: int | None, old: list[JSON]) -> JSON:
        ctype = int(cmd.get("type", 1))
        previous = next(
            (c for c in old if c["name"] == cmd.get("name") and int(c.get("type", 1)) == ctype),
            None,
        )
        perms = cmd.get("default_member_permissions")
        stored: JSON = {
            "id": previous["id"] if previous else str(self.state.new_id()),
            "application_id": str(self.state.application_id),
            "version": str(self.state.new_id()),
            "type": ctype,
            "name": cmd.get("name"),
            "description": cmd.get("description", "") if ctype == 1 else "",
            "default_member_permissions": None if perms is None else str(perms),
            "dm_permission": cmd.get("dm_permission", True),
            "nsfw": bool(cmd.get("nsfw", False)),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types") or [0],
            "name_localizations": cmd.get("name_localizations"),
            "description_localizations": cmd.get("description_localizations"),
        }
        if ctype == 1:
            stored["options"] = cmd.get("options") or []
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    async def get_commands(self, request: web.Request) -> web.StreamResponse:
        guild_id = self._check_app(request)
        return json_response(self._stored(guild_id))

    async def put_commands(self, request: web.Request) -> web.StreamResponse:
        guild_id = self._check_app(request)
        body = await read_body(request)
        commands = body.payload.get("__list__")
        request[BODY_KEY] = commands
        if not isinstance(commands, list):
            raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.")
        validate_commands(commands)
        old = self._stored(guild_id)
        stored = [self._normalise(c, guild_id, old) for c in commands]
        if guild_id is None:
            self.state.global_commands = stored
        else:
            self.state.guild_commands[guild_id] = stored
        self.state.sync_log.append(
            SyncRecord(guild_id=guild_id, commands=stored, at=time.perf_counter())
        )
        self.state.notify()
        return json_response(stored)

    async def post_command(self, request: web.Request) -> web.StreamResponse:
        guild_id = self._check_app(request)
        body = await read_body(request)
        request[BODY_KEY] = body.payload
        validate_commands([body.payload])
        old = self._stored(guild_id)
        stored = self._normalise(body.payload, guild_id, old)
        rest = [c for c in old if c["id"] != stored["id"]]
        if guild_id is None:
            self.state.global_commands = [*rest, stored]
        else:
            self.state.guild_commands[guild_id] = [*rest, stored]
        self.state.notify()
        return json_response(stored, status=201)

    # --- interaction callback -------------------------------------------------------
    def _interaction_message_extra(
        self, rec: InteractionRecord, *, ephemeral: bool
    ) -> dict[str, Any]:
        channel = self.state.channels[rec.channel_id]
        user = self.state.user(rec.user_id)
        metadata: JSON = {
            "id": str(rec.id),
            "type": rec.type,
            "user": user.to_payload(),
            "authorizing_integration_owners": {"0": str(rec.guild_id)} if rec.guild_id else {},
        }
        if rec.source_message_id is not None:
            metadata["interacted_message_id"] = str(rec.source_message_id)
        data = rec.payload.get("data") or {}
        msg_type = 0
        if rec.type == 2:
            msg_type = 20 if int(data.get("type", 1)) == 1 else 23
        return {
            "recipient_id": rec.user_id if ephemeral else channel.recipient_id,
            "interaction_id": rec.id,
            "webhook_id": self.state.application_id,
            "message_type": msg_type,
            "interaction_metadata": metadata,
        }

    async def _create_for(
        self, rec: InteractionRecord, fields: dict[str, Any], source: str
    ) -> RecordedMessage:
        channel = self.state.channels[rec.channel_id]
        ephemeral = bool(fields.get("flags", 0) & FLAG_EPHEMERAL)
        extra = self._interaction_message_extra(rec, ephemeral=ephemeral)
        return await self.ctx.messaging.create(
            channel, fields, author_id=self.state.bot_user.id, source=source, **extra
        )

    async def callback(self, request: web.Request) -> web.StreamResponse:
        now = request.get(STARTED_KEY, time.perf_counter())
        body = await read_body(request)
        request[BODY_KEY] = body.payload
        rec = self.state.interactions.get(int(request.match_info["interaction_id"]))
        if rec is None or rec.token != request.match_info["token"]:
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        ctype = int(body.payload.get("type", 0))
        data: JSON = body.payload.get("data") or {}
        if rec.callbacks:
            rec.rejected_callbacks.append((ctype, "already acknowledged"))
            rec.notify()
            raise DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")
        deadline = self.ctx.config.ack_deadline
        if (
            deadline is not None
            and rec.dispatched_at is not None
            and now - rec.dispatched_at > deadline
        ):
            rec.rejected_callbacks.append((ctype, f"too late ({now - rec.dispatched_at:.2f}s)"))
            rec.notify()
            self.state.notify()
            raise DiscordAPIError(404, 10062, "Unknown interaction")
        if ctype not in ALLOWED_CALLBACKS.get(rec.type, set()) or (
            ctype in (6, 7) and rec.source_message_id is None
        ):
            rec.rejected_callbacks.append((ctype, "callback type not valid for this interaction"))
            rec.notify()
            self.state.notify()
            raise form_error(
                "type",
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {ctype} ({CALLBACK_NAMES.get(ctype, '?')}) is not valid "
                f"for interaction type {rec.type}",
            )
        resource: JSON | None = None
        message: RecordedMessage | None = None
        if ctype == 4:
            flags = int(data.get("flags") or 0)
            fields = self.ctx.messaging.fields_from_body(
                MessageBody(data, body.files),
                existing=None,
                is_edit=False,
                allowed_flags=SETTABLE_FLAGS_INTERACTION,
                ephemeral=bool(flags & FLAG_EPHEMERAL),
            )
            message = await self._create_for(rec, fields, "interaction_response")
            rec.original_message_id = message.id
            self.state.watch_message(rec, message.id)
        elif ctype == 5:
            ephemeral = int(data.get("flags") or 0) & FLAG_EPHEMERAL
            rec.deferred_ephemeral = bool(ephemeral)
            fields = {"content": "", "flags": FLAG_LOADING | ephemeral}
            message = await self._create_for(rec, fields, "interaction_response")
            rec.original_message_id = message.id
            self.state.watch_message(rec, message.id)
        elif ctype == 6:
            rec.original_message_id = rec.source_message_id
            if rec.source_message_id is not None:
                self.state.watch_message(rec, rec.source_message_id)
        elif ctype == 7:
            assert rec.source_message_id is not None
            source = self.state.messages.get(rec.source_message_id)
            if source is None or source.deleted:
                raise unknown("Message", 10008)
            fields = self.ctx.messaging.fields_from_body(
                MessageBody(data, body.files),
                existing=source.attachments,
                is_edit=True,
                allowed_flags=SETTABLE_FLAGS,
            )
            if "flags" in fields:
                fields["flags"] |= source.flags & FLAG_EPHEMERAL
            message = await self.ctx.messaging.edit(source, fields)
            rec.original_message_id = message.id
            self.state.watch_message(rec, message.id)
        elif ctype == 8:
            validate_autocomplete(data)
        elif ctype == 9:
            validate_modal(data)
            rec.modal = ShownModal(
                custom_id=str(data["custom_id"]),
                title=str(data.get("title", "")),
                components=list(data.get("components") or []),
                interaction_id=rec.id,
                raw=data,
            )
        rec.first_callback_at = now
        rec.callbacks.append(
            CallbackRecord(type=ctype, data=data, at=now, attachments=len(body.files))
        )
        if message is not None:
            touch(request, self.ctx, message.id)
            resource = {"type": ctype, "message": self.ctx.messaging.payload(message)}
        rec.notify()
        self.state.notify()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        interaction: JSON = {"id": str(rec.id), "type": rec.type, "channel_id": str(rec.channel_id)}
        if rec.guild_id is not None:
            interaction["guild_id"] = str(rec.guild_id)
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = bool(message.flags & FLAG_LOADING)
            interaction["response_message_ephemeral"] = message.ephemeral
        answer: JSON = {"interaction": interaction}
        if resource is not None:
            answer["resource"] = resource
        return json_response(answer)

    # --- webhooks (follow-ups and @original) -----------------------------------------
    def _by_token(self, request: web.Request) -> InteractionRecord:
        if int(request.match_info["application_id"]) != self.state.application_id:
            raise unknown("Webhook", 10015)
        rec = self.state.interactions_by_token.get(request.match_info["token"])
        if rec is None:
            raise unknown("Webhook", 10015)
        return rec

    def _webhook_message(self, request: web.Request, rec: InteractionRecord) -> RecordedMessage:
        raw = request.match_info["message_id"]
        if raw == "@original":
            message_id = rec.original_message_id
        else:
            message_id = int(raw) if raw.isdigit() else None
            if message_id not in (rec.original_message_id, *rec.followup_ids):
                message_id = None
        message = self.state.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise unknown("Message", 10008)
        return message

    async def followup(self, request: web.Request) -> web.StreamResponse:
        rec = self._by_token(request)
        body = await read_body(request)
        request[BODY_KEY] = body.payload
        if not rec.callbacks:
            raise unknown("Webhook", 10015)
        original = (
            self.state.messages.get(rec.original_message_id) if rec.original_message_id else None
        )
        if (
            rec.callbacks[0].type == 5
            and original is not None
            and original.loading
            and not rec.original_replaced_by_followup
        ):
            # The first follow-up after a thinking defer replaces the "thinking" message and
            # keeps the defer's ephemeral choice, whatever flags it carries.
            fields = self.ctx.messaging.fields_from_body(
                body,
                existing=original.attachments,
                is_edit=True,
                allowed_flags=SETTABLE_FLAGS,
                ephemeral=original.ephemeral,
            )
            fields["flags"] = (fields.get("flags", 0) & SETTABLE_FLAGS) | (
                original.flags & FLAG_EPHEMERAL
            )
            message = await self.ctx.messaging.edit(original, fields)
            rec.original_replaced_by_followup = True
        else:
            flags = int(body.payload.get("flags") or 0)
            fields = self.ctx.messaging.fields_from_body(
                body,
                existing=None,
                is_edit=False,
                allowed_flags=SETTABLE_FLAGS_INTERACTION,
                ephemeral=bool(flags & FLAG_EPHEMERAL),
            )
            message = await self._create_for(rec, fields, "followup")
            rec.followup_ids.append(message.id)
            self.state.watch_message(rec, message.id)
        touch(request, self.ctx, message.id)
        self.state.notify()
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(self.ctx.messaging.payload(message))
        return no_content()

    async def get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        rec = self._by_token(request)
        return json_response(self.ctx.messaging.payload(self._webhook_message(request, rec)))

    async def edit_webhook_message(self, request: web.Request) -> web.StreamResponse:
        rec = self._by_token(request)
        body = await read_body(request)
        request[BODY_KEY] = body.payload
        message = self._webhook_message(request, rec)
        fields = self.ctx.messaging.fields_from_body(
            body,
            existing=message.attachments,
            is_edit=True,
            allowed_flags=SETTABLE_FLAGS,
            ephemeral=message.ephemeral,
        )
        fields["flags"] = (fields.get("flags", message.flags) & SETTABLE_FLAGS) | (
            message.flags & FLAG_EPHEMERAL
        )
        edited = await self.ctx.messaging.edit(message, fields)
        touch(request, self.ctx, edited.id)
        return json_response(self.ctx.messaging.payload(edited))

    async def delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        rec = self._by_token(request)
        message = self._webhook_message(request, rec)
        await self.ctx.messaging.delete(message)
        return no_content()
