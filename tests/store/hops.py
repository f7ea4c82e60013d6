"""Counting hops to the database threads: calls of aiosqlite's ``Connection._execute``
and jobs on a PostgreSQL connection's thread."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest

from bot.store.postgres import _Lane


def count_hops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, ``hops[0]`` counts every job queued on any aiosqlite connection's
    thread (each ``execute``, ``fetch*``, ``Database.write`` or ``read`` is one)."""
    hops = [0]
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops[0] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    original_run = _Lane.run

    async def counting_run(self: _Lane, job: Any) -> Any:
        hops[0] += 1
        return await original_run(self, job)

    monkeypatch.setattr(_Lane, "run", counting_run)
    return hops
