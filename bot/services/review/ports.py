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


@dataclass(frozen=True)
class ActionResult:
    """The result of a moderator action; ``message`` is shown to the moderator."""

    report: Report
    """The report whose review post shows the change (the case's lead report)."""
    message: str | None = None
    case: Case | None = None
