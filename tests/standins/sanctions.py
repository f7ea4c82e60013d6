"""A local RallyHere Environment API (the sanctions destination) for tests and benchmarks.

One aiohttp server on 127.0.0.1 serves the real paths with the real bodies and error
shapes (``{auth_success, error_code, desc}``; 422 ``{detail: [{loc, msg, type}]}``):
client-credentials and player tokens, the OAuth web login, code exchange, refresh,
``me/uuid`` and ``me/links``, player look-ups, report creation and the report
listings with cursor paging. It checks what the spec says the API checks, records
every request, keeps every created report, and injects faults on demand.

    async with SanctionsStandin() as rh:
        alice = rh.add_player("Alice", identities={"Steam": "7656"})
        bob = rh.add_player("Bob")
        tokens = rh.issue_tokens(alice)
        rh.inject("drop", method="POST", path=REPORTS_ROUTE)

Deliberately independent of ``bot``: the enums are copied from the spec, so a drift
in Warden's own enums shows up as a failing test. Where the spec is silent the
stand-in picks something plausible and says so in a comment.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from aiohttp import web

from tests.standins.loopback import LoopbackServer

if TYPE_CHECKING:
    import httpx

    from bot.apis.sanctions import SanctionsClient

REPORTS_ROUTE = "/sanctions/v2/player/{player_uuid}/reports"
SENT_REPORTS_ROUTE = "/sanctions/v2/player/{player_uuid}/sent-reports"
ME_SENT_REPORTS_ROUTE = "/sanctions/v2/player/me/sent-reports"
ME_REPORTS_ROUTE = "/sanctions/v2/player/me/reports"
SERVICE_TOKEN_ROUTE = "/users/v2/oauth/token"
OAUTH_LOGIN_ROUTE = "/users/v1/oauth/login/{platform}"
OAUTH_TOKEN_ROUTE = "/users/v1/oauth/token"
LOGIN_ROUTE = "/users/v1/login"
LOOKUP_ROUTE = "/users/v1/player"
ME_UUID_ROUTE = "/users/v2/player/me/uuid"
ME_LINKS_ROUTE = "/users/v2/player/me/links"
PLAYER_ID_ROUTE = "/users/v2/player/{player_uuid}/id"
PLATFORM_USER_ROUTE = "/users/v1/platform-user"

# From the spec's enums (ReportReason, OAuthPortal, Platform, GrantType).
REASONS = frozenset(
    {
        "cheating",
        "hate_speech",
        "harassment",
        "real_life_threat",
        "teaming",
        "intentional_feeding",
        "stream_sniping",
        "afk",
        "didnt_play_assigned_role",
        "other",
    }
)
OAUTH_PORTALS = frozenset(
    {"google", "apple", "epic", "xbox", "psn", "nintendo", "steam", "amazon", "twitch"}
)
PLATFORMS = frozenset(
    {
        "Anon",
        "Basic",
        "XboxLive",
        "PSN",
        "NintendoNAID",
        "NintendoSwitch",
        "NintendoPPID",
        "Google",
        "GooglePlay",
        "Apple",
        "Epic",
        "Steam",
        "Amazon",
        "Twitch",
        "RallyHere",
        "LegacyName",
        "AndroidDevice",
        "iosDevice",
        "Discord",
    }
)
GRANT_TYPES = frozenset(
    {
        "anon",
        "google",
        "apple",
        "refresh",
        "epic",
        "xboxlive",
        "ps4_v1",
        "ps4_v3",
        "ps5_v3",
        "nintendo_switch",
        "steam",
        "basic",
        "rallyhere",
        "client_credentials",
        "android_device",
        "ios_device",
    }
)
# Deprecated integer portal ids still required in PortalUserResponse (spec's Portal enum).
_PORTAL_IDS = {
    "Amazon": 4,
    "Steam": 5,
    "PSN": 9,
    "XboxLive": 10,
    "Google": 13,
    "Twitch": 16,
    "NintendoSwitch": 22,
    "Apple": 24,
    "NintendoNAID": 26,
    "Epic": 28,
}

CREATE_SELF = frozenset({"sanction:report:create:self", "sanction:report:create:any", "sanction:*"})
CREATE_ANY = frozenset({"sanction:report:create:any", "sanction:*"})
READ_SOURCE_SELF = frozenset(
    {"sanction:report:read:source-self", "sanction:report:read:source-any", "sanction:*"}
)
READ_SOURCE_ANY = frozenset({"sanction:report:read:source-any", "sanction:*"})
READ_TARGET_SELF = frozenset(
    {"sanction:report:read:target-self", "sanction:report:read:target-any", "sanction:*"}
)
READ_TARGET_ANY = frozenset({"sanction:report:read:target-any", "sanction:*"})

DEFAULT_SERVICE_PERMISSIONS = ("sanction:report:create:any", "sanction:report:read:source-any",
                               "user:platform:read")
READ_PLATFORM_USER = frozenset({"user:platform:read", "user:*"})
DEFAULT_PLAYER_PERMISSIONS = ("sanction:report:create:self", "sanction:report:read:source-self")

# Descriptions from rallyhere-operations.json.
_DESC = {
    "auth_not_jwt": "Invalid Authorization",
    "auth_token_expired": "Token is expired",
    "auth_token_sig_invalid": "Token Signature is invalid",
    "insufficient_permissions": "Insufficient Permissions",
    "source_player_required": "Source Player must be provided in request or with a user token",
    "invalid_token_claims": "Token has missing/invalid claims.  Are you using a non-user token "
    "on a user endpoint?",
    "client_credentials_invalid": "Client Credentials provided to authentication attempt were "
    "invalid",
    "authorization_code_not_found": "Authorization code not found or expired",
    "refresh_token_not_found": "Refresh token was not found or has expired",
    "invalid_grant_type": "Grant Type {} is not supported",
    "redirect_uri_does_not_match": "Redirect URI does not match a configured value.",
    "no_redirects_configured": "No redirect urls setup for oauth.",
    "create_new_user_not_allowed": "Cannot create the requested new user from this context.  "
    "This usually indicates that the user needs to login to the "
    "game before attempting an OAuth login",
    "user_auth_restricted": "Authentication for this user has been restricted",
    "user_not_found": "User not found",
}

FAULT_KINDS = frozenset(
    {
        "throttle",
        "unavailable",
        "server_error",
        "html",
        "slow",
        "drop",
        "expired",
        "unauthorized",
        "respond",
    }
)


# ---- state -----------------------------------------------------------------------------


@dataclass(eq=False)
class Player:
    uuid: UUID
    player_id: int
    display_name: str
    person_id: UUID
    identities: dict[str, str] = field(default_factory=dict)
    """Platform (spec ``Platform`` value, e.g. ``"Steam"``) -> platform user id."""
    permissions: frozenset[str] = frozenset(DEFAULT_PLAYER_PERMISSIONS)
    needs_agreements: bool = False


@dataclass(frozen=True)
class StandinTokens:
    access_token: str
    refresh_token: str
    player: Player


@dataclass
class _Access:
    player: Player | None  # None: a service (client-credentials) token
    permissions: frozenset[str]
    expires_at: float


@dataclass
class Fault:
    """What to do instead of (or around) answering the next ``remaining`` matching requests.

    kinds: ``throttle`` (429), ``unavailable`` (503), both with ``Retry-After`` when
    ``retry_after`` is set; ``server_error`` (plain text, ``status`` default 500);
    ``html`` (an HTML page, ``status`` default 502); ``respond`` (``status``/``body``/
    ``headers`` as given); ``expired`` / ``unauthorized`` (the next request *carrying a
    bearer token* is refused with 403 ``auth_token_expired`` / a bare 401); ``slow``
    (answer after ``delay`` s) and ``drop`` (close the connection without answering).
    With ``landed`` (default for ``drop``) the request is processed first, so a report
    IS created and only the answer is lost: the ambiguous case.

    ``path`` matches a route template exactly (``REPORTS_ROUTE``) or any part of the
    request path; ``method`` is optional.
    """

    kind: str
    remaining: int = 1
    path: str | None = None
    method: str | None = None
    retry_after: float | str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    landed: bool = False

    def matches(self, request: web.Request, route: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != request.method:
            return False
        if self.path is not None and self.path != route and self.path not in request.path:
            return False
        if self.kind in ("expired", "unauthorized"):
            return request.headers.get("Authorization", "").lower().startswith("bearer ")
        return True


@dataclass
class Recorded:
    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    json: Any
    status: int | None = None
    response: Any = None
    dropped: bool = False


_PAYLOAD = web.ResponseKey("payload", object)


class _Reply(Exception):
    """Raised by handlers to answer early; control flow, not an error."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(
        status=status,
        body=json.dumps(payload, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )
    response[_PAYLOAD] = payload  # read back by the recorder
    return response


