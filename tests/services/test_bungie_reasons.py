from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.apis.bungie import BungieClient, parse_reason_map
from bot.apis.retry import RetryPolicy
from bot.domain import Reason
from bot.services.delivery.bungie_reasons import CACHE_KEY, ReasonCatalog
from bot.store import Database, Store
from tests.standins.bungie import BungieStandin, bungie_client_for


@pytest.fixture
async def store(tmp_path: Path):
    db = await Database.open(tmp_path / "w.db")
    yield Store(db)
    await db.close()


async def make_client(standin: BungieStandin, http: httpx.AsyncClient) -> BungieClient:
    return bungie_client_for(standin, http, policy=RetryPolicy(max_attempts=1, base_delay=0.01))


def manifest_calls(standin: BungieStandin) -> int:
    return sum(1 for r in standin.requests if "/Manifest/DestinyReportReason" in r.path)


async def test_live_table_is_cached_by_manifest_version(store: Store) -> None:
    async with BungieStandin() as standin, httpx.AsyncClient() as http:
        client = await make_client(standin, http)
        first = await ReasonCatalog(client, store.kv).table()
        assert first.source == "live" and first.manifest_version == standin.manifest_version
        assert first[Reason.AFK].reason_name.lower() == "afk"
        calls = manifest_calls(standin)
        assert calls > 0 and isinstance(await store.kv.get(CACHE_KEY), str)

        # A restart with the same manifest version reads the cache, not the manifest.
        again = await ReasonCatalog(client, store.kv).table()
        assert manifest_calls(standin) == calls
        assert again[Reason.CHEATING] == first[Reason.CHEATING]

        # A new manifest version reloads.
        standin.manifest_version = "standin.2"
        fresh = await ReasonCatalog(client, store.kv).table()
        assert manifest_calls(standin) > calls and fresh.manifest_version == "standin.2"


async def test_operator_override_applies_over_the_cache(store: Store) -> None:
    async with BungieStandin() as standin, httpx.AsyncClient() as http:
        client = await make_client(standin, http)
        await ReasonCatalog(client, store.kv).table()
        overrides = parse_reason_map("cheating=Cheating/Other")
        table = await ReasonCatalog(client, store.kv, overrides).table()
        assert table[Reason.CHEATING].reason_name == "Other"
        assert table[Reason.CHEATING].reason_hash == 3087590961


async def test_bungie_down_falls_back_to_snapshot(store: Store) -> None:
    async with BungieStandin() as standin, httpx.AsyncClient() as http:
        client = await make_client(standin, http)
        standin.inject("server_error", count=100)
        table = await ReasonCatalog(client, store.kv).table()
        assert table.source == "snapshot"
        assert {r for r in Reason} == set(table.entries)
