"""The game backend's sanctions API (RallyHere): reports, player look-ups, account linking."""

from bot.apis.sanctions.client import SanctionsClient
from bot.apis.sanctions.models import (
    WARDEN_REPORT_ID_KEY,
    WARDEN_REPORT_UUID_KEY,
    CreateReport,
    LinkedPortal,
    LookupPlatform,
    OAuthCallback,
    PlayerProfile,
    PlayerRef,
    PlayerTokens,
    ReportPage,
    ReportResult,
)
from bot.apis.sanctions.probe import ProbeResult

__all__ = [
    "WARDEN_REPORT_ID_KEY",
    "WARDEN_REPORT_UUID_KEY",
    "CreateReport",
    "LinkedPortal",
    "LookupPlatform",
    "OAuthCallback",
    "PlayerProfile",
    "PlayerRef",
    "PlayerTokens",
    "ProbeResult",
    "ReportPage",
    "ReportResult",
    "SanctionsClient",
]
