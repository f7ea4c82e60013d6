"""A local Bungie.net that behaves like the real one where Warden can tell.

One aiohttp server on 127.0.0.1 serves the Platform API and the stats paths
under ``/Platform`` (pass ``api_base_url`` as both base URLs), the OAuth
authorize page and the token endpoint. It checks what Bungie checks (API key,
bearer tokens, body types, report rules), answers in Bungie's envelope with ids
as strings, records every request, and injects faults on demand.

    async with BungieStandin() as bungie:
        alice = bungie.add_account("Alice", 1234)
        bob = bungie.add_account("Bob", 42)
        activity_id = bungie.add_pgcr([alice, bob])
        tokens = bungie.issue_tokens(alice)

Where the real behaviour is not documented the stand-in picks something
plausible and says so in a comment: HTTP statuses of error envelopes are
unverified, the client must go by ``ErrorCode``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from tests.standins.loopback import LoopbackServer

if TYPE_CHECKING:
    import httpx

    from bot.apis.bungie import BungieClient

API_PREFIX = "/Platform"
AUTHORIZE_PATH = "/en/OAuth/Authorize"
TOKEN_PATH = f"{API_PREFIX}/App/OAuth/token/"
REPORT_TABLE = "DestinyReportReasonCategoryDefinition"
JSON_BODY = web.RequestKey("json_body", object)
FORM_BODY = web.RequestKey("form_body", object)

# ErrorStatus names for the codes this stand-in answers (from the spec's enum).
ERROR_NAMES: dict[int, str] = {
    1: "Success",
    3: "UnhandledException",
    5: "SystemDisabled",
    7: "ParameterParseFailure",
    8: "ParameterInvalidRange",
    11: "DataNotFound",
    18: "InvalidParameters",
    26: "MissingPostBody",
    31: "ThrottleLimitExceeded",
    36: "ThrottleLimitExceededMomentarily",
    51: "PerEndpointRequestThrottleExceeded",
    99: "WebAuthRequired",
    1601: "DestinyAccountNotFound",
    1620: "DestinyCharacterNotFound",
    1403: "ReportAlreadyReported",
    1653: "DestinyPGCRNotFound",
    1665: "DestinyPrivacyRestriction",
    2101: "ApiInvalidOrExpiredKey",
    2108: "AccessNotPermittedByApplicationScope",
    2111: "AccessTokenHasExpired",
    2124: "AuthorizationRecordRevoked",
    2700: "ReportOffenderNotInPgcr",
    2701: "ReportRequestorNotInPgcr",
    2702: "ReportSubmissionFailed",
    2703: "ReportCannotReportSelf",
}
# Plausible HTTP statuses for error envelopes (unverified; Bungie is inconsistent).
_HTTP_STATUS_OF_CODE = {
    3: 500,
    5: 503,
    7: 400,
    8: 400,
    11: 404,
    18: 400,
    26: 400,
    99: 401,
    1601: 404,
    1620: 404,
    1653: 404,
    1665: 403,
    2101: 401,
    2108: 401,
    2111: 401,
    2124: 401,
    2700: 400,
    2701: 400,
    2702: 500,
    2703: 400,
}

CLASS_NAMES = {0: "Titan", 1: "Hunter", 2: "Warlock"}
CLASS_HASHES = {0: 3655393761, 1: 671679327, 2: 2271682572}
MODE_TRIALS = 84


# ---- state ---------------------------------------------------------------------------


@dataclass
class Membership:
    membership_id: int
    membership_type: int
    display_name: str
    account: Account
    character_ids: list[int] = field(default_factory=list)
    cross_save_override: int = 0

    @property
    def character_id(self) -> int:
        return self.character_ids[0]

    @property
    def visible(self) -> bool:
        """Cross-save overridden memberships are hidden from searches and PGCRs."""
        return self.cross_save_override in (0, self.membership_type)


@dataclass
class Account:
    bnet_id: int
    name: str
    code: int
    memberships: list[Membership] = field(default_factory=list)

    @property
    def membership(self) -> Membership:
        return self.memberships[0]

    @property
    def membership_id(self) -> int:
        return self.membership.membership_id

    @property
    def membership_type(self) -> int:
        return self.membership.membership_type

    @property
    def character_id(self) -> int:
        return self.membership.character_id

    @property
    def bungie_name(self) -> str:
        return f"{self.name}#{self.code:04d}"


@dataclass
class Character:
    character_id: int
    membership: Membership
    class_type: int
    light: int
    history: list[PgcrRecord] = field(default_factory=list)


@dataclass
class PgcrRecord:
    activity_id: int
    period: datetime
    mode: int
    director_hash: int
    reference_id: int
    entries: list[tuple[Membership, int]]
    private: bool = False


@dataclass(frozen=True)
class StandinTokens:
    access_token: str
    refresh_token: str | None
    membership_id: int


@dataclass
class _Access:
    account: Account
    expires_at: float
    revoked: bool = False


@dataclass
class _Refresh:
    account: Account
    expires_at: float
    spent: bool = False
    revoked: bool = False


@dataclass
class Fault:
    """What to do instead of (or around) answering the next ``remaining`` matching requests.

    kinds: ``throttle_429`` (HTTP 429 + throttle envelope), ``throttle`` (throttle
    ErrorCode, HTTP ``status`` default 200), ``error_code`` (any envelope),
    ``server_error`` (plain-text ``status`` default 503), ``html`` (an HTML page,
    ``status`` default 200), ``maintenance`` (SystemDisabled), ``slow`` (answer
    after ``delay`` s) and ``drop`` (close the connection without answering).
    With ``landed`` the request is processed first (a report is recorded), so
    ``slow``/``drop`` model an answer lost after the work was done.
    """

    kind: str
    remaining: int = 1
    path: str | None = None
    method: str | None = None
    throttle_seconds: int = 1
    status: int | None = None
    error_code: int | None = None
    delay: float = 0.0
    landed: bool = False

    def matches(self, request: web.Request) -> bool:
        return (
            self.remaining > 0
            and (self.path is None or self.path in request.path)
            and (self.method is None or self.method.upper() == request.method)
        )


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: Any
    form: dict[str, str] | None


@dataclass(frozen=True)
class ReportRecord:
    activity_id: int
    reporter: Account
    body: dict[str, Any]


class _Reply(Exception):
    """Raised by handlers to answer with a Bungie error envelope."""

    def __init__(self, code: int, message: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


FAULT_KINDS = frozenset(
    {
        "throttle_429",
        "throttle",
        "error_code",
        "server_error",
        "html",
        "maintenance",
        "slow",
        "drop",
    }
)


def _load_report_table() -> dict[int, dict[str, Any]]:
    text = (
        resources.files("bot.apis.bungie")
        .joinpath("report_reasons_snapshot.json")
        .read_text("utf-8")
    )
    table = json.loads(text)[REPORT_TABLE]
    return {int(k): v for k, v in table.items()}


# Report categories and reasons in two of the manifest's other languages. Bungie serves
# every table in each of its 13 languages (``lc``, BRIEF section 5), with the same hashes
# and only the display strings translated. Bungie's own German and French wording is not
# in ../shared/specs: these stand in for it (Warden never matches on translated names).
REPORT_WORDS: dict[str, tuple[str, str]] = {
    # English: (German, French)
    "Quitting": ("Verlassen", "Abandon"),
    "Quit Mid-Activity": ("Mitten in der Aktivität verlassen", "Abandon en cours d'activité"),
    "Quit at Start": ("Zu Beginn verlassen", "Abandon au début"),
    "Other": ("Sonstiges", "Autre"),
    "Abusive Chat": ("Beleidigender Chat", "Discussion injurieuse"),
    "Insult": ("Beleidigung", "Insulte"),
    "Harassment": ("Belästigung", "Harcèlement"),
    "Bad Connection": ("Schlechte Verbindung", "Mauvaise connexion"),
    "Severe": ("Schwer", "Grave"),
    "Moderate": ("Mittel", "Modérée"),
    "Cheating": ("Betrug", "Triche"),
    "Hacking": ("Hacken", "Piratage"),
    "Network Manipulation": ("Netzwerkmanipulation", "Manipulation du réseau"),
    "Exploiting": ("Ausnutzen von Fehlern", "Exploitation de failles"),
    "Exploiting Map": ("Karte ausgenutzt", "Faille de carte"),
    "Exploiting Game": ("Spiel ausgenutzt", "Faille de jeu"),
    "Inactivity": ("Inaktivität", "Inactivité"),
    "AFK": ("Abwesend", "Absent"),
    "Using Bots": ("Einsatz von Bots", "Utilisation de bots"),
    "Griefing": ("Sabotieren", "Nuisance"),
    "Kicked from fireteam": ("Aus dem Einsatztrupp geworfen", "Exclu de l'escouade"),
    "Sabotage": ("Sabotage", "Sabotage"),
    "Spam": ("Spam", "Spam"),
    "Verbal Abuse": ("Verbale Beleidigung", "Propos injurieux"),
    "Vulgar Language": ("Vulgäre Sprache", "Langage vulgaire"),
    "Yelling": ("Schreien", "Cris"),
}
REPORT_TRANSLATIONS: dict[str, dict[str, str]] = {
    language: {english: words[i] for english, words in REPORT_WORDS.items()}
    for i, language in enumerate(("de", "fr"))
}


def _translated(definition: Any, words: dict[str, str]) -> Any:
    """``definition`` with every display name and description in ``words``' language."""
    if isinstance(definition, dict):
        return {k: (words.get(v, v) if k in ("name", "description") and isinstance(v, str)
                    else _translated(v, words)) for k, v in definition.items()}
    if isinstance(definition, list):
        return [_translated(v, words) for v in definition]
    return definition


