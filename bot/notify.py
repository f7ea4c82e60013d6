"""How services tell a member something without knowing about Discord.

A service builds a plain ``Notice`` and hands it to a ``Notifier``; the Discord
implementation (``bot.discord_notifier``) turns it into a DM with link buttons.
Tests may use the same Discord implementation against the Discord stand-in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class LinkButton:
    label: str
    url: str


@dataclass(frozen=True)
class Notice:
    text: str
    title: str | None = None
    buttons: tuple[LinkButton, ...] = field(default_factory=tuple)


class DmOutcome(enum.StrEnum):
    SENT = "sent"
    DMS_CLOSED = "dms_closed"
    FAILED = "failed"


class Notifier(Protocol):
    async def send_dm(self, user_id: int, notice: Notice) -> DmOutcome: ...


class GuildMembers(Protocol):
    async def is_member(self, guild_id: int, user_id: int) -> bool:
        """Whether the user is in the server now (False when it cannot be told)."""
        ...


class NoDms:
    """A ``Notifier`` for commands that run without Discord (``python -m bot check``):
    they build the destinations to probe them, and never send anything."""

    async def send_dm(self, user_id: int, notice: Notice) -> DmOutcome:
        return DmOutcome.FAILED
