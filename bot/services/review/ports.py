"""What the review side needs from the front end, as plain values and one port.

The review post goes through a ``ReviewBoard`` implemented on the Discord side
(``bot/discord_side/review_board.py``); ``Actor`` is who pressed a button, as the cog
saw them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from bot.domain import Case, Report
from bot.i18n import Text, t
from bot.services.review.card import ReviewCard


class BoardProblem(enum.StrEnum):
    MISSING_CHANNEL = "missing_channel"
    MISSING_PERMISSION = "missing_permission"
    MISSING_MESSAGE = "missing_message"
    FAILED = "failed"


class BoardError(Exception):
    """The review post could not be made or edited."""

    def __init__(self, problem: BoardProblem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class Posted:
    message_id: int
    # Evidence position (as a string) -> "copied", or why it was not re-uploaded.
    evidence: dict[str, str]


class ReviewBoard(Protocol):
    """Where review posts live (the Discord review channel)."""

    def is_public(self, channel_id: int, moderator_role_id: int | None) -> bool:
        """True unless everyone who can read the channel is a moderator (the moderator
        role, Manage Server or Administrator); reporters are then left out."""
        ...

    async def post(self, channel_id: int, card: ReviewCard) -> Posted:
        """Post the card, re-uploading its attachment evidence (the post shows which
        copies succeeded; ``Posted.evidence`` says the same for later edits)."""
        ...

    async def update(self, channel_id: int, message_id: int, card: ReviewCard) -> None: ...


@dataclass(frozen=True)
class Actor:
    """Who pressed a button or ran a command, as the cog saw them."""

    user_id: int
    role_ids: frozenset[int] = frozenset()
    manages_server: bool = False
    # The member's Discord permissions in the channel (discord.py's names) that member
    # actions need: "moderate_members", "kick_members", "ban_members".
    permissions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ActionResult:
    """The result of a moderator action; ``message`` is shown to the moderator."""

    report: Report
    """The report whose review post shows the change (the case's lead report)."""
    message: str | None = None
    case: Case | None = None


class MemberAction(enum.StrEnum):
    """What a moderator can do to the reported member from the review post."""

    WARN = "warn"
    TIMEOUT = "timeout"
    KICK = "kick"
    BAN = "ban"

    @property
    def permission(self) -> str:
        """The Discord permission (discord.py's name) both the moderator and Warden need."""
        return _ACTION_PERMISSIONS[self]

    @property
    def permission_label(self) -> Text:
        return PERMISSION_LABELS[self.permission]


_ACTION_PERMISSIONS = {
    MemberAction.WARN: "moderate_members",
    MemberAction.TIMEOUT: "moderate_members",
    MemberAction.KICK: "kick_members",
    MemberAction.BAN: "ban_members",
}
PERMISSION_LABELS: dict[str, Text] = {
    # The names Discord's own Roles screen shows, so a moderator finds them there (the
    # API's MODERATE_MEMBERS is "Timeout Members" in Discord's interface).
    "moderate_members": t("Timeout Members"),
    "kick_members": t("Kick Members"),
    "ban_members": t("Ban Members"),
}


@dataclass(frozen=True)
class MemberFacts:
    """What Discord says about the reported member and about Warden in one server."""

    is_member: bool
    is_owner: bool = False
    top_role_position: int = 0
    top_role_name: str = ""
    bot_top_role_position: int = 0
    bot_top_role_name: str = ""
    bot_permissions: frozenset[str] = frozenset()


class MemberActionRefused(Exception):
    """Discord refused the action (403, code 50013 Missing Permissions)."""


class MemberModeration(Protocol):
    """The reported member's server, as the member-action service needs it (Discord)."""

    async def facts(self, guild_id: int, member_id: int) -> MemberFacts: ...

    async def timeout(self, guild_id: int, member_id: int, until: float, reason: str) -> None:
        """``until``: a Unix time at most 28 days ahead. Raises ``MemberActionRefused``."""
        ...

    async def kick(self, guild_id: int, member_id: int, reason: str) -> None: ...

    async def ban(
        self, guild_id: int, member_id: int, reason: str, delete_message_seconds: int
    ) -> None: ...
