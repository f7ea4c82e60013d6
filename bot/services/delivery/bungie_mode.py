"""Direct submission or hand-off: how Bungie.net reports are filed on this installation.

``direct`` and ``handoff`` are the operator's word (``BUNGIE_REPORT_MODE``). ``auto``
submits directly until Bungie answers 2108 (the application lacks the report scope),
which is remembered for the installation in the database, with an audit row. Without
account linking Warden holds no member tokens, so only hand-off can work.

Read by the report flow (the draft says the member will get a link), written by the
Bungie sender (on 2108), described by ``/warden setup``: all through this one object.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.i18n import t
from bot.settings import BungieReportMode, Settings
from bot.store import Store

log = logging.getLogger(__name__)

BUNGIE_MODE_KEY = "bungie.report_mode"
DIRECT_RECHECK_SECONDS = 10.0
"""How long a process trusts "not learned yet" before reading the database again. Each
delivery and draft asks (three reads a report otherwise); another process that learns
hand-off is heard within this, and until then a 2108 answer teaches this one too."""


class BungieMode:
    def __init__(self, store: Store, settings: Settings, *, linking: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._configured = settings.bungie_report_mode
        self._linking = linking
        self._clock = clock
        self._learn_lock = asyncio.Lock()
        self._learned_handoff = False  # once learned, hand-off stays (nothing unlearns it)
        self._direct_until = float("-inf")

    async def current(self) -> BungieReportMode:
        """Direct or hand-off for the next Bungie report."""
        if self._configured is BungieReportMode.HANDOFF or not self._linking:
            return BungieReportMode.HANDOFF
        if self._configured is BungieReportMode.DIRECT:
            return BungieReportMode.DIRECT
        if self._learned_handoff:
            return BungieReportMode.HANDOFF
        now = self._clock()
        if now < self._direct_until:
            return BungieReportMode.DIRECT
        learned = await self._store.kv.get(BUNGIE_MODE_KEY)
        if isinstance(learned, dict) and learned.get("mode") == BungieReportMode.HANDOFF.value:
            self._learned_handoff = True
            return BungieReportMode.HANDOFF
        self._direct_until = now + DIRECT_RECHECK_SECONDS
        return BungieReportMode.DIRECT

    async def hands_off(self) -> bool:
        return await self.current() is BungieReportMode.HANDOFF

    async def learn_handoff(self) -> None:
        """Bungie says this application lacks the report scope: remember it, once."""
        if self._configured is not BungieReportMode.AUTO:
            return
        async with self._learn_lock:
            current = await self._store.kv.get(BUNGIE_MODE_KEY)
            if isinstance(current, dict) and current.get("mode") == "handoff":
                self._learned_handoff = True
                return
            await self._store.kv.set(
                BUNGIE_MODE_KEY,
                {"mode": BungieReportMode.HANDOFF.value, "since": self._clock(),
                 "because": "Bungie.net answered 2108 (AccessNotPermittedByApplicationScope)"},
                audit_action="bungie.report_mode_changed",
            )
            self._learned_handoff = True
        log.warning("bungie: this application may not file reports (2108); switching the "
                    "installation to hand-off links")

    async def describe(self) -> str:
        """The mode and why, for ``/warden setup``."""
        mode = await self.current()
        if mode is BungieReportMode.DIRECT:
            return (t("direct submission (set by BUNGIE_REPORT_MODE)")
                    if self._configured is mode else
                    t("direct submission (switches to hand-off links if Bungie refuses the "
                      "scope)"))
        if self._configured is BungieReportMode.HANDOFF:
            return t("hand-off: reporters get a checked link to file on Bungie.net (set by "
                     "BUNGIE_REPORT_MODE)")
        if not self._linking:
            return t("hand-off: reporters get a checked link to file on Bungie.net (account "
                     "linking is off, so Warden holds no Bungie tokens)")
        return t("hand-off: reporters get a checked link to file on Bungie.net (Bungie "
                 "refused direct submission: the app lacks the BnetWrite scope)")
