"""A moderator's Retry on a delivery that "may have landed" takes a second click.

Such a retry can file the report upstream a second time, so the first click only
says so; the same moderator pressing Retry again on the same delivery within
``CONFIRM_WINDOW`` seconds confirms it. Pending confirmations live in memory: after
a restart the moderator simply clicks twice again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CONFIRM_WINDOW = 120.0


class SecondClick:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._first: dict[tuple[int, str, int], float] = {}

    def confirmed(self, report_id: int, destination: str, actor_id: int) -> bool:
        """True on the second click within the window; a first click is remembered."""
        now = self._clock()
        self._first = {k: at for k, at in self._first.items() if now - at < CONFIRM_WINDOW}
        key = (report_id, destination, actor_id)
        if self._first.pop(key, None) is not None:
            return True
        self._first[key] = now
        return False
