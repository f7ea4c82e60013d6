"""Warden's own vocabulary, shared by every layer."""

from __future__ import annotations

import enum

from bot.i18n.formatting import Duration
from bot.i18n.text import Text, t


class Reason(enum.StrEnum):
    """The game backend's ten report reasons: the single source of truth for every
    dropdown and every payload. Order follows the sanctions API."""

    CHEATING = "cheating"
    HATE_SPEECH = "hate_speech"
    HARASSMENT = "harassment"
    REAL_LIFE_THREAT = "real_life_threat"
    TEAMING = "teaming"
    INTENTIONAL_FEEDING = "intentional_feeding"
    STREAM_SNIPING = "stream_sniping"
    AFK = "afk"
    DIDNT_PLAY_ASSIGNED_ROLE = "didnt_play_assigned_role"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS: dict[Reason, str] = {
    Reason.CHEATING: t("Cheating"),
    Reason.HATE_SPEECH: t("Hate speech"),
    Reason.HARASSMENT: t("Harassment"),
    Reason.REAL_LIFE_THREAT: t("Real-life threat"),
    Reason.TEAMING: t("Teaming"),
    Reason.INTENTIONAL_FEEDING: t("Intentional feeding"),
    Reason.STREAM_SNIPING: t("Stream sniping"),
    Reason.AFK: t("AFK"),
    Reason.DIDNT_PLAY_ASSIGNED_ROLE: t("Didn't play assigned role"),
    Reason.OTHER: t("Other"),
}


class Destination(enum.StrEnum):
    BUNGIE = "bungie"
    SANCTIONS = "sanctions"


class Provider(enum.StrEnum):
    """Account-link providers."""

    BUNGIE = "bungie"
    GAME = "game"


class GamePlatform(enum.StrEnum):
    """The sanctions API's OAuth login portals (no Discord portal exists)."""

    STEAM = "steam"
    EPIC = "epic"
    XBOX = "xbox"
    PSN = "psn"
    NINTENDO = "nintendo"
    GOOGLE = "google"
    APPLE = "apple"
    AMAZON = "amazon"
    TWITCH = "twitch"


class ReportStatus(enum.StrEnum):
    """Where a report stands from the member's side: a draft until they confirm it, then
    accepted (or cancelled). What moderators did is its case's (``CaseStatus``), what
    reached each destination its deliveries' (``DeliveryStatus``)."""

    DRAFT = "draft"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class CaseStatus(enum.StrEnum):
    """What moderators did about an incident (one or more reports), in every review mode."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


UNDECIDED_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.CLAIMED)
"""A case moderators have not closed yet: a new report of the same incident joins it."""
DECIDED_CASE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.DISMISSED)


class ActionKind(enum.StrEnum):
    """What moderators did about a case they resolved with an action."""

    WARN = "warn"
    TIMEOUT = "timeout"
    KICK = "kick"
    BAN = "ban"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self.value]


_ACTION_LABELS = {"warn": t("Warned"), "timeout": t("Timed out"), "kick": t("Kicked"),
                  "ban": t("Banned"), "other": t("Action taken")}
_PAST_TENSE = {"warn": t("warned"), "timeout": t("timed out"), "kick": t("kicked"),
               "ban": t("banned"), "other": t("Action taken")}


def action_done(kind: ActionKind, *, seconds: int | None = None, delete_days: int = 0) -> Text:
    """What was done to a member, said after their mention: "timed out for 1 day"."""
    if kind is ActionKind.TIMEOUT and seconds:
        return t("timed out for {duration}", duration=Duration(seconds))
    if kind is ActionKind.BAN and delete_days:
        return (t("banned, deleting 1 day of messages") if delete_days == 1 else
                t("banned, deleting {n} days of messages", n=delete_days))
    return _PAST_TENSE[kind.value]


class DeliveryStatus(enum.StrEnum):
    """A delivery: held for approval, pending, in flight, or in a final state."""

    HELD = "held"
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    HANDED_OFF = "handed_off"
    FAILED = "failed"
    SKIPPED = "skipped"


FINAL_DELIVERY_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.HANDED_OFF,
                           DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
DELIVERED_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.HANDED_OFF)


class NoteKind(enum.StrEnum):
    INFO_REQUEST = "info_request"
    REPLY = "reply"
    NOTE = "note"


class ReviewMode(enum.StrEnum):
    """How a server's reports leave: at once (``auto``) or after a moderator approves."""

    AUTO = "auto"
    APPROVE = "approve"
