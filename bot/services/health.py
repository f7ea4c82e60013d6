"""What ``/healthz`` and ``/metrics`` report: readiness, a database write probe, the
delivery backlog and the last successful delivery per destination.

Kept free of Discord and of the web framework: readiness comes in as a callable, and
the web layer only turns a ``Health`` into JSON and a status code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.metrics import WardenMetrics
from bot.store import Store

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
"""Seconds the write probe may wait for the writer; longer counts as not writable."""


@dataclass(frozen=True)
class Health:
    ready: bool
    database_writable: bool
    delivery_backlog: int | None
    last_success: dict[str, float | None] = field(default_factory=dict)
    database_error: str | None = None
    shards: dict[int, bool] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """Serving members: connected to Discord and able to store reports. A backlog or an
        upstream that is down is not a reason for a restart, so neither counts here."""
        return self.ready and self.database_writable

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "ready": self.ready,
            "database_writable": self.database_writable,
            "database_error": self.database_error,
            "delivery_backlog": self.delivery_backlog,
            "shards": [{"id": shard_id, "connected": up}
                       for shard_id, up in sorted(self.shards.items())],
            "last_success": {dest: None if at is None else _iso(at)
                             for dest, at in sorted(self.last_success.items())},
        }


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # read here too, for a probe nobody waited for to the end


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class HealthService:
    def __init__(
        self,
        *,
        store: Store,
        metrics: WardenMetrics,
        ready: Callable[[], bool],
        shards: Callable[[], dict[int, bool]] = dict,
        destinations: Sequence[str] = (),
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._ready = ready
        self._shards = shards
        self._destinations = tuple(destinations)
        self._probe_timeout = probe_timeout
        self._probe_task: asyncio.Task[None] | None = None

    async def check(self) -> Health:
        writable, error = await self._probe()
        backlog, last = await self._deliveries()
        return Health(ready=self._ready(), database_writable=writable, delivery_backlog=backlog,
                      last_success=last, database_error=error, shards=self._shards())

    async def metrics_text(self) -> str:
        """The Prometheus exposition, with the gauges read from the database now."""
        metrics = self._metrics
        metrics.ready.set(1 if self._ready() else 0)
        for shard_id, up in self._shards().items():
            metrics.shard_connected.set(1 if up else 0, shard=str(shard_id))
        backlog, last = await self._deliveries()
        if backlog is not None:
            metrics.backlog.set(backlog)
        for dest, at in last.items():
            if at is not None:
                metrics.last_success.set(at, destination=dest)
        return metrics.render()

    async def _probe(self) -> tuple[bool, str | None]:
        # A probe stuck behind a lock is left to finish rather than cancelled, and no
        # second one is started meanwhile: health checks never pile up on the writer.
        if self._probe_task is None or self._probe_task.done():
            self._probe_task = asyncio.create_task(self._store.kv.probe_write(),
                                                   name="warden-write-probe")
            self._probe_task.add_done_callback(_retrieve)
        task = self._probe_task
        done, _ = await asyncio.wait({task}, timeout=self._probe_timeout)
        if not done:
            return False, f"no write completed within {self._probe_timeout:g}s"
        error = task.exception() if not task.cancelled() else asyncio.CancelledError()
        if error is not None:
            log.warning("health: the database write probe failed: %s", error)
            return False, f"{type(error).__name__}: {error}"
        return True, None

    async def _deliveries(self) -> tuple[int | None, dict[str, float | None]]:
        last: dict[str, float | None] = dict.fromkeys(self._destinations)
        try:
            backlog = await self._store.deliveries.backlog()
            last.update(await self._store.deliveries.last_success())
        except Exception as exc:
            log.warning("health: could not read the delivery backlog: %s", exc)
            return None, last
        return backlog, last
