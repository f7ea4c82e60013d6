"""The cached client-credentials token Warden uses when no player token is at hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.apis.sanctions.models import ServiceTokenResponse

# Renew this long before expiry (capped at a tenth of the lifetime for short tokens),
# so a token never expires between being handed out and reaching the API.
MAX_EARLY_RENEWAL = 60.0


@dataclass(frozen=True)
class _Cached:
    response: ServiceTokenResponse
    renew_at: float


class ServiceTokenCache:
    """Holds one service token; concurrent callers share a single fetch.

    The fetch runs under a lock and callers re-check after acquiring it, so twenty
    callers arriving together with no (or an expired) token cause one token request.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[ServiceTokenResponse]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: _Cached | None = None

    def _valid(self) -> _Cached | None:
        cached = self._cached
        if cached is not None and self._clock() < cached.renew_at:
            return cached
        return None

    async def current(self) -> ServiceTokenResponse:
        cached = self._valid()
        if cached is not None:
            return cached.response
        async with self._lock:
            cached = self._valid()
            if cached is None:
                started = self._clock()
                response = await self._fetch()
                # Count the lifetime from before the request: the token was minted
                # somewhere during it.
                early = min(MAX_EARLY_RENEWAL, response.expires_in / 10)
                cached = _Cached(response, started + response.expires_in - early)
                self._cached = cached
            return cached.response

    async def get(self) -> str:
        return (await self.current()).access_token

    def invalidate(self, token: str) -> None:
        """Drop ``token`` if it is still the cached one.

        Comparing first means a burst of callers all rejected with the same stale
        token cause one renewal, not one each.
        """
        if self._cached is not None and self._cached.response.access_token == token:
            self._cached = None
