"""A per-member allowance of Bungie look-ups for autocomplete.

Autocomplete runs on every keystroke and anyone in a server can type any activity id,
so without an allowance one member could spend the installation's whole Bungie budget.
It lives in memory on purpose: it guards a minute-scale burst, a restart forgets
nothing that matters, and a write to SQLite per keystroke would cost more than the
look-up it saves. The durable limits (reports, drafts) are in SQLite.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW = 60.0
FORGET_AFTER = 1024
"""Members remembered before the idle ones are swept out."""


class LookupBudget:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.time) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._used: dict[int, deque[float]] = {}

    def take(self, member_id: int) -> bool:
        """Count one look-up for the member; False (and nothing counted) when their
        allowance for the last minute is spent. A limit of 0 means no limit."""
        if self._per_minute <= 0:
            return True
        now = self._clock()
        used = self._used.get(member_id)
        if used is None:
            if len(self._used) >= FORGET_AFTER:
                self._sweep(now)
            used = self._used[member_id] = deque()
        while used and used[0] <= now - WINDOW:
            used.popleft()
        if len(used) >= self._per_minute:
            return False
        used.append(now)
        return True

    def _sweep(self, now: float) -> None:
        idle = [m for m, used in self._used.items() if not used or used[-1] <= now - WINDOW]
        for member_id in idle:
            del self._used[member_id]
