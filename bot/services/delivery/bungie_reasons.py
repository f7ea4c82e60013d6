"""Warden's ten reasons resolved to Bungie's report-reason hashes, cached in SQLite.

The table is loaded lazily on first use: from the cache when Bungie's manifest
version has not changed, else from the live manifest (and cached), else from the
packaged snapshot. Operator overrides (``BUNGIE_REASON_MAP``) are applied on top.

The category and reason a report is filed under are shown to the member in their
language: Bungie's own words from the manifest (``lc``), fetched once per language and
manifest version and cached the same way (English until they could be read).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from bot.apis.bungie import BungieClient, ReasonMapError, ReasonTable, load_reason_table
from bot.apis.bungie.reasons import (
    ReasonTarget,
    ReportCategory,
    categories_from_json,
    categories_json,
    load_categories,
    snapshot_table,
)
from bot.apis.errors import ApiError
from bot.domain import Reason
from bot.store.kv import KeyValueStore

log = logging.getLogger(__name__)

CACHE_KEY = "bungie_reason_table"
NAMES_KEY = "bungie_reason_names:{language}"
NAMES_RETRY = 300.0
"""Seconds before asking Bungie again for a language it could not serve."""


class ReasonCatalog:
    def __init__(
        self,
        client: BungieClient,
        kv: KeyValueStore,
        overrides: Mapping[Reason, ReasonTarget] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._kv = kv
        self._overrides = overrides
        self._table: ReasonTable | None = None
        self._lock = asyncio.Lock()
        self._clock = clock
        self._names: dict[str, dict[int, ReportCategory]] = {}
        self._names_failed: dict[str, float] = {}
        self._names_lock = asyncio.Lock()

    async def shown(self, reason: Reason, language: str) -> str:
        """``Cheating › Hacking`` in Bungie's words in ``language`` (a manifest language):
        the category and reason a report for ``reason`` is filed under."""
        entry = (await self.table())[reason]
        names = await self._names_in(language)
        category = names.get(entry.category_hash)
        reason_name = entry.reason_name
        if category is not None:
            reason_name = next((r.name for r in category.reasons
                                if r.hash == entry.reason_hash), reason_name)
        return f"{category.name if category else entry.category_name} › {reason_name}"

    async def _names_in(self, language: str) -> dict[int, ReportCategory]:
        table = await self.table()
        if language == "en":
            return {c.hash: c for c in table.categories}
        found = self._names.get(language)
        if found is not None:
            return found
        failed = self._names_failed.get(language)
        if failed is not None and self._clock() - failed < NAMES_RETRY:
            return {}
        async with self._names_lock:
            found = self._names.get(language)
            if found is None:
                found = await self._load_names(language, table.manifest_version)
                if found:
                    self._names[language] = found
                else:
                    self._names_failed[language] = self._clock()
        return found

    async def _load_names(self, language: str, version: str | None) -> dict[int, ReportCategory]:
        key = NAMES_KEY.format(language=language)
        cached = await self._kv.get(key)
        if (isinstance(cached, dict) and version is not None
                and cached.get("manifest_version") == version):
            try:
                return {c.hash: c for c in categories_from_json(cached["categories"])}
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("ignoring cached Bungie reason names (%s): %s", language, exc)
        try:
            categories = await load_categories(self._client, language)
        except (ApiError, ReasonMapError) as exc:
            log.warning("Bungie report reasons in %s unavailable (%s); English for now",
                        language, exc)
            return {}
        if version is not None:
            await self._kv.set(key, {"manifest_version": version,
                                     "categories": categories_json(categories)})
        return {c.hash: c for c in categories}

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
