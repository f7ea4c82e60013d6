"""Snowflake ids with real timestamps, so discord.py's ``created_at`` math works."""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Hands out increasing snowflakes: ``(ms since 2015) << 22 | worker << 17 | increment``."""

    def __init__(self, worker: int = 1) -> None:
        self._worker = worker & 0x1F
        self._last_ms = 0
        self._increment = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000)
        if now_ms <= self._last_ms:
            self._increment += 1
            if self._increment >= 4096:
                self._last_ms += 1
                self._increment = 0
            now_ms = self._last_ms
        else:
            self._last_ms = now_ms
            self._increment = 0
        return ((now_ms - DISCORD_EPOCH_MS) << 22) | (self._worker << 17) | self._increment


def shard_of(snowflake: int, shard_count: int) -> int:
    """The shard whose gateway session receives this server's events (Discord's rule)."""
    return (snowflake >> 22) % shard_count


def moved_to_shard(snowflake: int, shard_id: int, shard_count: int) -> int:
    """``snowflake`` pushed at most ``shard_count - 1`` ms later so that it lands on
    ``shard_id``. Worker 31 is never used by :class:`SnowflakeFactory` users here, so the
    result cannot collide with an id handed out later."""
    ms = snowflake >> 22
    ms += (shard_id - ms % shard_count) % shard_count
    return (ms << 22) | (0x1F << 17) | (snowflake & 0x1FFFF)


def snowflake_time_ms(snowflake: int) -> int:
    """Unix milliseconds encoded in a snowflake."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def iso_timestamp(unix_seconds: float | None = None) -> str:
    """ISO-8601 UTC timestamp as Discord writes them (``2024-01-01T00:00:00.000000+00:00``)."""
    ts = time.time() if unix_seconds is None else unix_seconds
    whole = time.gmtime(ts)
    micro = int((ts - int(ts)) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{micro:06d}+00:00"
