"""The core records every layer passes around: a report, its evidence and notes, its
deliveries, and a server's settings. Plain frozen values: the store builds them from
rows (``bot/store``), services decide on them, cogs show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.vocabulary import (
    ActionKind,
    CaseStatus,
    DeliveryStatus,
    NoteKind,
    ReportStatus,
    ReviewMode,
)


@dataclass(frozen=True)
class Evidence:
    """A reference to something that backs a report (message link or attachment)."""

    kind: str  # "message" | "attachment"
    url: str | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    message_id: int | None = None
    channel_id: int | None = None
    author_id: int | None = None
    author_name: str | None = None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class NewReport:
    """What a member reported, before the store numbers it."""

    guild_id: int
    channel_id: int | None
    reporter_id: int
    reason: str
    target_key: str
    description: str | None = None
    target_discord_id: int | None = None
    target_bungie_membership_id: int | None = None
    target_bungie_membership_type: int | None = None
    target_bungie_name: str | None = None
    target_character_id: int | None = None
    target_player_uuid: str | None = None
    target_game_name: str | None = None
    reporter_destiny_membership_id: int | None = None
    reporter_player_uuid: str | None = None
    activity_id: int | None = None
    activity_mode: int | None = None
    activity_hash: int | None = None
    activity_period: str | None = None
    match_id: str | None = None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Report(NewReport):
    id: int = 0
    number: int = 0
    status: ReportStatus = ReportStatus.DRAFT
    case_id: int | None = None
    """The incident this report belongs to, from acceptance on (``Case``)."""
    review_channel_id: int | None = None
    review_message_id: int | None = None
    created_at: float = 0.0
    accepted_at: float | None = None
    updated_at: float = 0.0
    purged_at: float | None = None
    uuid: str | None = None
    """Random (UUID4), given at acceptance: the report's identity upstream, which a
    restore cannot repeat the way it repeats numbers and row ids."""


@dataclass(frozen=True)
class CaseOutcome:
    """How moderators resolved a case: an action taken (of ``action``'s kind), or, with
    ``action`` None, no action."""

    action: ActionKind | None = None

    @property
    def action_taken(self) -> bool:
        return self.action is not None


@dataclass(frozen=True)
class Case:
    """One incident: the reports of one player for one activity (or within the target
    cooldown), and what moderators did about it. Its review post is its lead report's."""

    id: int
    guild_id: int
    lead_report_id: int
    target_key: str
    activity_id: int | None
    status: CaseStatus
    claimed_by: int | None
    decided_by: int | None
    outcome: CaseOutcome | None
    """Set when resolved; None while undecided and when dismissed."""
    note: str | None
    """The moderator's note on resolving, or the reason for dismissing (staff only)."""
    created_at: float
    updated_at: float
    decided_at: float | None


@dataclass(frozen=True)
class Note:
    """A moderator's question, the reporter's reply, or a moderator's note."""

    id: int
    report_id: int
    author_id: int | None
    kind: NoteKind
    body: str
    created_at: float


@dataclass(frozen=True)
class Delivery:
    """One report on its way to one destination (a row of the durable outbox)."""

    report_id: int
    destination: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float
    upstream_id: str | None
    handoff_url: str | None
    last_error: str | None
    created_at: float
    updated_at: float
    completed_at: float | None

    @property
    def needs_reconcile(self) -> bool:
        """An earlier attempt may have reached the upstream without us recording it."""
        return self.attempts > 0


@dataclass(frozen=True)
class ReportLimits:
    short_count: int = 1
    short_seconds: int = 30
    hour_count: int = 5
    day_count: int = 20
    target_cooldown_hours: int = 24


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    review_channel_id: int | None = None
    moderator_role_id: int | None = None
    review_mode: ReviewMode = ReviewMode.APPROVE
    limits: ReportLimits = ReportLimits()
    audit_channel_id: int | None = None
    """Where the audit chain's head is posted daily (``bot.services.audit.heads``)."""
    language: str | None = None
    """Discord locale of staff posts (``/warden setup language:``); None: the server's own."""
    dm_before_removal: bool = True
    """DM a member before a kick or ban from Warden (afterwards no DM reaches them)."""
