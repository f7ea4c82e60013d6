"""Typed views of the parts of Bungie's answers and requests that Warden uses.

Bungie sends 64-bit ids (membershipId, characterId, instanceId) as JSON strings
although its OpenAPI document says integer; pydantic's lax mode turns both
forms into ``int``. Unknown fields are ignored so Bungie can add fields freely.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    # defer_build: each model's validator is built on its first use, not at import
    # (start-up pays for none of them; most are needed only by some features).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True,
        defer_build=True,
    )


def format_bungie_name(name: str, code: int | None) -> str:
    """``Name#0042``: Bungie shows the code zero-padded to four digits."""
    return name if code is None else f"{name}#{code:04d}"


class DestinyMembership(_Model):
    """A ``User.UserInfoCard`` / ``GroupsV2.GroupUserInfoCard``: one Destiny account."""

    membership_id: int
    membership_type: int
    display_name: str = ""
    bungie_global_display_name: str | None = None
    bungie_global_display_name_code: int | None = None
    cross_save_override: int = 0
    applicable_membership_types: list[int] = Field(default_factory=list)
    is_public: bool = False

    @property
    def bungie_name(self) -> str | None:
        if not self.bungie_global_display_name:
            return None
        return format_bungie_name(
            self.bungie_global_display_name, self.bungie_global_display_name_code
        )


class BungieNetUser(_Model):
    """The part of ``User.GeneralUser`` Warden shows."""

    membership_id: int
    display_name: str = ""
    unique_name: str = ""
    cached_bungie_global_display_name: str | None = None
    cached_bungie_global_display_name_code: int | None = None


class UserMemberships(_Model):
    """``User.UserMembershipData``: who a linked Bungie.net account is in Destiny."""

    destiny_memberships: list[DestinyMembership] = Field(default_factory=list)
    primary_membership_id: int | None = None
    bungie_net_user: BungieNetUser

    @property
    def bungie_net_membership_id(self) -> int:
        return self.bungie_net_user.membership_id

    @property
    def bungie_net_display_name(self) -> str:
        user = self.bungie_net_user
        if user.cached_bungie_global_display_name:
            return format_bungie_name(
                user.cached_bungie_global_display_name,
                user.cached_bungie_global_display_name_code,
            )
        return user.display_name or user.unique_name

    def primary(self) -> DestinyMembership | None:
        """The membership that plays: the cross-save primary if there is one.

        Cross-save overridden memberships (crossSaveOverride set to another type)
        never appear in PGCRs, so they are skipped when guessing.
        """
        for membership in self.destiny_memberships:
            if membership.membership_id == self.primary_membership_id:
                return membership
        for membership in self.destiny_memberships:
            if membership.cross_save_override in (0, membership.membership_type):
                return membership
        return self.destiny_memberships[0] if self.destiny_memberships else None


class Character(_Model):
    """``DestinyCharacterComponent`` (profile component 200)."""

    character_id: int
    membership_id: int
    membership_type: int
    class_type: int = 3
    class_hash: int = 0
    light: int = 0
    date_last_played: datetime | None = None


class ActivityDetails(_Model):
    """``DestinyHistoricalStatsActivity``."""

    instance_id: int
    mode: int = 0
    modes: list[int] = Field(default_factory=list)
    director_activity_hash: int = 0
    reference_id: int = 0
    membership_type: int | None = None
    is_private: bool = False


class ActivityHistoryEntry(_Model):
    """One row of ``GetActivityHistory``, flattened from its period group."""

    instance_id: int
    mode: int
    modes: list[int]
    director_activity_hash: int
    reference_id: int
    period: datetime

    @classmethod
    def from_period_group(cls, raw: dict[str, Any]) -> ActivityHistoryEntry:
        details = ActivityDetails.model_validate(raw["activityDetails"])
        return cls(
            instance_id=details.instance_id,
            mode=details.mode,
            modes=details.modes,
            director_activity_hash=details.director_activity_hash,
            reference_id=details.reference_id,
            period=raw["period"],
        )


class PgcrPlayer(_Model):
    """``DestinyPlayer``: who played an entry."""

    destiny_user_info: DestinyMembership
    character_class: str | None = None
    class_hash: int = 0
    light_level: int = 0


class PgcrEntry(_Model):
    """``DestinyPostGameCarnageReportEntry``: one character in the activity."""

    character_id: int
    player: PgcrPlayer
    standing: int | None = None

    @property
    def membership_id(self) -> int:
        return self.player.destiny_user_info.membership_id

    @property
    def membership_type(self) -> int:
        return self.player.destiny_user_info.membership_type

    @property
    def bungie_name(self) -> str | None:
        return self.player.destiny_user_info.bungie_name


class Pgcr(_Model):
    """``DestinyPostGameCarnageReportData``."""

    period: datetime
    activity_details: ActivityDetails
    entries: list[PgcrEntry] = Field(default_factory=list)

    @property
    def activity_id(self) -> int:
        return self.activity_details.instance_id


class BungieTokens(BaseModel):
    """The OAuth token answer (snake_case on the wire). The tokens are secrets: kept
    out of ``repr``."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
    refresh_token: str | None = Field(default=None, repr=False)
    refresh_expires_in: int | None = None
    membership_id: int
    """The Bungie.net account id, not a Destiny membership id."""


class PgcrReportBody(_Model):
    """``DestinyReportOffensePgcrRequest``: the body of the report call."""

    reason_category_hashes: list[int]
    reason_hashes: list[int]
    offending_character_id: int

    @field_validator("reason_category_hashes", "reason_hashes")
    @classmethod
    def _uint32(cls, value: list[int]) -> list[int]:
        for item in value:
            if not 0 <= item <= 0xFFFFFFFF:
                raise ValueError(f"{item} is not a uint32 hash")
        return value

    def to_body(self) -> dict[str, Any]:
        # The spec types offendingCharacterId as int64, so it goes out as a JSON number.
        return self.model_dump(by_alias=True)


class ExactSearchRequest(_Model):
    """``User.ExactSearchRequest``: the body of the Bungie-name search."""

    display_name: str
    display_name_code: int = Field(ge=0, le=9999)

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)
