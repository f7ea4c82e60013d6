"""Issue 12 item 4, the pacer: with members' look-ups saturating the one Bungie budget,
a delivery's request and a token refresh go first instead of queueing behind them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.apis.bungie import BungieClient
from bot.apis.errors import ApiError
from bot.apis.http import build_http_client
from bot.apis.pacing import Limiter
from bot.apis.retry import RetryPolicy
from tests.apis.test_bungie_client import FakeTime
from tests.standins.bungie import BungieStandin

LOOKUPS = 30
CAPACITY = 10


async def test_urgent_callers_go_before_waiting_lookups() -> None:
    fake = FakeTime()
    limiter = Limiter(rate=CAPACITY / 10, window=10, clock=fake.clock, sleep=fake.sleep)
    order: list[str] = []

    async def one(name: str, urgent: bool) -> None:
        await limiter.acquire(urgent=urgent)
        order.append(name)

    lookups = [asyncio.create_task(one(f"lookup{i}", False)) for i in range(LOOKUPS)]
    await asyncio.sleep(0)  # every look-up is queued, the first CAPACITY granted
    urgent = asyncio.create_task(one("delivery", True))
    await asyncio.gather(*lookups, urgent)
    # Among the first grants once the budget frees (the head look-up may already have
    # been woken), never behind the other look-ups waiting.
    assert order.index("delivery") <= CAPACITY + 1, order


class RecordingLimiter(Limiter):
    """The real limiter, noting the order of its grants (what the stand-in sees can be
    reordered by connection set-up)."""

    def __init__(self, *, rate: float, window: float) -> None:
        super().__init__(rate=rate, window=window)
        self.granted: list[bool] = []

    async def acquire(self, *, urgent: bool = False) -> None:
        await super().acquire(urgent=urgent)
        self.granted.append(urgent)


@pytest.fixture
async def bungie() -> AsyncIterator[BungieStandin]:
    async with BungieStandin() as standin:
        yield standin


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(connect_timeout=2, read_timeout=2,
                                 user_agent="warden-test") as client:
        yield client


async def test_a_delivery_and_a_refresh_are_not_starved_by_lookups(
    bungie: BungieStandin, http: httpx.AsyncClient
) -> None:
    # Real time: CAPACITY grants per 0.5 s, so the look-ups queue for 1.5 s.
    limiter = RecordingLimiter(rate=CAPACITY / 0.5, window=0.5)
    client = BungieClient(
        http, **bungie.client_kwargs(),
        limiter=limiter,
        policy=RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.05, total_budget=60),
    )
    alice, bob = bungie.add_account("Alice", 1234), bungie.add_account("Bob", 42)
    activity = bungie.add_pgcr([alice, bob])
    tokens = bungie.issue_tokens(alice)
    assert tokens.refresh_token is not None

    async def lookup(i: int) -> None:
        try:
            await client.get_pgcr(900000 + i)  # members typing ids that do not exist
        except ApiError:
            pass

    lookups = [asyncio.create_task(lookup(i)) for i in range(LOOKUPS)]
    await asyncio.sleep(0.05)
    delivery = asyncio.create_task(client.report_player(
        tokens.access_token, activity, category_hash=1851805954, reason_hash=2352608786,
        offending_character_id=bob.character_id))
    refresh = asyncio.create_task(client.refresh(tokens.refresh_token))
    await asyncio.gather(*lookups, delivery, refresh)
    assert len(bungie.requests_to("/Report/")) == 1
    assert len(bungie.requests_to("OAuth/token")) == 1
    urgent_at = [i for i, urgent in enumerate(limiter.granted) if urgent]
    # Granted together as soon as the budget frees, ahead of the look-ups still waiting
    # (on a loaded machine a window may pass before they arrive, so count from there).
    first = urgent_at[0]
    assert urgent_at == [first, first + 1], limiter.granted
    # Look-ups that were waiting when they arrived are served after them (without the lane
    # they would come after all of them).
    assert limiter.granted[first + 2:].count(False) >= LOOKUPS - 2 * CAPACITY, limiter.granted
