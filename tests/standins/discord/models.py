"""The stand-in's data: users, guilds, channels, roles, members and recorded messages.

Objects here are what tests pass to the helpers (``standin.guild.member("alice")``)
and what the helpers hand back (:class:`RecordedMessage`). Each knows how to
render itself as the JSON payload Discord would send.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ids import iso_timestamp

JSON = dict[str, Any]

# Channel types (subset)
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5

# Message flags
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15


@dataclass(slots=True)
class User:
    """A Discord user. ``dms_open=False`` makes DMs to them fail with 403/50007."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True
    locale: str = "en-US"
    """The language of their Discord client: interactions carry it as ``locale``."""

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(slots=True)
class Member:
    """A user's membership of one guild."""

    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_timestamp)
    communication_disabled_until: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def mention(self) -> str:
        return f"<@{self.user.id}>"

    def to_payload(self, *, with_user: bool = True, permissions: int | None = None) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": self.communication_disabled_until,
        }
        if with_user:
            data["user"] = self.user.to_payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(slots=True)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def to_payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass(slots=True)
class Overwrite:
    """A channel permission overwrite: ``type`` 0 for a role, 1 for a member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> JSON:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(slots=True)
class Channel:
    """A guild channel or a DM channel (``type`` 1, ``recipient_id`` set)."""

    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient_id: int | None = None
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_payload(self, *, recipient: User | None = None, permissions: int | None = None) -> JSON:
        if self.type == DM:
            data: JSON = {
                "id": str(self.id),
                "type": DM,
                "last_message_id": str(self.last_message_id) if self.last_message_id else None,
                "recipients": [recipient.to_payload()] if recipient is not None else [],
                "flags": 0,
            }
            return data
        data = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": str(self.guild_id),
            "position": self.position,
            "permission_overwrites": [ow.to_payload() for ow in self.overwrites],
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "nsfw": False,
            "flags": 0,
        }
        if self.type in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
            data["topic"] = self.topic
            data["rate_limit_per_user"] = 0
            data["last_message_id"] = str(self.last_message_id) if self.last_message_id else None
        if self.type == GUILD_VOICE:
            data["bitrate"] = 64000
            data["user_limit"] = 0
            data["rtc_region"] = None
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Guild:
    """A guild with its roles, channels and members.

    Look things up by name: ``guild.channel("reports")``, ``guild.role("Moderator")``,
    ``guild.member("alice")``. The seeded guild also has shortcuts such as
    ``guild.review_channel`` and ``guild.moderator``.
    """

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    bot_role_id: int | None = None
    moderator_role_id: int | None = None
    preferred_locale: str = "en-US"
    """Community > Overview > Server Primary Language; interactions carry it as
    ``guild_locale``."""
    _by_name: dict[str, int] = field(default_factory=dict, repr=False)

    # --- look-ups -------------------------------------------------------
    def channel(self, name_or_id: str | int) -> Channel:
        if isinstance(name_or_id, int):
            return self.channels[name_or_id]
        for ch in self.channels.values():
            if ch.name == name_or_id:
                return ch
        raise KeyError(
            f"guild {self.name!r} has no channel named {name_or_id!r}; "
            f"channels: {sorted(c.name or '' for c in self.channels.values())}"
        )

    def role(self, name_or_id: str | int) -> Role:
        if isinstance(name_or_id, int):
            return self.roles[name_or_id]
        for role in self.roles.values():
            if role.name == name_or_id:
                return role
        raise KeyError(
            f"guild {self.name!r} has no role named {name_or_id!r}; "
            f"roles: {sorted(r.name for r in self.roles.values())}"
        )

    def member(self, name_or_id: str | int) -> Member:
        if isinstance(name_or_id, int):
            return self.members[name_or_id]
        user_id = self._by_name.get(name_or_id)
        if user_id is not None and user_id in self.members:
            return self.members[user_id]
        raise KeyError(
            f"guild {self.name!r} has no member named {name_or_id!r} "
            f"(add one with standin.add_member(...))"
        )

    def _index_member(self, member: Member) -> None:
        self._by_name[member.user.username] = member.user.id

    # --- seeded shortcuts -------------------------------------------------
    @property
    def everyone_role(self) -> Role:
        return self.roles[self.id]

    @property
    def moderator_role(self) -> Role:
        assert self.moderator_role_id is not None, "this guild was created without a moderator role"
        return self.roles[self.moderator_role_id]

    @property
    def bot_role(self) -> Role:
        assert self.bot_role_id is not None
        return self.roles[self.bot_role_id]

    @property
    def general_channel(self) -> Channel:
        return self.channel("general")

    @property
    def review_channel(self) -> Channel:
        """The seeded staff channel a report bot would post reviews to (``#reports``)."""
        return self.channel("reports")

    @property
    def mod_log_channel(self) -> Channel:
        return self.channel("mod-log")

    @property
    def owner(self) -> Member:
        return self.members[self.owner_id]

    @property
    def moderator(self) -> Member:
        """The seeded member ``mod`` holding the Moderator role."""
        return self.member("mod")

    @property
    def reporter(self) -> Member:
        """The seeded plain member ``alice``."""
        return self.member("alice")

    @property
    def target(self) -> Member:
        """The seeded plain member ``bob``."""
        return self.member("bob")

    def text_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.type == GUILD_TEXT]

    def to_payload(
        self, *, members: list[Member], member_count: int, large: bool, joined_at: str
    ) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "roles": [r.to_payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "joined_at": joined_at,
            "large": large,
            "unavailable": False,
            "member_count": member_count,
            "voice_states": [],
            "members": [m.to_payload() for m in members],
            "channels": [c.to_payload() for c in self.channels.values()],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "max_members": 500000,
        }


