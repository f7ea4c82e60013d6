"""Creating, editing and deleting stored messages, shared by the channel routes and the
interaction/webhook routes, including the gateway events Discord would send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import form_error
from .gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES, Gateway
from .models import (
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    JSON,
    Channel,
    RecordedAttachment,
    RecordedMessage,
    Upload,
)
from .state import StandInState
from .validation import validate_message

#: Flags a bot may set when sending (others are ignored, as Discord does).
SETTABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2
SETTABLE_FLAGS_INTERACTION = SETTABLE_FLAGS | FLAG_EPHEMERAL


@dataclass
class MessageBody:
    """A parsed request body: the JSON (or ``payload_json``) plus uploaded files by index."""

    payload: JSON
    files: dict[int, Upload]


class Messaging:
    def __init__(self, state: StandInState, gateway: Gateway) -> None:
        self.state = state
        self.gateway = gateway

    # --- parsing ------------------------------------------------------------
    def fields_from_body(
        self,
        body: MessageBody,
        *,
        existing: list[RecordedAttachment] | None,
        is_edit: bool,
        allowed_flags: int,
        ephemeral: bool = False,
    ) -> dict[str, Any]:
        """Validate a message body and turn it into ``RecordedMessage`` field changes.

        On edit only the keys present in the body change, as on Discord.
        """
        payload = body.payload
        validate_message(payload, has_files=bool(body.files), is_edit=is_edit)
        fields: dict[str, Any] = {}
        if "content" in payload or not is_edit:
            fields["content"] = str(payload.get("content") or "")
        if "embeds" in payload or not is_edit:
            fields["embeds"] = list(payload.get("embeds") or [])
            if payload.get("embed"):
                fields["embeds"] = [payload["embed"]]
        if "components" in payload or not is_edit:
            fields["components"] = list(payload.get("components") or [])
        if "allowed_mentions" in payload or not is_edit:
            fields["allowed_mentions"] = payload.get("allowed_mentions")
        if "flags" in payload and payload["flags"] is not None:
            fields["flags"] = int(payload["flags"]) & allowed_flags
        elif not is_edit:
            fields["flags"] = 0
        if not is_edit:
            fields["tts"] = bool(payload.get("tts"))
            if payload.get("poll"):
                fields["poll"] = payload["poll"]
        attachments = self._attachments(payload, body.files, existing or [], ephemeral=ephemeral)
        if attachments is not None:
            fields["attachments"] = attachments
        elif not is_edit:
            fields["attachments"] = []
        return fields

    def _attachments(
        self,
        payload: JSON,
        files: dict[int, Upload],
        existing: list[RecordedAttachment],
        *,
        ephemeral: bool,
    ) -> list[RecordedAttachment] | None:
        spec = payload.get("attachments")
        existing_by_id = {a.id: a for a in existing}
        if spec is None:
            if not files:
                return None
            return existing + [
                self.state.store_attachment(files[i], ephemeral=ephemeral) for i in sorted(files)
            ]
        result: list[RecordedAttachment] = []
        used: set[int] = set()
        for i, entry in enumerate(spec):
            raw_id = entry.get("id")
            try:
                att_id = int(raw_id)
            except (TypeError, ValueError):
                raise form_error(
                    f"attachments.{i}.id", "BASE_TYPE_REQUIRED", "This field is required"
                ) from None
            if att_id in existing_by_id:
                result.append(existing_by_id[att_id])
            elif att_id in files:
                used.add(att_id)
                result.append(
                    self.state.store_attachment(
                        files[att_id], description=entry.get("description"), ephemeral=ephemeral
                    )
                )
            else:
                raise form_error(
                    f"attachments.{i}.id", "ATTACHMENT_NOT_FOUND", f"Unknown attachment id {raw_id}"
                )
        for idx in sorted(set(files) - used):
            result.append(self.state.store_attachment(files[idx], ephemeral=ephemeral))
        return result

    # --- payloads ------------------------------------------------------------
    def payload(self, message: RecordedMessage) -> JSON:
        author = self.state.users.get(message.author_id)
        return message.to_payload(author, users=self.state.users)

    # --- writes ----------------------------------------------------------------
    async def create(
        self, channel: Channel, fields: dict[str, Any], *, author_id: int, source: str, **extra: Any
    ) -> RecordedMessage:
        message = self.state.new_message(
            channel, author_id=author_id, source=source, **fields, **extra
        )
        reference = message.message_reference
        if reference and reference.get("message_id"):
            replied = self.state.messages.get(int(reference["message_id"]))
            if replied is not None:
                message = message.with_changes(reply_to_author_id=replied.author_id)
        self.state.record_message(message)
        await self._announce("MESSAGE_CREATE", message)
        return message

    async def edit(self, message: RecordedMessage, fields: dict[str, Any]) -> RecordedMessage:
        edited = self.state.edit_message(message, **fields)
        await self._announce("MESSAGE_UPDATE", edited)
        return edited

    async def delete(self, message: RecordedMessage) -> RecordedMessage:
        deleted = self.state.edit_message(message, deleted=True)
        if not message.ephemeral:
            data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            intent = INTENT_DIRECT_MESSAGES if message.is_dm else INTENT_GUILD_MESSAGES
            await self.gateway.dispatch(
                "MESSAGE_DELETE", data, guild_id=message.guild_id, intent=intent
            )
        return deleted

    async def _announce(self, event: str, message: RecordedMessage) -> None:
        if message.ephemeral:
            return  # Discord sends no gateway events for ephemeral messages
        bot_id = self.state.bot_user.id
        exempt = (
            message.author_id == bot_id
            or f"<@{bot_id}>" in message.content
            or f"<@!{bot_id}>" in message.content
        )
        payload = self.payload(message)
        if message.guild_id is not None:
            member = self.state.member_of(message.guild_id, message.author_id)
            if member is not None:
                payload["member"] = member.to_payload(with_user=False)
        await self.gateway.dispatch_message(
            event,
            payload,
            guild_id=message.guild_id,
            is_dm=message.is_dm,
            exempt_from_content_intent=exempt,
        )
