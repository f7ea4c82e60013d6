"""The plain values the report service hands to cogs: requests, drafts and outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import (
    FINAL_DELIVERY_STATUSES,
    Delivery,
    DeliveryStatus,
    Evidence,
    Reason,
    Report,
)
from bot.notify import LinkButton
from bot.services.delivery.registry import PlannedDelivery
from bot.services.reporting.targets import Identity


@dataclass(frozen=True)
class ReportRequest:
    """What a member asked to report, as the cog received it (nothing checked yet)."""

    guild_id: int
    channel_id: int | None
    reporter_id: int
    reason: Reason
    player: str | None = None
    """Free text: ``Name#1234``, a game player uuid, or a member mention."""
    target_member_id: int | None = None
    """Set by the right-click menus: the member (or the message's author) reported."""
    activity: str | None = None
    """A Destiny activity id or a game match id."""
    description: str | None = None
    evidence: tuple[Evidence, ...] = ()
    reporter_name: str | None = None
    """The reporter's Discord ``@handle``, for the account-linking page of any link button."""
    locale: str | None = None
    """The reporter's Discord locale: the draft names the activity in its language (from
    Bungie's manifest)."""


@dataclass(frozen=True)
class Draft:
    """A stored, unconfirmed report and what confirming it would do."""

    report: Report
    target: Identity
    plan: tuple[PlannedDelivery, ...]
    activity_label: str | None
    review_first: bool
    """Moderators approve reports on this server before anything is forwarded."""
    link_buttons: tuple[LinkButton, ...] = ()
    filed_as: tuple[tuple[str, str], ...] = ()
    """(destination name, how it files the report, in the member's language)."""


@dataclass(frozen=True)
class DeliveryState:
    destination: str
    label: str
    """The destination's name, as the member reads it."""
    status: DeliveryStatus
    upstream_id: str | None
    handoff_url: str | None
    error: str | None

    @classmethod
    def of(cls, delivery: Delivery, label: str) -> DeliveryState:
        return cls(delivery.destination, label, delivery.status, delivery.upstream_id,
                   delivery.handoff_url, delivery.last_error)

    @property
    def final(self) -> bool:
        return self.status in FINAL_DELIVERY_STATUSES


@dataclass(frozen=True)
class ReportOutcome:
    report: Report
    deliveries: tuple[DeliveryState, ...]

    @property
    def final(self) -> bool:
        return bool(self.deliveries) and all(d.final for d in self.deliveries)

    @property
    def held(self) -> bool:
        return any(d.status is DeliveryStatus.HELD for d in self.deliveries)
