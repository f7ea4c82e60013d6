"""Fixtures shared by the sanctions-client tests: a stand-in, a real HTTP client and a
client under fake time. A test module overrides ``standin`` or a player to change them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.apis.http import build_http_client
from bot.apis.sanctions import SanctionsClient
from tests.standins.sanctions import FakeTime, Player, SanctionsStandin, client_for


@pytest.fixture
async def standin() -> AsyncIterator[SanctionsStandin]:
    async with SanctionsStandin() as rh:
        yield rh


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(
        connect_timeout=2, read_timeout=5, user_agent="warden-tests", max_connections=30
    ) as c:
        yield c


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(
    standin: SanctionsStandin, http: httpx.AsyncClient, fake_time: FakeTime
) -> SanctionsClient:
    return client_for(standin, http, fake_time)


@pytest.fixture
def alice(standin: SanctionsStandin) -> Player:
    return standin.add_player("Alice")


@pytest.fixture
def bob(standin: SanctionsStandin) -> Player:
    return standin.add_player("Bob")
