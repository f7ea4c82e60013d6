"""The plain values the report service hands to cogs: requests, drafts and outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Destination, Reason
from bot.notify import LinkButton
from bot.services.report_plan import DESTINATION_LABELS, PlannedDelivery
from bot.services.targets import Identity
from bot.store.deliveries import FINAL_STATUSES, Delivery
from bot.store.reports import Evidence, Report


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


@dataclass(frozen=True)
class Draft:
    """A stored, unconfirmed report and what confirming it would do."""

    report: Report
    target: Identity
    plan: tuple[PlannedDelivery, ...]
    activity_label: str | None
    review_first: bool
    """Moderators approve reports on this server before anything is forwarded."""
    handoff: bool
    """Bungie.net reports are handed to the reporter to file (no direct submission)."""
    link_buttons: tuple[LinkButton, ...] = ()


@dataclass(frozen=True)
class DeliveryState:
    destination: Destination
    status: str
    upstream_id: str | None
    handoff_url: str | None
    error: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryState:
        return cls(Destination(delivery.destination), delivery.status, delivery.upstream_id,
                   delivery.handoff_url, delivery.last_error)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def label(self) -> str:
        return DESTINATION_LABELS[self.destination]


@dataclass(frozen=True)
class ReportOutcome:
    report: Report
    deliveries: tuple[DeliveryState, ...]

    @property
    def final(self) -> bool:
        return bool(self.deliveries) and all(d.final for d in self.deliveries)

    @property
    def held(self) -> bool:
        return any(d.status == "held" for d in self.deliveries)