@dataclass(frozen=True, slots=True)
class Upload:
    """A file a simulated user attaches (slash command attachment option, modal file
    upload, or a user message): ``Upload("clip.png", b"...")``."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedAttachment:
    """An attachment stored by the stand-in; ``url`` serves ``data`` over HTTP."""

    id: int
    filename: str
    size: int
    url: str
    content_type: str | None
    data: bytes = field(repr=False)
    description: str | None = None
    ephemeral: bool = False

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            data["content_type"] = self.content_type
        if self.description is not None:
            data["description"] = self.description
        if self.ephemeral:
            data["ephemeral"] = True
        return data


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True, slots=True)
class Pings:
    """Who a message would actually notify, after ``allowed_mentions`` is applied."""

    users: frozenset[int]
    roles: frozenset[int]
    everyone: bool

    @property
    def nobody(self) -> bool:
        return not self.users and not self.roles and not self.everyone


@dataclass(frozen=True)
class RecordedMessage:
    """One version of a message as the stand-in stored it.

    Every create and every edit produces a new ``RecordedMessage`` (``version``
    0, 1, ...); ``standin.message(id)`` gives the latest. ``recipient_id`` is
    the other user of a DM, or the only user who can see an ephemeral reply.
    ``source`` is ``"channel"`` (``POST /channels/{id}/messages``),
    ``"interaction_response"``, ``"followup"`` or ``"user"`` (posted by a
    simulated user with ``post_user_message``).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: JSON | None = None
    attachments: list[RecordedAttachment] = field(default_factory=list)
    is_dm: bool = False
    recipient_id: int | None = None
    interaction_id: int | None = None
    source: str = "channel"
    version: int = 0
    deleted: bool = False
    created_at: float = 0.0
    edited_at: float | None = None
    timestamp: str = ""
    edited_timestamp: str | None = None
    message_reference: JSON | None = None
    reply_to_author_id: int | None = None
    tts: bool = False
    webhook_id: int | None = None
    message_type: int = 0
    interaction_metadata: JSON | None = None
    author_payload: JSON | None = field(default=None, repr=False)
    poll: JSON | None = field(default=None, repr=False)

    # --- convenience for assertions ------------------------------------
    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True for a deferred "Bot is thinking..." placeholder not yet edited."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def text(self) -> str:
        """Content plus every embed's title/description/fields/footer/author, one per line,
        plus text displays of components v2 - handy for ``"claimed" in msg.text``."""
        parts: list[str] = [self.content] if self.content else []
        for embed in self.embeds:
            for key in ("title", "description"):
                if embed.get(key):
                    parts.append(str(embed[key]))
            for fld in embed.get("fields", []) or []:
                parts.append(f"{fld.get('name', '')}: {fld.get('value', '')}")
            for key in ("footer", "author"):
                sub = embed.get(key) or {}
                if sub.get("text") or sub.get("name"):
                    parts.append(str(sub.get("text") or sub.get("name")))
        for comp in iter_components(self.components):
            if comp.get("type") == 10 and comp.get("content"):
                parts.append(str(comp["content"]))
        return "\n".join(parts)

    @property
    def custom_ids(self) -> list[str]:
        """custom_ids of every interactive component on the message, in order."""
        return [str(c["custom_id"]) for c in iter_components(self.components) if "custom_id" in c]

    def component(self, custom_id: str) -> JSON | None:
        """The component dict with this custom_id, or None."""
        for comp in iter_components(self.components):
            if comp.get("custom_id") == custom_id:
                return comp
        return None

    @property
    def pings(self) -> Pings:
        """Who Discord would notify for this message given its content and allowed_mentions.

        Without ``allowed_mentions`` Discord parses everything in the content.
        """
        users = {int(u) for u in _USER_MENTION.findall(self.content)}
        roles = {int(r) for r in _ROLE_MENTION.findall(self.content)}
        everyone = "@everyone" in self.content or "@here" in self.content
        am = self.allowed_mentions
        if am is None:
            return Pings(frozenset(users), frozenset(roles), everyone)
        parse = set(am.get("parse", []) or [])
        allowed_users = {int(u) for u in am.get("users", []) or []}
        allowed_roles = {int(r) for r in am.get("roles", []) or []}
        pinged_users = users if "users" in parse else users & allowed_users
        pinged_roles = roles if "roles" in parse else roles & allowed_roles
        if am.get("replied_user") and self.reply_to_author_id is not None:
            pinged_users = pinged_users | {self.reply_to_author_id}
        return Pings(
            frozenset(pinged_users), frozenset(pinged_roles), everyone and "everyone" in parse
        )

    def with_changes(self, **changes: Any) -> RecordedMessage:
        return dataclasses.replace(self, **changes)

    def to_payload(
        self, author: User | None = None, users: Mapping[int, User] | None = None
    ) -> JSON:
        """The message as Discord returns it from REST or sends it over the gateway."""
        author_data = self.author_payload
        if author_data is None:
            author_data = (
                author.to_payload()
                if author is not None
                else {
                    "id": str(self.author_id),
                    "username": f"user{self.author_id}",
                    "discriminator": "0",
                    "global_name": None,
                    "avatar": None,
                }
            )
        data: JSON = {
            "id": str(self.id),
            "type": self.message_type,
            "channel_id": str(self.channel_id),
            "author": author_data,
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": self.pings.everyone,
            "mentions": [
                users[u].to_payload() for u in sorted(self.pings.users) if users and u in users
            ],
            "mention_roles": [str(r) for r in sorted(self.pings.roles)],
            "attachments": [a.to_payload() for a in self.attachments],
            "embeds": [dict(e, type=e.get("type", "rich")) for e in self.embeds],
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.poll is not None:
            data["poll"] = self.poll
        return data


def iter_components(components: list[JSON]) -> Iterator[JSON]:
    """Walk a component tree (action rows, containers, sections, labels) depth first."""
    for comp in components:
        yield comp
        children = comp.get("components")
        if isinstance(children, list):
            yield from iter_components(children)
        for key in ("component", "accessory"):
            child = comp.get(key)
            if isinstance(child, dict):
                yield from iter_components([child])
