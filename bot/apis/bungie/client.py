"""The Bungie.net Platform API client: the operations Warden needs, nothing more.

Every request waits for the shared pacing ``Limiter`` first, carries the API
key, and goes through ``bot.apis.retry``; this module only builds requests and
reads answers. It keeps no tokens: the caller passes a member's access token
to each user call and stores whatever ``exchange_code``/``refresh`` return.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.apis.bungie.envelope import DESTINATION, unwrap
from bot.apis.bungie.models import (
    ActivityHistoryEntry,
    BungieTokens,
    Character,
    DestinyMembership,
    ExactSearchRequest,
    Pgcr,
    PgcrReportBody,
    UserMemberships,
)
from bot.apis.bungie.oauth import build_authorize_url, parse_token_response
from bot.apis.errors import ApiError, DestinationDisabled, NotFound, Throttled
from bot.apis.http import send
from bot.apis.pacing import Limiter
from bot.apis.retry import RetryPolicy, Sleep, with_retries

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# BungieMembershipType.All: search every platform.
ALL_MEMBERSHIP_TYPES = -1
COMPONENT_CHARACTERS = 200
MAX_HISTORY_COUNT = 250
_ENTITY_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,99}")


class BungieClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        api_base_url: str,
        stats_base_url: str,
        client_id: str | None,
        client_secret: str | None,
        authorize_url: str,
        token_url: str,
        limiter: Limiter,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass, safe to share
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._api_base = api_base_url.rstrip("/")
        self._stats_base = stats_base_url.rstrip("/")
        self._client_id = client_id or None
        self._client_secret = client_secret or None
        self._authorize_url = authorize_url
        self._token_url = token_url
        self._limiter = limiter
        self._policy = policy
        self._sleep = sleep
        self._clock = clock

    # ---- public data -------------------------------------------------------------

    async def get_pgcr(self, activity_id: int) -> Pgcr:
        # PGCRs live on the stats host; www answers them with a redirect.
        data = await self._get(
            self._stats_base, f"/Destiny2/Stats/PostGameCarnageReport/{int(activity_id)}/"
        )
        return _parse(Pgcr, data, "post-game carnage report")

    async def search_player_by_bungie_name(self, name: str, code: int) -> list[DestinyMembership]:
        body = ExactSearchRequest(display_name=name, display_name_code=code).to_body()
        # A search changes nothing upstream, so it is safe to resend despite being a POST.
        data = await self._call(
            "POST",
            self._api_base,
            f"/Destiny2/SearchDestinyPlayerByBungieName/{ALL_MEMBERSHIP_TYPES}/",
            json=body,
            idempotent=True,
        )
        return [_parse(DestinyMembership, item, "membership") for item in _as_list(data)]

    async def get_profile_characters(
        self, membership_type: int, membership_id: int
    ) -> list[Character]:
        data = await self._get(
            self._api_base,
            f"/Destiny2/{int(membership_type)}/Profile/{int(membership_id)}/",
            params={"components": str(COMPONENT_CHARACTERS)},
        )
        characters = (_as_dict(data).get("characters") or {}).get("data") or {}
        return [_parse(Character, item, "character") for item in characters.values()]

    async def get_activity_history(
        self,
        membership_type: int,
        membership_id: int,
        character_id: int,
        *,
        count: int = 25,
        mode: int | None = None,
        page: int = 0,
    ) -> list[ActivityHistoryEntry]:
        """The character's activities, most recent first."""
        if not 1 <= count <= MAX_HISTORY_COUNT:
            raise ValueError(f"count must be between 1 and {MAX_HISTORY_COUNT}")
        if page < 0:
            raise ValueError("page must be 0 or more")
        params = {"count": str(count), "page": str(page)}
        if mode is not None:
            params["mode"] = str(int(mode))
        data = await self._get(
            self._api_base,
            f"/Destiny2/{int(membership_type)}/Account/{int(membership_id)}"
            f"/Character/{int(character_id)}/Stats/Activities/",
            params=params,
        )
        # Bungie leaves "activities" out entirely when there are none.
        rows = _as_dict(data).get("activities") or []
        try:
            return [ActivityHistoryEntry.from_period_group(row) for row in rows]
        except (KeyError, TypeError, ValidationError):
            raise _shape_error("activity history") from None

    async def get_manifest_version(self) -> str:
        data = await self._get(self._api_base, "/Destiny2/Manifest/")
        version = _as_dict(data).get("version")
        if not isinstance(version, str) or not version:
            raise _shape_error("manifest")
        return version

    async def get_manifest_entity(self, entity_type: str, hash_: int,
                                  language: str | None = None) -> dict[str, Any]:
        """``language``: a Bungie manifest language (``de``, ``es-mx``...); English if None."""
        if not _ENTITY_TYPE.fullmatch(entity_type):
            raise ValueError(f"not a manifest entity type name: {entity_type!r}")
        data = await self._get(
            self._api_base, f"/Destiny2/Manifest/{entity_type}/{int(hash_) & 0xFFFFFFFF}/",
            params={"lc": language} if language and language != "en" else None,
        )
        if data is None:
            raise NotFound(f"{entity_type} {hash_} is not in the manifest",
                           destination=DESTINATION)
        return _as_dict(data)

    # ---- member calls (OAuth bearer) --------------------------------------------

    async def get_memberships_for_current_user(self, access_token: str) -> UserMemberships:
        data = await self._call(
            "GET", self._api_base, "/User/GetMembershipsForCurrentUser/",
            token=access_token, idempotent=True, urgent=True,
        )
        return _parse(UserMemberships, data, "membership data")

    async def report_player(
        self,
        access_token: str,
        activity_id: int,
        *,
        category_hash: int,
        reason_hash: int,
        offending_character_id: int,
    ) -> None:
        """File a report as the token's owner. Never resent after an ambiguous send:
        Bungie has no way to ask whether a report landed, and a duplicate is worse
        than a report the moderator is told to check."""
        body = PgcrReportBody(
            reason_category_hashes=[category_hash],
            reason_hashes=[reason_hash],
            offending_character_id=offending_character_id,
        ).to_body()
        await self._call(
            "POST",
            self._api_base,
            f"/Destiny2/Stats/PostGameCarnageReport/{int(activity_id)}/Report/",
            json=body,
            token=access_token,
            idempotent=False,
            urgent=True,
        )

    # ---- OAuth ---------------------------------------------------------------------

    def authorize_url(self, state: str) -> str:
        return build_authorize_url(self._authorize_url, client_id=self._need_client_id(),
                                   state=state)

    async def exchange_code(self, code: str) -> BungieTokens:
        return await self._token_call({"grant_type": "authorization_code", "code": code},
                                      secret=code, describe="bungie token exchange")

    async def refresh(self, refresh_token: str) -> BungieTokens:
        # Refresh tokens are single use. If an unanswered attempt landed, the old token
        # is spent and its successor was lost with the answer; a replay would only earn
        # invalid_grant. AmbiguousSend lets the caller say so instead of guessing.
        return await self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            secret=refresh_token, describe="bungie token refresh",
        )

    # ---- plumbing ------------------------------------------------------------------

    def _need_client_id(self) -> str:
        if self._client_id is None:
            raise DestinationDisabled("BUNGIE_CLIENT_ID is not set: account linking is off",
                                      destination=DESTINATION)
        return self._client_id

    async def _token_call(
        self, form: dict[str, str], *, secret: str, describe: str
    ) -> BungieTokens:
        client_id = self._need_client_id()
        headers = {"X-API-Key": self._api_key, "Accept": "application/json"}
        if self._client_secret is not None:
            raw = f"{client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        else:
            form = {**form, "client_id": client_id}  # public client: no secret to prove
        secrets = (self._api_key, self._client_secret, secret)

        async def attempt() -> BungieTokens:
            # Refresh tokens are single use and expire: never queued behind look-ups.
            await self._limiter.acquire(urgent=True)
            request = self._http.build_request("POST", self._token_url, data=form,
                                               headers=headers)
            response = await send(self._http, request, destination=DESTINATION)
            return self._note_throttle(
                lambda r, s: parse_token_response(r, secrets=s), response, secrets
            )

        return await with_retries(attempt, policy=self._policy, idempotent=False,
                                  sleep=self._sleep, clock=self._clock, describe=describe)

    async def _get(
        self, base: str, path: str, *, params: Mapping[str, str] | None = None
    ) -> Any:
        return await self._call("GET", base, path, params=params, idempotent=True)

    async def _call(
        self,
        method: str,
        base: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        token: str | None = None,
        idempotent: bool,
        urgent: bool = False,
    ) -> Any:
        headers = {"X-API-Key": self._api_key, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        secrets = (self._api_key, token)
        url = base + path

        def read(response: httpx.Response, secrets: tuple[str | None, ...]) -> Any:
            return unwrap(response, idempotent=idempotent, secrets=secrets)

        async def attempt() -> Any:
            await self._limiter.acquire(urgent=urgent)
            request = self._http.build_request(method, url, params=params, json=json,
                                               headers=headers)
            response = await send(self._http, request, destination=DESTINATION)
            return self._note_throttle(read, response, secrets)

        # Paths hold only ids, never secrets, so they are fine in retry logs.
        return await with_retries(attempt, policy=self._policy, idempotent=idempotent,
                                  sleep=self._sleep, clock=self._clock,
                                  describe=f"bungie {method} {path}")

    def _note_throttle(
        self,
        reader: Callable[[httpx.Response, tuple[str | None, ...]], T],
        response: httpx.Response,
        secrets: tuple[str | None, ...],
    ) -> T:
        try:
            return reader(response, secrets)
        except Throttled as exc:
            # Throttles are per source IP: every caller in the process must back off.
            self._limiter.hold(exc.retry_after)
            raise


def _shape_error(what: str) -> ApiError:
    return ApiError(f"unexpected shape of the {what} answer", destination=DESTINATION,
                    code="UnexpectedShape")


def _parse(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise _shape_error(what) from None


def _as_dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _shape_error("Bungie")
    return data


def _as_list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise _shape_error("Bungie")
    return data
