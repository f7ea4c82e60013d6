"""Wire models for the sanctions (RallyHere) API: what Warden sends and what it reads back.

Field names and limits follow ``rallyhere-openapi-subset.json``. Response models
ignore unknown fields so that an upstream addition never breaks delivery.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import GamePlatform, Reason

WARDEN_REPORT_ID_KEY = "warden_report_id"
"""``custom_data`` key carrying Warden's own report id: the only way to find a report
again upstream, since the API has no idempotency key."""

WARDEN_REPORT_UUID_KEY = "warden_report_uuid"
"""``custom_data`` key carrying the report's random id. Row ids and numbers restart after a
restore from backup, so when this key is present a report is found upstream by it alone."""


def identity_of(custom_data: dict[str, str]) -> tuple[str, str] | None:
    """The (key, value) of ``custom_data`` that identifies a Warden report upstream: the
    random id when it has one, else the row id (reports sent before random ids)."""
    for key in (WARDEN_REPORT_UUID_KEY, WARDEN_REPORT_ID_KEY):
        value = custom_data.get(key)
        if value is not None:
            return key, value
    return None

DESCRIPTION_MAX = 4096
CUSTOM_DATA_VALUE_MAX = 4096
DISPLAY_NAME_MAX = 256
STATE_MAX = 4096


class LookupPlatform(enum.StrEnum):
    """The API's ``Platform`` enum, used by player look-ups (distinct from OAuth portals)."""

    ANON = "Anon"
    BASIC = "Basic"
    XBOX_LIVE = "XboxLive"
    PSN = "PSN"
    NINTENDO_NAID = "NintendoNAID"
    NINTENDO_SWITCH = "NintendoSwitch"
    NINTENDO_PPID = "NintendoPPID"
    GOOGLE = "Google"
    GOOGLE_PLAY = "GooglePlay"
    APPLE = "Apple"
    EPIC = "Epic"
    STEAM = "Steam"
    AMAZON = "Amazon"
    TWITCH = "Twitch"
    RALLYHERE = "RallyHere"
    LEGACY_NAME = "LegacyName"
    ANDROID_DEVICE = "AndroidDevice"
    IOS_DEVICE = "iosDevice"
    DISCORD = "Discord"


# OAuth portal -> look-up platform. Nintendo's web login is a Nintendo Account, hence
# NAID; the spec does not say so explicitly (unverified).
PORTAL_PLATFORM: dict[GamePlatform, LookupPlatform] = {
    GamePlatform.STEAM: LookupPlatform.STEAM,
    GamePlatform.EPIC: LookupPlatform.EPIC,
    GamePlatform.XBOX: LookupPlatform.XBOX_LIVE,
    GamePlatform.PSN: LookupPlatform.PSN,
    GamePlatform.NINTENDO: LookupPlatform.NINTENDO_NAID,
    GamePlatform.GOOGLE: LookupPlatform.GOOGLE,
    GamePlatform.APPLE: LookupPlatform.APPLE,
    GamePlatform.AMAZON: LookupPlatform.AMAZON,
    GamePlatform.TWITCH: LookupPlatform.TWITCH,
}


class _Wire(BaseModel):
    # defer_build: each model's validator is built on its first use, not at import.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


# --- What Warden sends -------------------------------------------------------------


