"""Client for the game backend's sanctions API (RallyHere Environment API).

Every request goes through ``_exchange``, which authenticates it (the player's token,
Warden's service token renewed once if refused, or the client credentials), sends it
and turns the answer into a model or an ``ApiError``; ``_call`` wraps one exchange in
``bot.apis.retry``, which decides what happens next. Creating a report is not
idempotent upstream, so after an ambiguous send the client looks for Warden's report
id in the reporter's sent reports before sending again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, ValidationError

from bot.apis.errors import (
    AmbiguousSend,
    ApiError,
    AuthError,
    InvalidRequest,
    MissingPermission,
    NotFound,
    Unavailable,
)
from bot.apis.http import send
from bot.apis.retry import RetryPolicy, Sleep, with_retries
from bot.apis.sanctions import oauth
from bot.apis.sanctions.claims import expiry, grants, permissions_in, unverified_claims
from bot.apis.sanctions.errors import (
    DESTINATION,
    Exchange,
    error_for,
    is_auth_rejection,
    json_body,
)
from bot.apis.sanctions.models import (
    CUSTOM_DATA_VALUE_MAX,
    DESCRIPTION_MAX,
    DISPLAY_NAME_MAX,
    PORTAL_PLATFORM,
    WARDEN_REPORT_ID_KEY,
    WARDEN_REPORT_UUID_KEY,
    CreateReport,
    LoginResult,
    LookupPlatform,
    LookupResults,
    OAuthCallback,
    OAuthTokenResponse,
    PlayerLinkedPortalsResponse,
    PlayerProfile,
    PlayerRef,
    PlayerTokens,
    PlayerUuidFromId,
    ReportPage,
    ReportResult,
    ServiceTokenResponse,
)
from bot.apis.sanctions.probe import READ_SENT_REPORTS, REPORT_FOR_PLAYERS, ProbeResult
from bot.apis.sanctions.service_token import ServiceTokenCache
from bot.domain import GamePlatform

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Source = UUID | Literal["me"]

_NIL_UUID = UUID(int=0)


def _as_is(answer: T) -> T:
    return answer


@dataclass
class _Call:
    """State shared by the attempts of one logical call."""

    player_token: str | None
    service_token_renewed: bool = False
    """The service token is renewed at most once per call: a second refusal is real."""


class SanctionsClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass, safe to share
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        reconcile_page_size: int = 50,
        reconcile_max_pages: int = 100,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._client_secret = client_secret
        credentials = f"{client_id}:{client_secret}".encode()
        self._basic = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._reconcile_page_size = reconcile_page_size
        self._reconcile_max_pages = reconcile_max_pages
        self._tokens = ServiceTokenCache(self._fetch_service_token, clock=clock)

    # ------------------------------------------------------------------ reports

    async def create_report(
        self,
        target_player_uuid: UUID,
        report: CreateReport,
        *,
        player_token: str | None = None,
    ) -> ReportResult:
        """File ``report`` against ``target_player_uuid``.

        With ``player_token`` the reporter files it themself; otherwise Warden's service
        token is used and ``report.source_player_uuid`` is required. Put Warden's report
        id under ``custom_data["warden_report_id"]``: without it an ambiguous send cannot
        be checked and ``AmbiguousSend`` is raised at once.

        ``AmbiguousSend`` from this method always means "may have landed": call
        ``find_sent_report`` before sending again.
        """
        self._check_report(report, player_token=player_token)
        body = report.to_body()
        path = f"/sanctions/v2/player/{target_player_uuid}/reports"
        call = _Call(player_token)
        reconcile: Callable[[], Awaitable[ReportResult | None]] | None = None
        warden_id = report.warden_report_id
        identity = report.identity
        if identity is not None:
            source: Source = report.source_player_uuid or "me"
            reconcile = partial(self._scan_sent_reports, call, source, identity)
        return await self._call(
            call,
            "POST",
            path,
            ReportResult,
            read=_as_is,
            json=body,
            idempotent=False,
            reconcile=reconcile,
            describe=f"sanctions create report {warden_id or ''}".rstrip(),
        )

    async def find_sent_report(
        self,
        source_player_uuid: UUID,
        warden_report_id: str,
        *,
        warden_report_uuid: str | None = None,
        player_token: str | None = None,
    ) -> ReportResult | None:
        """The report carrying ``warden_report_uuid`` (when given, since ids repeat after a
        restore) or else ``warden_report_id`` among the reporter's sent reports.

        None means it is certainly not there; if the listing is too long to read in
        full, ``AmbiguousSend`` is raised instead of guessing.
        """
        call = _Call(player_token)
        source: Source = "me" if player_token is not None else source_player_uuid
        identity = ((WARDEN_REPORT_ID_KEY, warden_report_id) if warden_report_uuid is None
                    else (WARDEN_REPORT_UUID_KEY, warden_report_uuid))
        return await self._retrying(
            partial(self._scan_sent_reports, call, source, identity),
            describe="sanctions find sent report",
        )

    async def list_sent_reports(
        self,
        source_player_uuid: Source,
        cursor: str | None = None,
        page_size: int = 10,
        *,
        player_token: str | None = None,
    ) -> ReportPage:
        """One page of the reports a player sent; pass ``next_cursor`` back for the next.

        ``"me"`` (the token's own player) needs ``player_token``.
        """
        call = _Call(player_token)
        return await self._retrying(
            partial(self._sent_page, call, source_player_uuid, cursor, page_size),
            describe="sanctions list sent reports",
        )

    # ------------------------------------------------------------------ look-ups

    async def lookup_players_by_display_name(self, name: str) -> list[PlayerRef]:
        """Every player with this display name (names are not unique)."""
        if not name or len(name) > DISPLAY_NAME_MAX:
            raise self._invalid(
                f"display name must be 1-{DISPLAY_NAME_MAX} characters", "display_name"
            )
        return await self._call(
            _Call(None),
            "GET",
            "/users/v1/player",
            LookupResults,
            params={"display_name": name},
            read=_players_named,
            describe="sanctions look up display name",
        )

    async def lookup_player_by_platform(
        self, platform: LookupPlatform | GamePlatform, identity: str
    ) -> PlayerRef | None:
        """The player owning a platform account (e.g. a Steam id), or None."""
        wire = (
            PORTAL_PLATFORM[platform]
            if isinstance(platform, GamePlatform)
            else (LookupPlatform(platform))
        )
        if not identity or len(identity) > 2048:
            raise self._invalid("platform identity must be 1-2048 characters", "identities")
        return await self._call(
            _Call(None),
            "GET",
            "/users/v1/player",
            LookupResults,
            params={"platform": wire.value, "identities": identity},
            read=partial(_player_on_platform, wire, identity),
            describe="sanctions look up platform identity",
        )

    # ------------------------------------------------------------------ player linking

    def authorize_url(self, platform: GamePlatform, redirect_uri: str, state: str) -> str:
        """Where to send the member's browser to log in with ``platform``."""
        return oauth.authorize_url(self._base, platform, redirect_uri, state)

    @staticmethod
    def parse_callback(params: Mapping[str, str]) -> OAuthCallback:
        """Read the redirect back (``code``/``state`` or an error); see ``oauth``."""
        return oauth.parse_callback(params)

    async def exchange_code(self, code: str, redirect_uri: str | None = None) -> PlayerTokens:
        """Trade the callback's ``code`` for the player's tokens.

        ``redirect_uri`` is accepted for symmetry with other OAuth clients but not sent:
        RallyHere's ``OAuthTokenExchange`` has no such field. Codes are single-use, so a
        send that may have been processed (no answer, 500/502/504) is not repeated
        (``AmbiguousSend``: the member links again).
        """
        del redirect_uri
        if not code:
            raise self._invalid("authorization code is empty", "code")
        return await self._call(
            Exchange.PLAYER_GRANT,
            "POST",
            "/users/v1/oauth/token",
            OAuthTokenResponse,
            json={"grant_type": "authorization_code", "code": code},
            secrets=(code,),
            idempotent=False,
            read=_exchanged_tokens,
            describe="sanctions code exchange",
        )

    async def refresh_player(self, refresh_token: str) -> PlayerTokens:
        """New tokens for a linked player. The old refresh token is spent either way.

        ``POST /users/v1/login`` authenticates the client with HTTP Basic and returns a
        new refresh token only when asked (``include_refresh``); if it still returns none,
        ``refresh_token`` is None and the member relinks once this access token expires.
        Failures the member can fix by linking again raise ``AuthRevoked``; a lost answer
        raises ``AmbiguousSend`` (the refresh token may be spent: try it once more later).
        """
        if not refresh_token:
            raise self._invalid("refresh token is empty", "portal_access_token")
        body = {
            "grant_type": "refresh",
            "portal_access_token": refresh_token,
            "include_refresh": True,
        }
        return await self._call(
            Exchange.PLAYER_GRANT,
            "POST",
            "/users/v1/login",
            LoginResult,
            json=body,
            secrets=(refresh_token,),
            idempotent=False,
            read=_refreshed_tokens,
            describe="sanctions player refresh",
        )

    async def get_my_player_uuid(self, access_token: str) -> UUID:
        """The uuid of the player a player token belongs to."""
        return await self._call(
            _Call(access_token),
            "GET",
            "/users/v2/player/me/uuid",
            PlayerUuidFromId,
            read=_uuid_of,
            describe="sanctions me/uuid",
        )

    async def get_my_profile(self, access_token: str) -> PlayerProfile:
        """The token's player with the display names of their linked platform accounts
        (one call; the API has no single "player display name")."""
        return await self._call(
            _Call(access_token),
            "GET",
            "/users/v2/player/me/links",
            PlayerLinkedPortalsResponse,
            read=_profile_of,
            describe="sanctions me/links",
        )

    # ------------------------------------------------------------------ operator check

    async def probe(self) -> ProbeResult:
        """Whether the service credentials can do what Warden needs.

        The token's claims are decoded without verification when it is a JWT. Reading
        sent reports is also tried for real (a harmless GET), since claim names are
        undocumented; report creation is never tried.
        """
        try:
            token = await self._retrying(self._tokens.current, describe="sanctions probe token")
        except ApiError as exc:
            return ProbeResult(token_obtained=False, problems=(str(exc),))

        permissions = permissions_in(unverified_claims(token.access_token))
        problems: list[str] = []
        can_report = None if permissions is None else grants(permissions, REPORT_FOR_PLAYERS)
        can_read = None if permissions is None else grants(permissions, READ_SENT_REPORTS)
        how = (
            "the token's claims (decoded, not verified)"
            if permissions is not None
            else ("unknown: the token's claims carry no readable permission list")
        )
        try:
            await self.list_sent_reports(_NIL_UUID, page_size=1)
        except MissingPermission:
            can_read = False
        except NotFound:
            # The nil player does not exist; being told so means the permission check
            # passed first (that order is plausible but undocumented).
            if can_read is None:
                can_read = True
                how += "; reading sent reports inferred from a harmless GET (404, unverified)"
        except ApiError as exc:
            problems.append(f"reading sent reports failed: {exc}")
        else:
            can_read = True
        if can_report is False:
            problems.append(
                f"the service token lacks {REPORT_FOR_PLAYERS}: reports can only "
                "be sent with the reporter's own linked token"
            )
        if can_read is False:
            problems.append(
                f"the service token lacks {READ_SENT_REPORTS}: a report whose "
                "answer was lost cannot be checked, so it is never resent"
            )
        return ProbeResult(
            token_obtained=True,
            can_report_for_players=can_report,
            can_read_sent_reports=can_read,
            permissions=permissions,
            expires_in=token.expires_in,
            how=how,
            problems=tuple(problems),
        )

    # ------------------------------------------------------------------ plumbing

    def _check_report(self, report: CreateReport, *, player_token: str | None) -> None:
        if player_token is None and report.source_player_uuid is None:
            raise InvalidRequest(
                "a report sent with Warden's service token must name the reporting player",
                field="source_player_uuid",
                destination=DESTINATION,
                code="source_player_required",
            )
        if report.description is not None and not 1 <= len(report.description) <= DESCRIPTION_MAX:
            raise self._invalid(
                f"description must be 1-{DESCRIPTION_MAX} characters", "description"
            )
        for key, value in report.custom_data.items():
            if not 1 <= len(value) <= CUSTOM_DATA_VALUE_MAX:
                raise self._invalid(
                    f"custom_data value must be 1-{CUSTOM_DATA_VALUE_MAX} characters",
                    f"custom_data.{key}",
                )

    @staticmethod
    def _invalid(message: str, field: str) -> InvalidRequest:
        return InvalidRequest(message, field=field, destination=DESTINATION)

    async def _retrying(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        describe: str,
        idempotent: bool = True,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        return await with_retries(
            operation,
            policy=self._policy,
            idempotent=idempotent,
            reconcile=reconcile,
            sleep=self._sleep,
            clock=self._clock,
            describe=describe,
        )

    async def _call(
        self,
        auth: _Call | Exchange,
        method: str,
        path: str,
        answer: type[M],
        *,
        describe: str,
        read: Callable[[M], T],
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        secrets: tuple[str, ...] = (),
        idempotent: bool = True,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """One request, retried as ``bot.apis.retry`` decides, its answer passed to
        ``read`` inside the attempt (so what ``read`` raises is counted like any other
        failed attempt).

        A non-idempotent call whose attempt may have landed never ends in an error
        that reads as "safe to send again".
        """
        maybe_landed = False

        async def attempt() -> T:
            nonlocal maybe_landed
            try:
                model = await self._exchange(
                    auth,
                    method,
                    path,
                    answer,
                    json=json,
                    params=params,
                    secrets=secrets,
                    non_idempotent=not idempotent,
                )
            except AmbiguousSend:
                maybe_landed = True
                raise
            return read(model)

        try:
            return await self._retrying(
                attempt, describe=describe, idempotent=idempotent, reconcile=reconcile
            )
        except ApiError as exc:
            if maybe_landed and not isinstance(exc, AmbiguousSend):
                # Whatever stopped the check, the earlier attempt may still have landed.
                raise AmbiguousSend(
                    f"an earlier attempt may have landed and could not be checked ({exc.message})",
                    destination=DESTINATION,
                    code=exc.code,
                    status=exc.status,
                ) from exc
            raise

    async def _exchange(
        self,
        auth: _Call | Exchange,
        method: str,
        path: str,
        answer: type[M],
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        secrets: tuple[str, ...] = (),
        non_idempotent: bool = False,
    ) -> M:
        """Send one request and read its answer as ``answer``.

        ``auth`` is either the call's bearer state (the player's token, else Warden's
        service token) or the grant a client-credentials (HTTP Basic) request makes.
        """
        if isinstance(auth, _Call):
            response, token = await self._bearer(auth, method, path, json=json, params=params)
            exchange, secrets = Exchange.BEARER, (*secrets, token)
        else:
            request = self._request(method, path, basic=True, json=json, params=params)
            response = await self._send(request)
            exchange, secrets = auth, (*secrets, self._client_secret)
        return self._parse(
            response, answer, exchange=exchange, non_idempotent=non_idempotent, secrets=secrets
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        basic: bool = False,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Request:
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        elif basic:
            headers["Authorization"] = self._basic
        return self._http.build_request(
            method, self._base + path, json=json, params=params, headers=headers
        )

    async def _send(self, request: httpx.Request) -> httpx.Response:
        return await send(self._http, request, destination=DESTINATION)

    async def _fetch_service_token(self) -> ServiceTokenResponse:
        try:
            token = await self._exchange(
                Exchange.SERVICE_GRANT,
                "POST",
                "/users/v2/oauth/token",
                ServiceTokenResponse,
                json={"grant_type": "client_credentials"},
            )
        except AmbiguousSend as exc:
            # Asking for another service token is harmless, so a lost answer is a plain
            # outage here; it must not mark the report being sent as "may have landed".
            raise Unavailable(exc.message, destination=DESTINATION) from None
        log.info("sanctions: obtained a service token (expires in %ds)", token.expires_in)
        return token

    async def _bearer(
        self,
        call: _Call,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> tuple[httpx.Response, str]:
        """Send with the call's player token, or the service token renewed once if the
        API refuses it. A refused player token is the caller's to refresh."""
        if call.player_token is not None:
            request = self._request(
                method, path, bearer=call.player_token, json=json, params=params
            )
            return await self._send(request), call.player_token
        token = await self._tokens.get()
        response = await self._send(
            self._request(method, path, bearer=token, json=json, params=params)
        )
        if is_auth_rejection(response) and not call.service_token_renewed:
            # A refused token means the request was not processed: safe to resend once.
            call.service_token_renewed = True
            log.info(
                "sanctions: service token refused (HTTP %d); renewing it once", response.status_code
            )
            self._tokens.invalidate(token)
            token = await self._tokens.get()
            response = await self._send(
                self._request(method, path, bearer=token, json=json, params=params)
            )
        return response, token

    def _parse(
        self,
        response: httpx.Response,
        model: type[M],
        *,
        exchange: Exchange,
        non_idempotent: bool = False,
        secrets: tuple[str, ...] = (),
    ) -> M:
        if not response.is_success:
            raise error_for(
                response, exchange=exchange, non_idempotent=non_idempotent, secrets=secrets
            )
        body = json_body(response)
        if not isinstance(body, dict):
            raise error_for(
                response, exchange=exchange, non_idempotent=non_idempotent, secrets=secrets
            )
        try:
            return model.model_validate(body)
        except ValidationError:
            message = f"answered HTTP {response.status_code} with an unexpected {model.__name__}"
            if non_idempotent:
                raise AmbiguousSend(
                    message + "; the request may have landed",
                    destination=DESTINATION,
                    status=response.status_code,
                ) from None
            raise Unavailable(
                message, destination=DESTINATION, status=response.status_code
            ) from None

    async def _sent_page(
        self, call: _Call, source: Source, cursor: str | None, page_size: int
    ) -> ReportPage:
        if source == "me":
            if call.player_token is None:
                raise self._invalid("'me' needs the player's own token", "source_player_uuid")
            path = "/sanctions/v2/player/me/sent-reports"
        else:
            path = f"/sanctions/v2/player/{source}/sent-reports"
        params: dict[str, str | int] = {"page_size": page_size}
        if cursor is not None:
            params["cursor"] = cursor
        return await self._exchange(call, "GET", path, ReportPage, params=params)

    async def _scan_sent_reports(
        self, call: _Call, source: Source, identity: tuple[str, str]
    ) -> ReportResult | None:
        # The API documents no order for sent reports, so every page is read.
        key, wanted = identity
        cursor: str | None = None
        for _ in range(self._reconcile_max_pages):
            page = await self._sent_page(call, source, cursor, self._reconcile_page_size)
            for report in page.reports:
                if report.custom_data.get(key) == wanted:
                    log.info(
                        "sanctions: found report %s upstream as %s",
                        wanted,
                        report.report_id,
                    )
                    return report
            if page.next_cursor is None:
                return None
            cursor = page.next_cursor
        raise AmbiguousSend(
            f"could not confirm report {wanted}: the reporter has more than "
            f"{self._reconcile_max_pages * self._reconcile_page_size} sent reports",
            destination=DESTINATION,
        )


def _players_named(results: LookupResults) -> list[PlayerRef]:
    found: dict[UUID, PlayerRef] = {}
    for entry in results.display_names:
        for matched_name, players in entry.items():
            for player in players:
                found.setdefault(
                    player.player_uuid,
                    PlayerRef(
                        player_uuid=player.player_uuid,
                        player_id=player.player_id,
                        display_name=matched_name,
                    ),
                )
    return list(found.values())


def _player_on_platform(
    platform: LookupPlatform, identity: str, results: LookupResults
) -> PlayerRef | None:
    for group in results.identity_platforms_by_platform.get(platform.value, []):
        player = group.identity.get(identity)
        if player is not None:
            return PlayerRef(
                player_uuid=player.player_uuid,
                player_id=player.player_id,
                platform=platform,
                identity=identity,
            )
    return None


def _uuid_of(answer: PlayerUuidFromId) -> UUID:
    return answer.uuid


def _profile_of(links: PlayerLinkedPortalsResponse) -> PlayerProfile:
    return PlayerProfile(
        player_uuid=links.player.active_player_uuid or links.player.player_uuid,
        linked_portals=links.linked_portals,
    )


def _exchanged_tokens(answer: OAuthTokenResponse) -> PlayerTokens:
    if answer.needs_eula or answer.needs_tos or answer.needs_privacy_policy:
        raise AuthError(
            "the player must accept the game's agreements in the game first",
            destination=DESTINATION,
            code="user_needs_agreements",
        )
    if not answer.access_token:
        reason = "login restricted" if answer.restrictions else "no access token returned"
        raise AuthError(
            reason,
            destination=DESTINATION,
            code="user_auth_restricted" if answer.restrictions else None,
        )
    return _player_tokens(answer.access_token, answer.refresh_token, None, None, None)


def _refreshed_tokens(answer: LoginResult) -> PlayerTokens:
    if not answer.access_token:
        raise AuthError("refresh returned no access token", destination=DESTINATION)
    return _player_tokens(
        answer.access_token,
        answer.refresh_token,
        answer.expires_in,
        answer.active_player_uuid,
        answer.display_name,
    )


def _player_tokens(
    access_token: str,
    refresh_token: str | None,
    expires_in: int | None,
    player_uuid: UUID | None,
    display_name: str | None,
) -> PlayerTokens:
    now = datetime.now(UTC)
    expires_at: datetime | None = None
    if expires_in is not None:
        expires_at = now + timedelta(seconds=expires_in)
    else:
        exp = expiry(unverified_claims(access_token))
        if exp is not None:
            expires_at = datetime.fromtimestamp(exp, UTC)
            expires_in = max(int((expires_at - now).total_seconds()), 0)
    return PlayerTokens(
        access_token=access_token,
        refresh_token=refresh_token or None,
        expires_in=expires_in,
        expires_at=expires_at,
        player_uuid=player_uuid,
        display_name=display_name or None,
    )