def _error(status: int, code: str, *, auth_success: bool = True, desc: str | None = None) -> _Reply:
    return _Reply(
        _json(
            status,
            {
                "auth_success": auth_success,
                "error_code": code,
                "desc": desc or _DESC.get(code, code),
            },
        )
    )


def _invalid(errors: list[dict[str, Any]]) -> _Reply:
    return _Reply(_json(422, {"detail": errors}))


def _err(loc: Iterable[str | int], kind: str, msg: str) -> dict[str, Any]:
    return {"type": kind, "loc": list(loc), "msg": msg}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


# ---- the server ------------------------------------------------------------------------


class SanctionsStandin(LoopbackServer):
    def __init__(
        self,
        *,
        client_id: str = "warden-standin",
        client_secret: str = "standin-client-secret",
        service_permissions: Iterable[str] = DEFAULT_SERVICE_PERMISSIONS,
        service_token_ttl: int = 3600,
        player_token_ttl: int = 3600,
        redirect_uris: Iterable[str] = ("https://warden.test/oauth/game/callback",),
        opaque_tokens: bool = False,
        clock: Callable[[], float] = time.time,
        record: bool = True,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.service_permissions = frozenset(service_permissions)
        self.service_token_ttl = service_token_ttl
        self.player_token_ttl = player_token_ttl
        self.redirect_uris = list(redirect_uris)
        self.opaque_tokens = opaque_tokens
        """Issue random strings instead of JWT-shaped tokens (claims unreadable)."""
        self.clock = clock
        self.record = record

        self.requests: list[Recorded] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        """(method, route template) -> requests seen, kept even when ``record`` is off."""
        self.reports: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.fault_plan: Callable[[web.Request, str], Fault | None] | None = None
        """Asked about every request no queued fault matched, with its route template: a
        ``Fault`` to apply to it (its ``remaining`` is ignored), or None to answer
        normally. For faults by chance (``chaos/``) rather than by count."""
        self.logged_in: Player | None = None

        self._players: dict[UUID, Player] = {}
        self._by_name: dict[str, list[Player]] = {}
        self._by_identity: dict[tuple[str, str], Player] = {}
        self._by_source: dict[UUID, list[dict[str, Any]]] = {}
        self._by_target: dict[UUID, list[dict[str, Any]]] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, Player] = {}
        self._codes: dict[str, Player] = {}
        self._login_error: tuple[str, str] | None = None
        self._ids = itertools.count(1001)
        self._key = secrets.token_bytes(32)

    # -- lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1 << 20)
        r = app.router
        r.add_post(SERVICE_TOKEN_ROUTE, self._service_token)
        r.add_get(OAUTH_LOGIN_ROUTE, self._oauth_login)
        r.add_post(OAUTH_TOKEN_ROUTE, self._oauth_token)
        r.add_post(LOGIN_ROUTE, self._login)
        r.add_get(LOOKUP_ROUTE, self._lookup)
        r.add_get(ME_UUID_ROUTE, self._me_uuid)
        r.add_get(ME_LINKS_ROUTE, self._me_links)
        r.add_get(PLAYER_ID_ROUTE, self._player_id)
        r.add_get(PLATFORM_USER_ROUTE, self._platform_user)
        # "me" routes first: aiohttp matches in registration order.
        r.add_get(ME_SENT_REPORTS_ROUTE, self._sent_reports)
        r.add_get(ME_REPORTS_ROUTE, self._received_reports)
        r.add_get(SENT_REPORTS_ROUTE, self._sent_reports)
        r.add_post(REPORTS_ROUTE, self._create_report)
        r.add_get(REPORTS_ROUTE, self._received_reports)
        return app

    # -- builders

    def add_player(
        self,
        display_name: str = "Player",
        *,
        uuid: UUID | None = None,
        identities: dict[str, str] | None = None,
        permissions: Iterable[str] | None = None,
        needs_agreements: bool = False,
    ) -> Player:
        player = Player(
            uuid=uuid or uuid4(),
            player_id=next(self._ids),
            display_name=display_name,
            person_id=uuid4(),
            identities=dict(identities or {}),
            permissions=frozenset(
                DEFAULT_PLAYER_PERMISSIONS if permissions is None else permissions
            ),
            needs_agreements=needs_agreements,
        )
        for platform in player.identities:
            if platform not in PLATFORMS:
                raise ValueError(f"unknown platform {platform!r}")
        self._players[player.uuid] = player
        self._by_name.setdefault(display_name, []).append(player)
        for platform, identity in player.identities.items():
            self._by_identity[(platform, identity)] = player
        return player

    def login_as(self, player: Player | None) -> None:
        """The player whose platform login the OAuth page sees (None: nobody known)."""
        self.logged_in = player

    def deny_next_login(
        self, error_code: str = "user_auth_restricted", description: str | None = None
    ) -> None:
        """The next OAuth login redirects back with ``error_code_v2`` instead of a code."""
        self._login_error = (error_code, description or _DESC.get(error_code, error_code))

    def issue_tokens(self, player: Player) -> StandinTokens:
        """Tokens as if ``player`` had just linked (skips the browser round trip)."""
        return StandinTokens(
            self._mint(player, player.permissions, self.player_token_ttl),
            self._mint_refresh(player),
            player,
        )

    def expire_access_tokens(
        self, player: Player | None = None, *, service: bool | None = None
    ) -> None:
        """Expire issued access tokens (all, one player's, or only service ones)."""
        past = self.clock() - 1
        for record in self._access.values():
            if service is True and record.player is not None:
                continue
            if service is False and record.player is None:
                continue
            if player is None or record.player is player:
                record.expires_at = past

    def inject(self, kind: str, *, count: int = 1, **options: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        if kind == "drop":
            options.setdefault("landed", True)
        fault = Fault(kind, remaining=count, **options)
        self.faults.append(fault)
        return fault

    # -- assertions

    def requests_to(self, route_or_part: str, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (r.route == route_or_part or route_or_part in r.path)
            and (method is None or r.method == method.upper())
        ]

    def count(self, method: str, route: str) -> int:
        return self.counts[(method.upper(), route)]

    @property
    def service_token_requests(self) -> int:
        return self.count("POST", SERVICE_TOKEN_ROUTE)

    @property
    def report_count(self) -> int:
        return len(self.reports)

    def reports_with_warden_id(self, warden_report_id: str) -> list[dict[str, Any]]:
        return [
            r for r in self.reports if r["custom_data"].get("warden_report_id") == warden_report_id
        ]

    # -- plumbing

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        self.counts[(request.method, route)] += 1
        record: Recorded | None = None
        if self.record:
            raw = await request.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            query: dict[str, list[str]] = {}
            for key, value in request.query.items():
                query.setdefault(key, []).append(value)
            record = Recorded(
                request.method,
                request.path,
                route,
                query,
                {k.lower(): v for k, v in request.headers.items()},
                parsed,
            )
            self.requests.append(record)

        fault = (
            next((f for f in self.faults if f.matches(request, route)), None)
            if self.faults
            else None
        )
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
        elif self.fault_plan is not None:
            fault = self.fault_plan(request, route)
        if fault is None:
            response = await self._answer(request, handler)
        else:
            response = await self._apply_fault(fault, request, handler, record)
        if record is not None and not record.dropped:
            record.status = response.status
            record.response = response.get(_PAYLOAD)
        return response

    @staticmethod
    async def _answer(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Reply as reply:
            return reply.response

    async def _apply_fault(
        self,
        fault: Fault,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        record: Recorded | None,
    ) -> web.StreamResponse:
        kind = fault.kind
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if kind == "throttle":
            # No rate limits are documented; this is what a gateway in front would send.
            return _json(
                fault.status or 429,
                fault.body
                or {
                    "auth_success": True,
                    "error_code": "rate_limited",
                    "desc": "Too many requests",
                },
                headers,
            )
        if kind == "unavailable":
            return _json(
                fault.status or 503,
                fault.body
                or {
                    "auth_success": True,
                    "error_code": "service_unavailable",
                    "desc": "The service is currently unavailable.  Please try again later.",
                },
                headers,
            )
        if kind == "server_error":
            return web.Response(
                status=fault.status or 500, text="Internal Server Error", headers=headers
            )
        if kind == "html":
            return web.Response(
                status=fault.status or 502,
                content_type="text/html",
                text="<html><head><title>502 Bad Gateway</title></head><body>"
                "<h1>502 Bad Gateway</h1></body></html>",
                headers=headers,
            )
        if kind == "respond":
            return _json(fault.status or 500, fault.body, headers)
        if kind == "expired":
            return _error(403, "auth_token_expired", auth_success=False).response
        if kind == "unauthorized":
            return _json(401, {"detail": "Not authenticated"}, {"WWW-Authenticate": "Bearer"})
        answer: web.StreamResponse | None = None
        if fault.landed:
            answer = await self._answer(request, handler)
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return answer if answer is not None else await self._answer(request, handler)
        # drop: the request was read (and maybe acted on); the answer never leaves.
        if record is not None:
            record.dropped = True
            record.status = answer.status if answer is not None else None
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError

    # -- tokens

    def _mint(self, player: Player | None, permissions: frozenset[str], ttl: int) -> str:
        now = self.clock()
        if self.opaque_tokens:
            token = secrets.token_urlsafe(32)
        else:
            header = _b64(b'{"alg":"HS256","typ":"JWT","kid":"standin"}')
            claims: dict[str, Any] = {
                "iss": "sanctions-standin",
                "iat": int(now),
                "exp": int(now + ttl),
                "client_id": self.client_id,
                "permissions": sorted(permissions),
                "jti": secrets.token_hex(8),
            }
            if player is not None:
                claims["sub"] = str(player.uuid)
                claims["player_uuid"] = str(player.uuid)
            payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
            signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256)
            token = f"{header}.{payload}.{_b64(signature.digest())}"
        self._access[token] = _Access(player, permissions, now + ttl)
        return token

    def _mint_refresh(self, player: Player) -> str:
        token = "rt-" + secrets.token_urlsafe(24)
        self._refresh[token] = player
        return token

    def _bearer(self, request: web.Request) -> _Access:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            # Missing credentials: FastAPI's HTTPBearer style answer (unverified).
            raise _Reply(
                _json(401, {"detail": "Not authenticated"}, {"WWW-Authenticate": "Bearer"})
            )
        access = self._access.get(token)
        if access is None:
            if not self.opaque_tokens and token.count(".") != 2:
                raise _error(403, "auth_not_jwt", auth_success=False)
            raise _error(403, "auth_token_sig_invalid", auth_success=False)
        if self.clock() >= access.expires_at:
            raise _error(403, "auth_token_expired", auth_success=False)
        return access

    def _client_basic(self, request: web.Request) -> None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        expected = f"{self.client_id}:{self.client_secret}"
        try:
            given = base64.b64decode(value, validate=True).decode() if scheme == "Basic" else ""
        except (ValueError, UnicodeError):
            given = ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            # The spec lists this code for login; the status for the v2 token endpoint is
            # undocumented (unverified).
            raise _error(403, "client_credentials_invalid", auth_success=False)

    # -- request validation, FastAPI/pydantic style

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            raise _invalid([_err(["body"], "json_invalid", "JSON decode error")]) from None
        if not isinstance(body, dict):
            raise _invalid(
                [
                    _err(
                        ["body"],
                        "model_attributes_type",
                        "Input should be a valid dictionary or object",
                    )
                ]
            )
        return body

    @staticmethod
    def _uuid(value: Any, loc: list[str | int], errors: list[dict[str, Any]]) -> UUID | None:
        if not isinstance(value, str):
            errors.append(_err(loc, "uuid_type", "UUID input should be a string"))
            return None
        try:
            return UUID(value)
        except ValueError:
            errors.append(_err(loc, "uuid_parsing", "Input should be a valid UUID"))
            return None

    @staticmethod
    def _text(
        value: Any,
        loc: list[str | int],
        errors: list[dict[str, Any]],
        *,
        min_length: int = 0,
        max_length: int | None = None,
    ) -> None:
        if not isinstance(value, str):
            errors.append(_err(loc, "string_type", "Input should be a valid string"))
        elif len(value) < min_length:
            errors.append(
                _err(loc, "string_too_short", f"String should have at least {min_length} character")
            )
        elif max_length is not None and len(value) > max_length:
            errors.append(
                _err(loc, "string_too_long", f"String should have at most {max_length} characters")
            )

    @staticmethod
    def _page_args(request: web.Request) -> tuple[int, int | None]:
        errors: list[dict[str, Any]] = []
        page_size = 10
        raw_size = request.query.get("page_size")
        if raw_size is not None:
            try:
                page_size = int(raw_size)
            except ValueError:
                errors.append(
                    _err(
                        ["query", "page_size"],
                        "int_parsing",
                        "Input should be a valid integer, unable to parse string as an integer",
                    )
                )
        position: int | None = None
        cursor = request.query.get("cursor")
        if cursor is not None:
            SanctionsStandin._text(
                cursor, ["query", "cursor"], errors, min_length=1, max_length=1024
            )
            if not errors:
                try:
                    position = int(base64.urlsafe_b64decode(cursor + "==").decode())
                except ValueError:
                    errors.append(_err(["query", "cursor"], "value_error", "Invalid cursor"))
        if errors:
            raise _invalid(errors)
        # Page size bounds are undocumented; clamp rather than refuse (unverified).
        return max(1, min(page_size, 1000)), position

    # -- auth endpoints

    async def _service_token(self, request: web.Request) -> web.Response:
        self._client_basic(request)
        body = await self._body(request)
        if body.get("grant_type") != "client_credentials":
            raise _invalid(
                [_err(["body", "grant_type"], "enum", "Input should be 'client_credentials'")]
            )
        token = self._mint(None, self.service_permissions, self.service_token_ttl)
        return _json(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": self.service_token_ttl},
        )

    async def _oauth_login(self, request: web.Request) -> web.Response:
        platform = request.match_info["platform"]
        if platform not in OAUTH_PORTALS:
            raise _invalid(
                [
                    _err(
                        ["path", "platform"],
                        "enum",
                        f"Input should be one of {sorted(OAUTH_PORTALS)}",
                    )
                ]
            )
        state = request.query.get("state")
        if state is not None and len(state) > 4096:
            raise _invalid(
                [
                    _err(
                        ["query", "state"],
                        "string_too_long",
                        "String should have at most 4096 characters",
                    )
                ]
            )
        if not self.redirect_uris:
            raise _error(403, "no_redirects_configured")
        requested = request.query.get("redirect_uri")
        params: dict[str, str] = {}
        # Spec: an unknown redirect_uri is never followed; errors go to the first
        # configured URI instead.
        if requested not in self.redirect_uris:
            target, error = self.redirect_uris[0], "redirect_uri_does_not_match"
        else:
            target, error = requested, None
            if self._login_error is not None:
                error, params["error_description"] = self._login_error
                self._login_error = None
            elif self.logged_in is None:
                error = "create_new_user_not_allowed"
        if error is not None:
            params["error_code_v2"] = error
            params.setdefault("error_description", _DESC.get(error, error))
        else:
            assert self.logged_in is not None
            code = "code-" + secrets.token_urlsafe(16)
            self._codes[code] = self.logged_in
            params["code"] = code
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in target else "?"
        return web.Response(
            status=307, headers={"Location": target + separator + urlencode(params)}
        )

    async def _oauth_token(self, request: web.Request) -> web.Response:
        self._client_basic(request)
        body = await self._body(request)
        errors: list[dict[str, Any]] = []
        if body.get("grant_type") != "authorization_code":
            errors.append(
                _err(["body", "grant_type"], "enum", "Input should be 'authorization_code'")
            )
        if "code" not in body:
            errors.append(_err(["body", "code"], "missing", "Field required"))
        else:
            self._text(body["code"], ["body", "code"], errors, min_length=1)
        if errors:
            raise _invalid(errors)
        player = self._codes.pop(body["code"], None)  # single use
        if player is None:
            raise _error(403, "authorization_code_not_found", auth_success=False)
        if player.needs_agreements:
            regenerated = "code-" + secrets.token_urlsafe(16)
            self._codes[regenerated] = player
            return _json(
                200,
                {
                    "needs_eula": True,
                    "needs_tos": True,
                    "needs_privacy_policy": False,
                    "regenerated_code": regenerated,
                    "restrictions": [],
                },
            )
        tokens = self.issue_tokens(player)
        return _json(
            200,
            {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "needs_eula": False,
                "needs_tos": False,
                "needs_privacy_policy": False,
                "restrictions": [],
            },
        )

    async def _login(self, request: web.Request) -> web.Response:
        self._client_basic(request)
        body = await self._body(request)
        grant = body.get("grant_type")
        if grant not in GRANT_TYPES:
            raise _invalid(
                [_err(["body", "grant_type"], "enum", "Input should be a valid GrantType")]
            )
        errors: list[dict[str, Any]] = []
        for name in (
            "portal_access_token",
            "portal_display_name",
            "portal_parent_access_token",
            "portal_parent_display_name",
        ):
            if name in body:
                self._text(body[name], ["body", name], errors)
        for name in ("include_refresh", "accept_eula", "accept_tos", "accept_privacy_policy"):
            if name in body and not isinstance(body[name], bool):
                errors.append(_err(["body", name], "bool_type", "Input should be a valid boolean"))
        if errors:
            raise _invalid(errors)
        if grant != "refresh":
            raise _error(
                403,
                "invalid_grant_type",
                auth_success=False,
                desc=_DESC["invalid_grant_type"].format(grant),
            )
        player = self._refresh.pop(body.get("portal_access_token", ""), None)  # single use
        if player is None:
            raise _error(403, "refresh_token_not_found", auth_success=False)
        access = self._mint(player, player.permissions, self.player_token_ttl)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.player_token_ttl,
            "active_player_uuid": str(player.uuid),
            "active_player_id": player.player_id,
            "person_id": str(player.person_id),
            "display_name": player.display_name,
            "permissions": sorted(player.permissions),
            "restrictions": [],
            "client_id": self.client_id,
            # Deprecated but still required by LoginResult.
            "publisher_uuid": str(UUID(int=1)),
            "tenant_uuid": str(UUID(int=2)),
            "config_elector_uuid": str(UUID(int=3)),
            "client_uuid": str(UUID(int=4)),
        }
        if body.get("include_refresh") is True:
            answer["refresh_token"] = self._mint_refresh(player)
        return _json(200, answer)

    # -- users

    @staticmethod
    def _player_response(player: Player) -> dict[str, Any]:
        return {"player_id": player.player_id, "player_uuid": str(player.uuid)}

    async def _lookup(self, request: web.Request) -> web.Response:
        self._bearer(request)  # permissions for look-ups are undocumented
        names = request.query.getall("display_name", [])
        identities = request.query.getall("identities", [])
        platform = request.query.get("platform")
        errors: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            self._text(name, ["query", "display_name", i], errors, max_length=256)
        for i, identity in enumerate(identities):
            self._text(identity, ["query", "identities", i], errors, max_length=2048)
        if platform is not None and platform not in PLATFORMS:
            errors.append(_err(["query", "platform"], "enum", "Input should be a valid Platform"))
        if errors:
            raise _invalid(errors)
        display_names = [
            {name: [self._player_response(p) for p in self._by_name.get(name, [])]}
            for name in names
        ]
        by_platform: dict[str, list[dict[str, Any]]] = {}
        if platform is not None and identities:
            found = {
                i: self._player_response(self._by_identity[(platform, i)])
                for i in identities
                if (platform, i) in self._by_identity
            }
            by_platform[platform] = [{"identity": found}] if found else []
        return _json(
            200,
            {
                "display_names": display_names,
                "identity_platforms": {},
                "identity_platforms_by_platform": by_platform,
            },
        )

    async def _player_id(self, request: web.Request) -> web.Response:
        self._bearer(request)  # the spec names no permission
        errors: list[dict[str, Any]] = []
        uuid = self._uuid(request.match_info["player_uuid"], ["path", "player_uuid"], errors)
        if errors:
            raise _invalid(errors)
        player = self._players.get(uuid) if uuid is not None else None
        if player is None:
            # The spec documents a 404 with no error code; this one is plausible.
            raise _error(404, "player_not_found", desc=f"Player {uuid} not found")
        return _json(200, {"player_id": player.player_id})

    async def _platform_user(self, request: web.Request) -> web.Response:
        access = self._bearer(request)
        if not access.permissions & READ_PLATFORM_USER:
            raise _error(403, "insufficient_permissions")
        platform = request.query.get("platform")
        user_id = request.query.get("platform_user_id")
        errors: list[dict[str, Any]] = []
        if platform is None:
            errors.append(_err(["query", "platform"], "missing", "Field required"))
        elif platform not in PLATFORMS:
            errors.append(_err(["query", "platform"], "enum", "Input should be a valid Platform"))
        if user_id is None:
            errors.append(_err(["query", "platform_user_id"], "missing", "Field required"))
        else:
            self._text(user_id, ["query", "platform_user_id"], errors, max_length=2048)
        if errors:
            raise _invalid(errors)
        assert platform is not None and user_id is not None
        player = self._by_identity.get((platform, user_id))
        if player is None:
            raise _error(404, "user_not_found")
        return _json(200, {
            "platform": platform,
            "platform_user_id": user_id,
            "display_name": player.display_name,
            "player_id": player.player_id,
            "player_uuid": str(player.uuid),
            "person_id": str(player.person_id),
            "active_player_id": player.player_id,
            "active_player_uuid": str(player.uuid),
        })

    def _me(self, request: web.Request) -> Player:
        access = self._bearer(request)
        if access.player is None:
            raise _error(400, "invalid_token_claims")
        return access.player

    async def _me_uuid(self, request: web.Request) -> web.Response:
        return _json(200, {"uuid": str(self._me(request).uuid)})

    async def _me_links(self, request: web.Request) -> web.Response:
        player = self._me(request)
        return _json(
            200,
            {
                "player": {
                    "player_id": player.player_id,
                    "player_uuid": str(player.uuid),
                    "active_player_id": player.player_id,
                    "active_player_uuid": str(player.uuid),
                    "person_id": str(player.person_id),
                },
                "linked_portals": [
                    {
                        "portal_user_id": identity,
                        "portal_id": _PORTAL_IDS.get(platform, 0),
                        "platform": platform,
                        "display_name": player.display_name,
                        "player_id": player.player_id,
                        "player_uuid": str(player.uuid),
                    }
                    for platform, identity in player.identities.items()
                ],
            },
        )

    # -- reports

    async def _create_report(self, request: web.Request) -> web.Response:
        access = self._bearer(request)
        errors: list[dict[str, Any]] = []
        target_uuid = self._uuid(request.match_info["player_uuid"], ["path", "player_uuid"], errors)
        body = await self._body(request)
        source_uuid: UUID | None = None
        if body.get("source_player_uuid") is not None:
            source_uuid = self._uuid(
                body["source_player_uuid"], ["body", "source_player_uuid"], errors
            )
        if "reason" not in body:
            errors.append(_err(["body", "reason"], "missing", "Field required"))
        elif body["reason"] not in REASONS:
            errors.append(
                _err(
                    ["body", "reason"],
                    "enum",
                    "Input should be " + ", ".join(f"'{r}'" for r in sorted(REASONS)),
                )
            )
        if body.get("description") is not None:
            self._text(
                body["description"], ["body", "description"], errors, min_length=1, max_length=4096
            )
        for name in ("session_id", "instance_id", "match_id", "match_segment"):
            if body.get(name) is not None:
                self._text(body[name], ["body", name], errors)
        custom = body.get("custom_data", {})
        if not isinstance(custom, dict):
            errors.append(
                _err(["body", "custom_data"], "dict_type", "Input should be a valid dictionary")
            )
        else:
            for key, value in custom.items():
                self._text(
                    value, ["body", "custom_data", key], errors, min_length=1, max_length=4096
                )
        if errors:
            raise _invalid(errors)
        assert target_uuid is not None

        me = access.player
        if source_uuid is None:
            if me is None:
                raise _error(400, "source_player_required")
            source_uuid, needed = me.uuid, CREATE_SELF
        else:
            needed = CREATE_SELF if me is not None and me.uuid == source_uuid else CREATE_ANY
        if not access.permissions & needed:
            raise _error(403, "insufficient_permissions")
        target = self._players.get(target_uuid)
        if target is None:
            raise _error(404, "player_not_found", desc=f"Player {target_uuid} not found")
        source = self._players.get(source_uuid)
        if source is None:
            raise _error(404, "player_not_found", desc=f"Player {source_uuid} not found")

        stamp = _iso(self.clock())
        report = {
            "report_id": str(uuid4()),
            "source_player_uuid": str(source.uuid),
            "source_player_id": source.player_id,
            "target_player_uuid": str(target.uuid),
            "target_player_id": target.player_id,
            "reason": body["reason"],
            "description": body.get("description"),
            "session_id": body.get("session_id"),
            "instance_id": body.get("instance_id"),
            "match_id": body.get("match_id"),
            "match_segment": body.get("match_segment"),
            "custom_data": dict(custom),
            "created": stamp,
            "modified": stamp,
        }
        self.reports.append(report)
        self._by_source.setdefault(source.uuid, []).append(report)
        self._by_target.setdefault(target.uuid, []).append(report)
        return _json(200, report)

    def _listed_player(
        self,
        request: web.Request,
        access: _Access,
        self_perms: frozenset[str],
        any_perms: frozenset[str],
    ) -> UUID:
        raw = request.match_info.get("player_uuid")
        if raw is None:  # a /me/ route
            if access.player is None:
                raise _error(400, "invalid_token_claims")
            uuid = access.player.uuid
        else:
            errors: list[dict[str, Any]] = []
            parsed = self._uuid(raw, ["path", "player_uuid"], errors)
            if parsed is None:
                raise _invalid(errors)
            uuid = parsed
        own = access.player is not None and access.player.uuid == uuid
        if not access.permissions & (self_perms if own else any_perms):
            raise _error(403, "insufficient_permissions")
        if uuid not in self._players:
            raise _error(404, "player_not_found", desc=f"Player {uuid} not found")
        return uuid

    def _page(self, request: web.Request, reports: list[dict[str, Any]]) -> web.Response:
        # Newest first; the cursor is the absolute position to continue from, so reports
        # created between two pages never shift what the next page holds.
        page_size, position = self._page_args(request)
        end = len(reports) if position is None else min(position, len(reports))
        start = max(0, end - page_size)
        page = reports[start:end]
        page.reverse()
        next_cursor = _b64(str(start).encode()) if start > 0 else None
        return _json(200, {"reports": page, "next_cursor": next_cursor})

    async def _sent_reports(self, request: web.Request) -> web.Response:
        access = self._bearer(request)
        uuid = self._listed_player(request, access, READ_SOURCE_SELF, READ_SOURCE_ANY)
        return self._page(request, self._by_source.get(uuid, []))

    async def _received_reports(self, request: web.Request) -> web.Response:
        access = self._bearer(request)
        uuid = self._listed_player(request, access, READ_TARGET_SELF, READ_TARGET_ANY)
        return self._page(request, self._by_target.get(uuid, []))


# ---- test helpers ----------------------------------------------------------------------


@dataclass
class FakeTime:
    """A clock and a sleep for ``with_retries``: sleeping advances the clock at once, so
    retry tests take no wall time and can assert the waits."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client_for(
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    fake_time: FakeTime | None = None,
    **options: Any,
) -> SanctionsClient:
    """A ``SanctionsClient`` pointed at ``standin`` (imported here so the stand-in itself
    stays independent of ``bot``)."""
    from bot.apis.retry import RetryPolicy
    from bot.apis.sanctions import SanctionsClient

    if fake_time is not None:
        options.setdefault("sleep", fake_time.sleep)
        options.setdefault("clock", fake_time.clock)
    options.setdefault(
        "policy", RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=4.0, total_budget=60.0)
    )
    return SanctionsClient(
        http,
        base_url=standin.base_url,
        client_id=standin.client_id,
        client_secret=standin.client_secret,
        **options,
    )