class CreateReport(BaseModel):
    """A report as Warden wants it filed (``PlayerReportCreate``).

    Lengths are not enforced here: the client checks them before sending and raises
    ``InvalidRequest`` naming the field, which callers can show to a moderator.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    reason: Reason
    source_player_uuid: UUID | None = None
    description: str | None = None
    session_id: str | None = None
    instance_id: str | None = None
    match_id: str | None = None
    match_segment: str | None = None
    custom_data: dict[str, str] = Field(default_factory=dict)

    @property
    def warden_report_id(self) -> str | None:
        return self.custom_data.get(WARDEN_REPORT_ID_KEY)

    @property
    def identity(self) -> tuple[str, str] | None:
        return identity_of(self.custom_data)

    def to_body(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True)
        if not body.get("custom_data"):
            body.pop("custom_data", None)
        return body


# --- What Warden reads back --------------------------------------------------------


class ReportResult(_Wire):
    """A report as the API stores it (``PlayerReport``)."""

    report_id: str
    target_player_uuid: UUID | None = None
    source_player_uuid: UUID | None = None
    # A reason added upstream later must not make a listing unreadable; known ones
    # still come back as ``Reason``.
    reason: Reason | str = Field(union_mode="left_to_right")
    description: str | None = None
    session_id: str | None = None
    instance_id: str | None = None
    match_id: str | None = None
    match_segment: str | None = None
    custom_data: dict[str, str] = Field(default_factory=dict)
    created: datetime | None = None
    modified: datetime | None = None

    @property
    def warden_report_id(self) -> str | None:
        return self.custom_data.get(WARDEN_REPORT_ID_KEY)


class ReportPage(_Wire):
    """One page of ``PlayerReportList``; ``next_cursor`` is None on the last page."""

    reports: list[ReportResult]
    next_cursor: str | None = None


class PlayerRef(_Wire):
    """A player found by a look-up."""

    player_uuid: UUID
    player_id: int | None = None
    display_name: str | None = None
    platform: LookupPlatform | str | None = Field(default=None, union_mode="left_to_right")
    identity: str | None = None


class PlayerTokens(_Wire):
    """A player's own tokens after linking or refreshing. Tokens stay out of ``repr``.

    ``expires_at`` comes from ``expires_in`` when the API sends it (refresh), else
    from the token's own ``exp`` claim (code exchange sends no lifetime).
    """

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires_in: int | None = None
    expires_at: datetime | None = None
    player_uuid: UUID | None = None
    display_name: str | None = None


class LinkedPortal(_Wire):
    platform: LookupPlatform | str = Field(union_mode="left_to_right")
    portal_user_id: str | None = None
    display_name: str | None = None


class PlayerProfile(_Wire):
    """The signed-in player: uuid plus the names of their linked platform accounts."""

    player_uuid: UUID
    linked_portals: list[LinkedPortal] = Field(default_factory=list)

    @property
    def display_name(self) -> str | None:
        for portal in self.linked_portals:
            if portal.display_name:
                return portal.display_name
        return None


class OAuthCallback(_Wire):
    code: str = Field(repr=False)
    state: str


# --- Raw answers, parsed then turned into the models above --------------------------


class ServiceTokenResponse(_Wire):
    """``TokenResponse`` of the client-credentials grant."""

    access_token: str = Field(repr=False)
    token_type: str
    expires_in: int
    refresh_token: str | None = Field(default=None, repr=False)


class OAuthTokenResponse(_Wire):
    access_token: str | None = Field(default=None, repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    needs_eula: bool = False
    needs_tos: bool = False
    needs_privacy_policy: bool = False
    error_message: str | None = None
    restrictions: list[dict[str, Any]] = Field(default_factory=list)


class LoginResult(_Wire):
    access_token: str = Field(default="", repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires_in: int | None = None
    active_player_uuid: UUID | None = None
    display_name: str | None = None


class PlayerUuidFromId(_Wire):
    uuid: UUID


class PlayerResponse(_Wire):
    player_uuid: UUID
    player_id: int | None = None


class PlatformIdentityLookupResults(_Wire):
    identity: dict[str, PlayerResponse] = Field(default_factory=dict)


class LookupResults(_Wire):
    display_names: list[dict[str, list[PlayerResponse]]] = Field(default_factory=list)
    identity_platforms_by_platform: dict[str, list[PlatformIdentityLookupResults]] = Field(
        default_factory=dict
    )


class PlayerPersonResponse(_Wire):
    player_uuid: UUID
    active_player_uuid: UUID | None = None


class PlayerLinkedPortalsResponse(_Wire):
    player: PlayerPersonResponse
    linked_portals: list[LinkedPortal] = Field(default_factory=list)
