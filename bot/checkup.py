"""``python -m bot check``: what is configured, what is not, and how to fix it.

Each destination probes itself (its entry in the destination registry): the same
objects the running bot uses, built the same way.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TextIO

from bot.services.status import CheckItem, CheckState
from bot.settings import Settings, SettingsError, load_settings
from bot.store import Database, DatabaseError, Store

OK, PROBLEM, OFF = "ok", "PROBLEM", "off"
_SHOWN = {CheckState.OK: OK, CheckState.PROBLEM: PROBLEM, CheckState.INFO: OFF}


class Printout:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems = 0

    def line(self, status: str, subject: str, detail: str) -> None:
        if status == PROBLEM:
            self.problems += 1
        self.out.write(f"[{status:>7}] {subject}: {detail}\n")

    def item(self, item: CheckItem) -> None:
        self.line(_SHOWN[item.state], item.subject, item.detail)


async def run_checkup(*, out: TextIO) -> int:
    report = Printout(out)
    try:
        settings = load_settings(require_token=True)
    except SettingsError as exc:
        for problem in exc.problems:
            name, _, detail = problem.partition(": ")
            report.line(PROBLEM, name, detail or problem)
        try:
            settings = load_settings(require_token=False)
        except SettingsError:
            out.write(f"{report.problems} problem(s) found\n")
            return 2
    else:
        report.line(OK, "DISCORD_TOKEN", "set")

    if settings.linking_enabled:
        report.line(OK, "account linking", f"callbacks at {settings.public_base_url}/oauth/...")
    else:
        report.line(OFF, "account linking",
                    "disabled: set PUBLIC_BASE_URL (and a destination's OAuth credentials)")

    try:
        db = await Database.open(settings.database_location())
    except DatabaseError as exc:
        name = "DATABASE_URL" if settings.database_url else "DATABASE_PATH"
        hint = "check the server and the URL" if settings.database_url else "choose a writable path"
        report.line(PROBLEM, name, f"{exc}; {hint}")
    else:
        try:
            version = await db.user_version()
            where = settings.database_label()
            report.line(OK, "database", f"{where} ready (schema version {version})")
            for item in await probe_destinations(settings, Store(db)):
                report.item(item)
        finally:
            await db.close()

    summary = "all good" if report.problems == 0 else f"{report.problems} problem(s) found"
    out.write(summary + "\n")
    return 0 if report.problems == 0 else 2


async def probe_destinations(settings: Settings, store: Store) -> list[CheckItem]:
    from bot.metrics import WardenMetrics
    from bot.notify import NoDms
    from bot.runtime import open_bungie, open_sanctions
    from bot.services.delivery.bungie_mode import BungieMode
    from bot.services.delivery.destinations import BUILT_IN
    from bot.services.delivery.registry import DestinationContext, DestinationRegistry

    async with AsyncExitStack() as stack:
        context = DestinationContext(
            settings=settings, store=store, notifier=NoDms(), metrics=WardenMetrics(),
            bungie=open_bungie(settings, stack), sanctions=open_sanctions(settings, stack),
            linking=None, bungie_mode=BungieMode(store, settings,
                                                 linking=settings.linking_enabled),
        )
        registry = DestinationRegistry([make(context) for make in BUILT_IN])
        return await registry.probes()
