"""The two account providers behind one shape, so the linking flow is written once.

Each adapter turns its API client's OAuth calls into what the linking service
stores: who the account is, and tokens with absolute expiry times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.apis.bungie import BungieClient, BungieTokens
from bot.apis.errors import ApiError
from bot.apis.sanctions import PlayerTokens, SanctionsClient
from bot.apis.sanctions.models import PORTAL_PLATFORM
from bot.domain import GamePlatform, Provider

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class FreshTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    access_expires_at: float | None
    refresh_expires_at: float | None


@dataclass(frozen=True)
class ProvenAccount:
    """The account the member signed in to, as the provider vouches for it."""

    account_id: str
    display_name: str | None
    tokens: FreshTokens
    destiny_membership_id: int | None = None
    destiny_membership_type: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackParams:
    """What the provider's redirect back carried, besides ``state``."""

    code: str | None
    error: str | None
    error_description: str | None


class NoDestinyAccount(Exception):
    """The Bungie.net account has no Destiny 2 membership to report as."""


class LinkProvider(Protocol):
    provider: Provider
    label: str
    """How members know the provider: "Bungie.net", "game"."""

    def authorize_url(self, state: str, *, platform: str | None, redirect_uri: str) -> str: ...

    def read_callback(self, params: Mapping[str, str]) -> CallbackParams: ...

    async def complete(
        self, code: str, *, platform: str | None, redirect_uri: str
    ) -> ProvenAccount: ...

    async def refresh(self, refresh_token: str) -> FreshTokens: ...


def _param(params: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = params.get(name)
        if value:
            return value
    return None


class BungieLinkProvider:
    provider = Provider.BUNGIE
    label = "Bungie.net"

    def __init__(self, client: BungieClient, *, clock: Clock = time.time) -> None:
        self._client = client
        self._clock = clock

    def authorize_url(self, state: str, *, platform: str | None, redirect_uri: str) -> str:
        # Bungie redirects only to the URL registered with the application.
        return self._client.authorize_url(state)

    def read_callback(self, params: Mapping[str, str]) -> CallbackParams:
        return CallbackParams(
            code=_param(params, "code"),
            error=_param(params, "error"),
            error_description=_param(params, "error_description"),
        )

    async def complete(
        self, code: str, *, platform: str | None, redirect_uri: str
    ) -> ProvenAccount:
        started = self._clock()
        tokens = await self._client.exchange_code(code)
        memberships = await self._client.get_memberships_for_current_user(tokens.access_token)
        primary = memberships.primary()
        if primary is None:
            raise NoDestinyAccount(str(tokens.membership_id))
        return ProvenAccount(
            account_id=str(tokens.membership_id),
            display_name=primary.bungie_name or memberships.bungie_net_display_name or None,
            tokens=self._fresh(tokens, started),
            destiny_membership_id=primary.membership_id,
            destiny_membership_type=primary.membership_type,
            details={
                "bungie_net_name": memberships.bungie_net_display_name,
                "primary_membership_id": memberships.primary_membership_id,
                "memberships": [
                    {
                        "membership_id": m.membership_id,
                        "membership_type": m.membership_type,
                        "bungie_name": m.bungie_name,
                        "display_name": m.display_name,
                        "cross_save_override": m.cross_save_override,
                    }
                    for m in memberships.destiny_memberships
                ],
            },
        )

    async def refresh(self, refresh_token: str) -> FreshTokens:
        started = self._clock()
        return self._fresh(await self._client.refresh(refresh_token), started)

    @staticmethod
    def _fresh(tokens: BungieTokens, started: float) -> FreshTokens:
        # Lifetimes count from before the request: the tokens were minted during it.
        return FreshTokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=started + tokens.expires_in,
            refresh_expires_at=(
                None if tokens.refresh_expires_in is None else started + tokens.refresh_expires_in
            ),
        )


class GameLinkProvider:
    provider = Provider.GAME
    label = "game"

    def __init__(self, client: SanctionsClient, *, clock: Clock = time.time) -> None:
        self._client = client
        self._clock = clock

    def authorize_url(self, state: str, *, platform: str | None, redirect_uri: str) -> str:
        return self._client.authorize_url(GamePlatform(platform or ""), redirect_uri, state)

    def read_callback(self, params: Mapping[str, str]) -> CallbackParams:
        # error_code_v2 replaces the deprecated error_code; plain OAuth error as a fallback.
        return CallbackParams(
            code=_param(params, "code"),
            error=_param(params, "error_code_v2", "error_code", "error"),
            error_description=_param(params, "error_description"),
        )

    async def complete(
        self, code: str, *, platform: str | None, redirect_uri: str
    ) -> ProvenAccount:
        started = self._clock()
        tokens = await self._client.exchange_code(code, redirect_uri)
        player_uuid = await self._client.get_my_player_uuid(tokens.access_token)
        name = tokens.display_name or await self._display_name(tokens.access_token, platform)
        return ProvenAccount(
            account_id=str(player_uuid),
            display_name=name,
            tokens=self._fresh(tokens, started),
            details={"login_platform": platform} if platform else {},
        )

    async def refresh(self, refresh_token: str) -> FreshTokens:
        started = self._clock()
        return self._fresh(await self._client.refresh_player(refresh_token), started)

    async def _display_name(self, access_token: str, platform: str | None) -> str | None:
        """The player's name on the platform they signed in with, if the API shares one."""
        try:
            profile = await self._client.get_my_profile(access_token)
        except ApiError as exc:
            log.info("game display name unavailable: %s", exc)
            return None
        wanted = _lookup_platform(platform)
        for portal in profile.linked_portals:
            if portal.display_name and wanted is not None and str(portal.platform) == wanted:
                return portal.display_name
        return profile.display_name

    @staticmethod
    def _fresh(tokens: PlayerTokens, started: float) -> FreshTokens:
        # The lifetime counts from before the request, on Warden's own clock.
        expires_at: float | None = None
        if tokens.expires_in is not None:
            expires_at = started + tokens.expires_in
        elif tokens.expires_at is not None:
            expires_at = tokens.expires_at.timestamp()
        # RallyHere does not say how long a refresh token lives.
        return FreshTokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=expires_at,
            refresh_expires_at=None,
        )


def _lookup_platform(portal: str | None) -> str | None:
    """The look-up platform name (``Steam``) of an OAuth portal (``steam``)."""
    for candidate, platform in PORTAL_PLATFORM.items():
        if candidate.value == portal:
            return platform.value
    return None
