"""Faults by chance: a share of every request to the Bungie and sanctions stand-ins fails.

The four kinds the issue names, in equal parts:

- ``5xx``: a server error page (Bungie 500/502/503, sanctions 500 or 503);
- ``429``: throttled, with the upstream's wait hint (Bungie ``ThrottleSeconds``,
  sanctions ``Retry-After``);
- ``timeout``: the answer comes after Warden's read timeout (half of them after the
  work was done upstream);
- ``drop``: the connection is closed without an answer, mostly after the work was
  done ("received then dropped", the ambiguous case), sometimes before.

A seeded ``random.Random`` decides, so a run with the same seed draws the same
sequence (the order of requests still varies with timing).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from tests.standins import bungie as bungie_standin
from tests.standins import sanctions as sanctions_standin

KINDS = ("5xx", "429", "timeout", "drop")
LANDED_SHARE_TIMEOUT = 0.5
LANDED_SHARE_DROP = 0.75


@dataclass
class FaultMix:
    rate: float
    """Share of requests that fail, 0..1."""
    rng: random.Random
    read_timeout: float
    """Warden's HTTP read timeout: a ``timeout`` fault answers this much later, plus 0.5 s."""
    enabled: bool = True
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(destination, kind) -> faults applied; kind ``drop`` / ``timeout`` suffixed with
    ``+landed`` when the request was processed before its answer was lost."""

    def _draw(self) -> tuple[str, bool] | None:
        if not self.enabled or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(KINDS)
        share = {"timeout": LANDED_SHARE_TIMEOUT, "drop": LANDED_SHARE_DROP}.get(kind, 0.0)
        return kind, self.rng.random() < share

    def _count(self, destination: str, kind: str, landed: bool) -> None:
        self.injected[(destination, kind + ("+landed" if landed else ""))] += 1

    def bungie(self, request: web.Request) -> bungie_standin.Fault | None:
        drawn = self._draw()
        if drawn is None:
            return None
        kind, landed = drawn
        self._count("bungie", kind, landed)
        if kind == "5xx":
            return bungie_standin.Fault("server_error", status=self.rng.choice((500, 502, 503)))
        if kind == "429":
            return bungie_standin.Fault("throttle_429", throttle_seconds=1)
        if kind == "timeout":
            return bungie_standin.Fault("slow", delay=self.read_timeout + 0.5, landed=landed)
        return bungie_standin.Fault("drop", landed=landed)

    def sanctions(self, request: web.Request, route: str) -> sanctions_standin.Fault | None:
        drawn = self._draw()
        if drawn is None:
            return None
        kind, landed = drawn
        self._count("sanctions", kind, landed)
        if kind == "5xx":
            if self.rng.random() < 0.5:
                return sanctions_standin.Fault("server_error")
            return sanctions_standin.Fault("unavailable", retry_after=1)
        if kind == "429":
            return sanctions_standin.Fault("throttle", retry_after=self.rng.choice((1, 2)))
        if kind == "timeout":
            return sanctions_standin.Fault("slow", delay=self.read_timeout + 0.5, landed=landed)
        return sanctions_standin.Fault("drop", landed=landed)

    def install(self, bungie: bungie_standin.BungieStandin,
                sanctions: sanctions_standin.SanctionsStandin) -> None:
        bungie.fault_plan = self.bungie
        sanctions.fault_plan = self.sanctions
