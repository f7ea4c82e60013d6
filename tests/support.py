"""Small helpers every kind of test uses: a clean environment and a clock to move."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

WARDEN_ENV_PREFIXES = ("DISCORD_", "BUNGIE_", "SANCTIONS_", "WEB_", "PUBLIC_", "TOKEN_",
                       "REPORT_", "DATABASE_", "OUTBOX_", "API_", "SHARD_")


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Warden setting leaks in from the machine, and no ``.env`` is read."""
    for key in list(os.environ):
        if key.startswith(WARDEN_ENV_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


class Clock:
    """Time that a test moves forward by hand; Warden and the stand-ins can share one."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
