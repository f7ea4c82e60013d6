"""Warden's ten reasons resolved to Bungie's report-reason hashes, cached in SQLite.

The table is loaded lazily on first use: from the cache when Bungie's manifest
version has not changed, else from the live manifest (and cached), else from the
packaged snapshot. Operator overrides (``BUNGIE_REASON_MAP``) are applied on top.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.apis.bungie import BungieClient, ReasonMapError, ReasonTable, load_reason_table
from bot.apis.bungie.reasons import ReasonTarget, snapshot_table
from bot.apis.errors import ApiError
from bot.domain import Reason
from bot.store.kv import KeyValueStore

log = logging.getLogger(__name__)

CACHE_KEY = "bungie_reason_table"


class ReasonCatalog:
    def __init__(
        self,
        client: BungieClient,
        kv: KeyValueStore,
        overrides: Mapping[Reason, ReasonTarget] | None = None,
    ) -> None:
        self._client = client
        self._kv = kv
        self._overrides = overrides
        self._table: ReasonTable | None = None
        self._lock = asyncio.Lock()

    async def table(self) -> ReasonTable:
        if self._table is None:
            async with self._lock:
                if self._table is None:
                    self._table = await self._load()
        return self._table

    async def _load(self) -> ReasonTable:
        try:
            version: str | None = await self._client.get_manifest_version()
        except ApiError as exc:
            log.warning("Bungie manifest version unavailable (%s)", exc)
            version = None
        cached = await self._kv.get(CACHE_KEY)
        if isinstance(cached, str):
            try:
                table = ReasonTable.from_json(cached)
            except ReasonMapError as exc:
                log.warning("ignoring cached Bungie reason table: %s", exc)
            else:
                if version is None or table.manifest_version == version:
                    return table.with_overrides(self._overrides)
        if version is None:
            return snapshot_table(self._overrides)
        table = await load_reason_table(
            self._client, overrides=self._overrides, manifest_version=version
        )
        if table.source == "live":
            # Cache without overrides so a changed BUNGIE_REASON_MAP applies at once.
            await self._kv.set(CACHE_KEY, table.with_overrides(None).to_json())
        for note in table.notes:
            log.info("Bungie report reasons: %s", note)
        return table
