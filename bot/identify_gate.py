"""Pacing Discord logins (IDENTIFY) across every process of one installation.

Discord lets a bot start at most ``max_concurrency`` sessions per 5 seconds, counted per
rate-limit key ``shard_id % max_concurrency``: one IDENTIFY per key per 5 s. Several
processes holding different shards of one bot share that budget, so the wait is
coordinated outside any one process:

- ``ProcessIdentifyGate``: one process that runs every shard (no ``SHARD_IDS``); no file,
  so a start-up never waits for a login of the process before it (Discord would at
  worst answer that login with op 9, and discord.py logs in again after its own wait).
- ``LocalIdentifyGate``: processes on one machine, through one lock file per key in a
  folder (``<data folder>/identify/``, next to the SQLite file). The file holds the time
  of the last IDENTIFY with that key; whoever holds its lock waits out the rest of the
  window, writes the new time, and lets go.
- A database-backed gate (an advisory lock and a row per key in PostgreSQL) implements
  the same ``IdentifyGate`` for processes on several machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Protocol

IDENTIFY_WINDOW = 5.0
"""Seconds during which one rate-limit key allows one IDENTIFY (Discord's rule)."""

MARGIN = 0.5
"""Seconds added to the window: Discord times an IDENTIFY when it arrives, and the one
before may have reached it later after its turn than this one will (a busy event loop,
a slower connection)."""

POLL_SECONDS = 0.05
"""How often a process waiting for another's lock looks again (the lock is never held
longer than one window)."""


def rate_limit_key(shard_id: int, max_concurrency: int) -> int:
    return shard_id % max(max_concurrency, 1)


class IdentifyGate(Protocol):
    async def wait_turn(self, key: int) -> None:
        """Return once an IDENTIFY with rate-limit ``key`` may start, and count it as
        started: no other caller with the same key, in any process sharing this gate,
        returns within ``IDENTIFY_WINDOW`` seconds of it."""


class ProcessIdentifyGate:
    """``IdentifyGate`` for the shards of one process."""

    def __init__(self, *, window: float = IDENTIFY_WINDOW + MARGIN) -> None:
        self.window = window
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait_turn(self, key: int) -> None:
        async with self._locks.setdefault(key, asyncio.Lock()):
            wait = self._last.get(key, -self.window) + self.window - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last[key] = time.monotonic()


class LocalIdentifyGate:
    """``IdentifyGate`` for the processes of one machine, sharing ``directory``."""

    def __init__(self, directory: Path, *, window: float = IDENTIFY_WINDOW + MARGIN) -> None:
        self.directory = directory
        self.window = window

    async def wait_turn(self, key: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"identify-{key}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await self._lock(fd)
            try:
                last = _read_time(fd)
                wait = last + self.window - time.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                _write_time(fd, time.time())
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @staticmethod
    async def _lock(fd: int) -> None:
        # Never a blocking flock: it would stop the event loop (heartbeats of the shards
        # already connected) for as long as another process waits out its window.
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                await asyncio.sleep(POLL_SECONDS)


def _read_time(fd: int) -> float:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 64)
    with contextlib.suppress(ValueError):
        return float(raw.decode("ascii", "replace").strip() or 0.0)
    return 0.0  # a torn or foreign file: treat as never, the lock still serialises


def _write_time(fd: int, at: float) -> None:
    data = f"{at:.6f}\n".encode("ascii")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
    os.fsync(fd)
