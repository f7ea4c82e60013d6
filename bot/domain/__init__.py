"""Warden's own vocabulary and core records, shared by every layer.

``vocabulary`` names things (reasons, destinations, statuses); ``records`` holds the
values the layers pass around (a report, its deliveries, a server's settings).
"""

from bot.domain.records import (
    Case,
    CaseOutcome,
    Delivery,
    Evidence,
    GuildSettings,
    NewReport,
    Note,
    Report,
    ReportLimits,
)
from bot.domain.vocabulary import (
    DECIDED_CASE_STATUSES,
    DELIVERED_STATUSES,
    FINAL_DELIVERY_STATUSES,
    UNDECIDED_CASE_STATUSES,
    ActionKind,
    CaseStatus,
    DeliveryStatus,
    Destination,
    GamePlatform,
    NoteKind,
    Provider,
    Reason,
    ReportStatus,
    ReviewMode,
    action_done,
)

__all__ = [
    "DECIDED_CASE_STATUSES",
    "DELIVERED_STATUSES",
    "FINAL_DELIVERY_STATUSES",
    "UNDECIDED_CASE_STATUSES",
    "ActionKind",
    "Case",
    "CaseOutcome",
    "CaseStatus",
    "Delivery",
    "DeliveryStatus",
    "Destination",
    "Evidence",
    "GamePlatform",
    "GuildSettings",
    "NewReport",
    "Note",
    "NoteKind",
    "Provider",
    "Reason",
    "Report",
    "ReportLimits",
    "ReportStatus",
    "ReviewMode",
    "action_done",
]