# ---- the server ------------------------------------------------------------------------


class BungieStandin(LoopbackServer):
    def __init__(
        self,
        *,
        api_key: str = "standin-api-key",
        client_id: str = "48151",
        client_secret: str | None = "standin-client-secret",
        redirect_url: str = "https://warden.test/oauth/bungie/callback",
        grant_bnet_write: bool = True,
        manifest_version: str = "standin.1",
        access_ttl: int = 3600,
        refresh_ttl: int = 90 * 24 * 3600,
        clock: Callable[[], float] = time.time,
        record: bool = True,
        refuse_repeats: bool = True,
    ) -> None:
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_url = redirect_url
        self.grant_bnet_write = grant_bnet_write
        self.refuse_repeats = refuse_repeats
        """Answer 1403 ReportAlreadyReported to a repeat of a report that landed."""
        self.manifest_version = manifest_version
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.clock = clock
        self.record = record
        # What an API call with a revoked access token is answered with (unverified).
        self.revoked_error_code = 99

        self.requests: list[Recorded] = []
        self.reports: list[ReportRecord] = []
        self._reported: set[tuple[int, int, int]] = set()
        self.faults: list[Fault] = []
        self.fault_plan: Callable[[web.Request], Fault | None] | None = None
        """Asked about every request no queued fault matched: a ``Fault`` to apply to it
        (its ``remaining`` is ignored), or None to answer normally. For faults by chance
        (``chaos/``) rather than by count."""
        self.logged_in: Account | None = None
        self.report_table = _load_report_table()
        self.manifest_translations: dict[tuple[str, int, str], dict[str, Any]] = {
            (REPORT_TABLE, h, language): _translated(d, words)
            for language, words in REPORT_TRANSLATIONS.items()
            for h, d in self.report_table.items()
        }
        """(entity type, hash, Bungie language) -> the definition in that language."""
        self.manifest_entities: dict[tuple[str, int], dict[str, Any]] = {
            (REPORT_TABLE, h): d for h, d in self.report_table.items()
        }

        self._accounts: list[Account] = []
        self._by_name: dict[tuple[str, int], Account] = {}
        self._memberships: dict[int, Membership] = {}
        self._characters: dict[int, Character] = {}
        self._pgcrs: dict[int, PgcrRecord] = {}
        self._codes: dict[str, tuple[Account, float]] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._deny: str | None = None
        self._ids = itertools.count(1)

    # -- lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1 << 20)
        p = API_PREFIX
        app.router.add_get(AUTHORIZE_PATH, self._authorize)
        app.router.add_post(TOKEN_PATH, self._token)
        app.router.add_get(
            f"{p}/Destiny2/Stats/PostGameCarnageReport/{{activity_id}}/", self._get_pgcr
        )
        app.router.add_post(
            f"{p}/Destiny2/Stats/PostGameCarnageReport/{{activity_id}}/Report/", self._report
        )
        app.router.add_get(f"{p}/User/GetMembershipsForCurrentUser/", self._memberships_me)
        app.router.add_post(
            f"{p}/Destiny2/SearchDestinyPlayerByBungieName/{{mtype}}/", self._search
        )
        app.router.add_get(f"{p}/Destiny2/Manifest/", self._manifest)
        app.router.add_get(f"{p}/Destiny2/Manifest/{{entity}}/{{hash}}/", self._manifest_entity)
        app.router.add_get(f"{p}/Destiny2/{{mtype}}/Profile/{{mid}}/", self._profile)
        app.router.add_get(
            f"{p}/Destiny2/{{mtype}}/Account/{{mid}}/Character/{{cid}}/Stats/Activities/",
            self._history,
        )
        return app

    @property
    def api_base_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def stats_base_url(self) -> str:
        return self.api_base_url

    @property
    def authorize_url(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def client_kwargs(self) -> dict[str, Any]:
        """The connection arguments of ``BungieClient`` pointing here."""
        return {
            "api_key": self.api_key,
            "api_base_url": self.api_base_url,
            "stats_base_url": self.stats_base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "authorize_url": self.authorize_url,
            "token_url": self.token_url,
        }

    # -- builders

    def add_account(
        self,
        name: str,
        code: int | None = None,
        *,
        membership_type: int = 3,
        characters: int = 1,
        extra_membership_types: Iterable[int] = (),
        light: int = 2000,
    ) -> Account:
        """A Bungie.net account with one visible Destiny membership (plus cross-save
        overridden ones for ``extra_membership_types``) and ``characters`` characters."""
        code = code if code is not None else 1000 + next(self._ids) % 9000
        account = Account(bnet_id=20_000_000 + next(self._ids), name=name, code=code)
        for i, mtype in enumerate([membership_type, *extra_membership_types]):
            membership = Membership(
                membership_id=4611686018400000000 + next(self._ids),
                membership_type=mtype,
                display_name=name,
                account=account,
                cross_save_override=0 if not extra_membership_types else membership_type,
            )
            if i == 0:
                for c in range(characters):
                    cid = 2305843009300000000 + next(self._ids)
                    membership.character_ids.append(cid)
                    self._characters[cid] = Character(cid, membership, c % 3, light)
            account.memberships.append(membership)
            self._memberships[membership.membership_id] = membership
        self._accounts.append(account)
        self._by_name[(name.casefold(), code)] = account
        return account

    def add_pgcr(
        self,
        players: Iterable[Account | Membership | tuple[Membership, int]],
        *,
        activity_id: int | None = None,
        mode: int = MODE_TRIALS,
        director_hash: int = 588019350,
        period: datetime | None = None,
        private: bool = False,
    ) -> int:
        """A finished activity with these players (their first character unless given);
        it also enters each character's activity history. Returns the activity id."""
        activity_id = activity_id or 14_000_000_000 + next(self._ids)
        entries: list[tuple[Membership, int]] = []
        for player in players:
            if isinstance(player, Account):
                entries.append((player.membership, player.character_id))
            elif isinstance(player, Membership):
                entries.append((player, player.character_id))
            else:
                entries.append(player)
        when = period or datetime.now(UTC).replace(microsecond=0) - timedelta(
            minutes=len(self._pgcrs)
        )
        record = PgcrRecord(activity_id, when, mode, director_hash, director_hash, entries, private)
        self._pgcrs[activity_id] = record
        for _, cid in entries:
            character = self._characters.get(cid)
            if character is not None:
                character.history.append(record)
        return activity_id

    def login_as(self, account: Account | None) -> None:
        """The account whose browser session the authorize page sees."""
        self.logged_in = account

    def deny_next_authorization(self, description: str = "The user denied access") -> None:
        self._deny = description

    def issue_tokens(self, account: Account) -> StandinTokens:
        """Tokens as if ``account`` had just linked (skips the browser round trip)."""
        now = self.clock()
        access = "acc-" + secrets.token_urlsafe(24)
        self._access[access] = _Access(account, now + self.access_ttl)
        refresh = None
        if self.client_secret is not None:  # only confidential clients get refresh tokens
            refresh = "ref-" + secrets.token_urlsafe(24)
            self._refresh[refresh] = _Refresh(account, now + self.refresh_ttl)
        return StandinTokens(access, refresh, account.bnet_id)

    def expire_access_tokens(self, account: Account | None = None) -> None:
        for record in self._access.values():
            if account is None or record.account is account:
                record.expires_at = self.clock() - 1

    def revoke(self, account: Account | None = None) -> None:
        """Revoke every grant (of one account, or of everyone as Bungie once did)."""
        for access in self._access.values():
            if account is None or access.account is account:
                access.revoked = True
        for refresh in self._refresh.values():
            if account is None or refresh.account is account:
                refresh.revoked = True

    def inject(self, kind: str, *, count: int = 1, **options: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        fault = Fault(kind, remaining=count, **options)
        self.faults.append(fault)
        return fault

    # -- assertions

    def requests_to(self, path_part: str, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if path_part in r.path and (method is None or r.method == method.upper())
        ]

    @property
    def report_count(self) -> int:
        return len(self.reports)

    # -- plumbing

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        body = await request.read()
        parsed_json: Any = None
        form: dict[str, str] | None = None
        if body:
            if request.content_type == "application/x-www-form-urlencoded":
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            else:
                try:
                    parsed_json = json.loads(body)
                except ValueError:
                    parsed_json = None
        request[JSON_BODY] = parsed_json
        request[FORM_BODY] = form
        if self.record:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path,
                    dict(request.query),
                    {k.lower(): v for k, v in request.headers.items()},
                    parsed_json,
                    form,
                )
            )

        fault = next((f for f in self.faults if f.matches(request)), None)
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)  # keeps the per-request scan short
        elif self.fault_plan is not None:
            fault = self.fault_plan(request)
        if fault is not None:
            return await self._apply_fault(fault, request, handler)
        return await self._answer(request, handler)

    async def _answer(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            if request.path.startswith(API_PREFIX) and request.path != TOKEN_PATH:
                # The token endpoint does not need the key (sending it is harmless).
                if request.headers.get("X-API-Key") != self.api_key:
                    raise _Reply(2101, "Please provide a valid API Key.")
            return await handler(request)
        except _Reply as reply:
            return self._envelope(None, reply.code, reply.message, status=reply.status)

    async def _apply_fault(
        self,
        fault: Fault,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "throttle_429":
            return self._envelope(
                None,
                fault.error_code or 51,
                "Too many requests",
                status=429,
                throttle=fault.throttle_seconds,
            )
        if kind == "throttle":
            return self._envelope(
                None,
                fault.error_code or 36,
                "Slow down",
                status=fault.status or 200,
                throttle=fault.throttle_seconds,
            )
        if kind == "error_code":
            return self._envelope(
                None, fault.error_code or 3, "Injected error", status=fault.status
            )
        if kind == "maintenance":
            return self._envelope(
                None,
                5,
                "This system is temporarily disabled for maintenance.",
                status=fault.status or 503,
            )
        if kind == "server_error":
            return web.Response(status=fault.status or 503, text="Service Unavailable")
        if kind == "html":
            return web.Response(
                status=fault.status or 200,
                content_type="text/html",
                text="<html><body><h1>Bungie.net is down for maintenance</h1></body></html>",
            )
        answer: web.StreamResponse | None = None
        if fault.landed:
            answer = await self._answer(request, handler)
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return answer if answer is not None else await self._answer(request, handler)
        # drop: the request was read (and maybe acted on); the answer never leaves.
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError

    def _envelope(
        self,
        response: Any,
        code: int = 1,
        message: str = "Ok",
        *,
        status: int | None = None,
        throttle: int = 0,
    ) -> web.Response:
        payload = {
            "Response": response,
            "ErrorCode": code,
            "ThrottleSeconds": throttle,
            "ErrorStatus": ERROR_NAMES.get(code, f"Error{code}"),
            "Message": message,
            "MessageData": {},
        }
        if response is None:
            del payload["Response"]
        http = status if status is not None else _HTTP_STATUS_OF_CODE.get(code, 200)
        return web.Response(
            status=http,
            body=json.dumps(payload, separators=(",", ":")),
            content_type="application/json",
            charset="utf-8",
        )

    def _bearer(self, request: web.Request) -> Account:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _Reply(99, "Please sign-in to continue.")
        record = self._access.get(header[len("Bearer ") :].strip())
        if record is None:
            raise _Reply(99, "Please sign-in to continue.")
        if record.revoked:
            raise _Reply(self.revoked_error_code, "Please sign-in to continue.")
        if record.expires_at <= self.clock():
            raise _Reply(2111, "Access token has expired.")
        return record.account

    @staticmethod
    def _int(raw: str, name: str) -> int:
        try:
            return int(raw)
        except ValueError:
            raise _Reply(
                7, f"Unable to parse your parameters. Please correct them, and try again. ({name})"
            ) from None

    # -- cards

    @staticmethod
    def _card(m: Membership) -> dict[str, Any]:
        account = m.account
        return {
            "iconPath": "/img/theme/bungienet/icons/steamLogo.png",
            "crossSaveOverride": m.cross_save_override,
            "applicableMembershipTypes": [m.membership_type] if m.visible else [],
            "isPublic": True,
            "membershipType": m.membership_type,
            "membershipId": str(m.membership_id),
            "displayName": m.display_name,
            "bungieGlobalDisplayName": account.name,
            "bungieGlobalDisplayNameCode": account.code,
        }

    def _pgcr_json(self, record: PgcrRecord) -> dict[str, Any]:
        entries = []
        for standing, (membership, cid) in enumerate(record.entries):
            character = self._characters.get(cid)
            class_type = character.class_type if character else 0
            entries.append(
                {
                    "standing": standing,
                    "score": {"basic": {"value": 0.0, "displayValue": "0"}},
                    "player": {
                        "destinyUserInfo": self._card(membership),
                        "characterClass": CLASS_NAMES.get(class_type, "Unknown"),
                        "classHash": CLASS_HASHES.get(class_type, 0),
                        "raceHash": 0,
                        "genderHash": 0,
                        "characterLevel": 50,
                        "lightLevel": character.light if character else 0,
                        "emblemHash": 0,
                    },
                    "characterId": str(cid),
                    "values": {"completed": {"basic": {"value": 1.0, "displayValue": "Yes"}}},
                }
            )
        return {
            "period": record.period.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "activityDetails": self._activity_details(record),
            "entries": entries,
            "teams": [],
        }

    @staticmethod
    def _activity_details(record: PgcrRecord) -> dict[str, Any]:
        mtype = record.entries[0][0].membership_type if record.entries else 3
        return {
            "referenceId": record.reference_id,
            "directorActivityHash": record.director_hash,
            "instanceId": str(record.activity_id),
            "mode": record.mode,
            "modes": [record.mode, 5],
            "isPrivate": False,
            "membershipType": mtype,
        }

    # -- Platform handlers

    async def _get_pgcr(self, request: web.Request) -> web.Response:
        activity_id = self._int(request.match_info["activity_id"], "activityId")
        record = self._pgcrs.get(activity_id)
        if record is None:
            raise _Reply(1653, "The activity you requested was not found.")
        if record.private:
            raise _Reply(1665, "This user has chosen to keep this information private.")
        return self._envelope(self._pgcr_json(record))

    async def _report(self, request: web.Request) -> web.Response:
        reporter = self._bearer(request)
        if not self.grant_bnet_write:
            raise _Reply(2108, "Your application does not have permission for this action.")
        activity_id = self._int(request.match_info["activity_id"], "activityId")
        body = request[JSON_BODY]
        if body is None:
            raise _Reply(7 if await request.read() else 26, "A valid JSON body is required.")
        body, offender = self._report_body(body)
        record = self._pgcrs.get(activity_id)
        if record is None:
            raise _Reply(1653, "The activity you requested was not found.")
        in_pgcr = {cid: m for m, cid in record.entries}
        if not any(m.account is reporter for m in in_pgcr.values()):
            raise _Reply(2701, "You were not in this activity.")
        if offender not in in_pgcr:
            raise _Reply(2700, "The offending player was not in this activity.")
        if in_pgcr[offender].account is reporter:
            raise _Reply(2703, "You cannot report yourself.")
        key = (activity_id, reporter.bnet_id, offender)
        if self.refuse_repeats and key in self._reported:
            raise _Reply(1403, "You have already reported this player for this activity.")
        self._reported.add(key)
        self.reports.append(ReportRecord(activity_id, reporter, body))
        return self._envelope(0)

    def _report_body(self, body: object) -> tuple[dict[str, Any], int]:
        def ints(value: Any, name: str) -> list[int]:
            if (
                not isinstance(value, list)
                or not value
                or not all(
                    isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFFFFFF
                    for v in value
                )
            ):
                raise _Reply(18, f"{name} must be a non-empty array of uint32 hashes.")
            return value

        if not isinstance(body, dict):
            raise _Reply(18, "The request body must be an object.")
        categories = ints(body.get("reasonCategoryHashes"), "reasonCategoryHashes")
        reasons = ints(body.get("reasonHashes"), "reasonHashes")
        offender = body.get("offendingCharacterId")
        if not isinstance(offender, int) or isinstance(offender, bool):
            raise _Reply(18, "offendingCharacterId must be an int64.")
        for category in categories:
            if category not in self.report_table:
                raise _Reply(18, f"Unknown report category {category}.")
        for reason in reasons:
            if not any(str(reason) in self.report_table[c]["reasons"] for c in categories):
                raise _Reply(18, f"Reason {reason} is not in the given categories.")
        return body, offender

    async def _memberships_me(self, request: web.Request) -> web.Response:
        account = self._bearer(request)
        memberships = [
            {
                **self._card(m),
                "LastSeenDisplayName": m.display_name,
                "LastSeenDisplayNameType": m.membership_type,
            }
            for m in account.memberships
        ]
        data: dict[str, Any] = {
            "destinyMemberships": memberships,
            "bungieNetUser": {
                "membershipId": str(account.bnet_id),
                "uniqueName": account.bungie_name,
                "displayName": account.name,
                "cachedBungieGlobalDisplayName": account.name,
                "cachedBungieGlobalDisplayNameCode": account.code,
                "isDeleted": False,
                "locale": "en",
            },
        }
        if len(account.memberships) > 1:  # only set with a cross-save relationship
            data["primaryMembershipId"] = str(account.membership_id)
        return self._envelope(data)

    async def _search(self, request: web.Request) -> web.Response:
        mtype = self._int(request.match_info["mtype"], "membershipType")
        body = request[JSON_BODY]
        if body is None:
            raise _Reply(7 if await request.read() else 26, "A valid JSON body is required.")
        if not isinstance(body, dict):
            raise _Reply(18, "The request body must be an object.")
        name, code = body.get("displayName"), body.get("displayNameCode")
        if not isinstance(name, str) or not isinstance(code, int) or isinstance(code, bool):
            raise _Reply(18, "displayName must be a string and displayNameCode an int16.")
        account = self._by_name.get((name.casefold(), code))
        found = (
            []
            if account is None
            else [
                self._card(m)
                for m in account.memberships
                if m.visible and (mtype == -1 or m.membership_type == mtype)
            ]
        )
        return self._envelope(found)

    async def _profile(self, request: web.Request) -> web.Response:
        mtype = self._int(request.match_info["mtype"], "membershipType")
        mid = self._int(request.match_info["mid"], "destinyMembershipId")
        raw = request.query.get("components", "")
        components = {c.strip().lower() for c in raw.split(",") if c.strip()}
        if not components:
            raise _Reply(18, "You must request at least one component.")
        membership = self._memberships.get(mid)
        if membership is None or membership.membership_type != mtype:
            raise _Reply(1601, "We were unable to find your Destiny account information.")
        data: dict[str, Any] = {"responseMintedTimestamp": _iso(datetime.now(UTC))}
        if components & {"200", "characters"}:
            data["characters"] = {
                "data": {
                    str(cid): self._character_json(self._characters[cid])
                    for cid in membership.character_ids
                },
                "privacy": 1,
            }
        return self._envelope(data)

    @staticmethod
    def _character_json(c: Character) -> dict[str, Any]:
        return {
            "membershipId": str(c.membership.membership_id),
            "membershipType": c.membership.membership_type,
            "characterId": str(c.character_id),
            "dateLastPlayed": _iso(datetime.now(UTC)),
            "minutesPlayedThisSession": "0",
            "minutesPlayedTotal": "6000",
            "light": c.light,
            "stats": {},
            "raceHash": 0,
            "genderHash": 0,
            "classHash": CLASS_HASHES.get(c.class_type, 0),
            "raceType": 0,
            "classType": c.class_type,
            "genderType": 0,
            "emblemPath": "",
            "baseCharacterLevel": 50,
            "percentToNextLevel": 0.0,
        }

    async def _history(self, request: web.Request) -> web.Response:
        mtype = self._int(request.match_info["mtype"], "membershipType")
        mid = self._int(request.match_info["mid"], "destinyMembershipId")
        cid = self._int(request.match_info["cid"], "characterId")
        count = self._int(request.query.get("count", "25"), "count")
        page = self._int(request.query.get("page", "0"), "page")
        mode = self._int(request.query.get("mode", "0"), "mode")
        if not 1 <= count <= 250 or page < 0:
            raise _Reply(8, "count must be 1-250 and page 0 or more.")
        character = self._characters.get(cid)
        if (
            character is None
            or character.membership.membership_id != mid
            or character.membership.membership_type != mtype
        ):
            raise _Reply(1620, "We were unable to find that character.")
        rows = sorted(character.history, key=lambda r: r.period, reverse=True)
        if mode:
            rows = [r for r in rows if r.mode == mode]
        rows = rows[page * count : (page + 1) * count]
        if not rows:
            return self._envelope({})  # Bungie leaves "activities" out when empty
        return self._envelope(
            {
                "activities": [
                    {
                        "period": _iso(r.period),
                        "activityDetails": self._activity_details(r),
                        "values": {},
                    }
                    for r in rows
                ]
            }
        )

    async def _manifest(self, request: web.Request) -> web.Response:
        return self._envelope(
            {
                "version": self.manifest_version,
                "mobileWorldContentPaths": {},
                "jsonWorldContentPaths": {},
            }
        )

    async def _manifest_entity(self, request: web.Request) -> web.Response:
        hash_ = self._int(request.match_info["hash"], "hashIdentifier")
        key = (request.match_info["entity"], hash_)
        # ``lc`` picks the manifest's language (Bungie serves each of its 13); English when
        # absent or when no translation was set up here.
        definition = self.manifest_translations.get((*key, request.query.get("lc", "en")),
                                                    self.manifest_entities.get(key))
        if definition is None:
            # Unverified which code Bungie uses for an unknown hash.
            raise _Reply(11, "The definition was not found.")
        return self._envelope(definition)

    # -- OAuth

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return _html_page(400, "Invalid client_id or response_type.")
        # Stricter than Bungie (which fixes scopes at registration): catches a client
        # that sends what it must not.
        if "scope" in q:
            return _html_page(400, "scope is not accepted: scopes are set on the application.")
        if "redirect_uri" in q and q["redirect_uri"] != self.redirect_url:
            return _html_page(400, "redirect_uri does not match the registered one.")
        state = q.get("state", "")
        if self._deny is not None:
            params = {"error": "access_denied", "error_description": self._deny, "state": state}
            self._deny = None
            raise web.HTTPFound(f"{self.redirect_url}?{urlencode(params)}")
        if self.logged_in is None:
            return _html_page(200, "Sign in to Bungie.net")
        code = secrets.token_hex(16)
        self._codes[code] = (self.logged_in, self.clock() + 300)
        raise web.HTTPFound(f"{self.redirect_url}?{urlencode({'code': code, 'state': state})}")

    async def _token(self, request: web.Request) -> web.Response:
        form = request[FORM_BODY]
        if not isinstance(form, dict):
            return _oauth_error(400, "invalid_request", "Expected a form-encoded body.")
        if self.client_secret is not None:
            if _basic(request) != (self.client_id, self.client_secret):
                return _oauth_error(401, "invalid_client", "Client authentication failed.")
        elif form.get("client_id") != self.client_id:
            return _oauth_error(400, "invalid_client", "client_id is missing or wrong.")
        grant = form.get("grant_type")
        now = self.clock()
        if grant == "authorization_code":
            held = self._codes.pop(form.get("code", ""), None)
            if held is None or held[1] <= now:
                return _oauth_error(400, "invalid_grant", "AuthorizationCodeInvalid")
            account = held[0]
        elif grant == "refresh_token":
            record = self._refresh.get(form.get("refresh_token", ""))
            if record is None or record.spent or record.revoked or record.expires_at <= now:
                return _oauth_error(400, "invalid_grant", "ProvidedTokenNotValidRefreshToken")
            record.spent = True  # single use: each refresh rotates it
            account = record.account
        else:
            return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r}")
        tokens = self.issue_tokens(account)
        payload: dict[str, Any] = {
            "access_token": tokens.access_token,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "membership_id": str(account.bnet_id),
        }
        if tokens.refresh_token is not None:
            payload["refresh_token"] = tokens.refresh_token
            payload["refresh_expires_in"] = self.refresh_ttl
        return web.json_response(payload)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _html_page(status: int, text: str) -> web.Response:
    return web.Response(
        status=status, content_type="text/html", text=f"<html><body><p>{text}</p></body></html>"
    )


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def bungie_client_for(standin: BungieStandin, http: httpx.AsyncClient,
                      **options: Any) -> BungieClient:
    """A ``BungieClient`` pointed at ``standin``, unpaced; ``options`` override any argument
    (imported here so the stand-in itself stays independent of ``bot``)."""
    from bot.apis.bungie import BungieClient
    from bot.apis.pacing import Limiter

    options.setdefault("limiter", Limiter())
    return BungieClient(http, **{**standin.client_kwargs(), **options})
