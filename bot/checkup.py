"""``python -m bot check``: what is configured, what is not, and how to fix it."""

from __future__ import annotations

from typing import TextIO

from bot.checkup_apis import probe_apis
from bot.settings import Settings, SettingsError, load_settings
from bot.store import Database, DatabaseError, Store

OK, PROBLEM, OFF = "ok", "PROBLEM", "off"


class Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems = 0

    def line(self, status: str, subject: str, detail: str) -> None:
        if status == PROBLEM:
            self.problems += 1
        self.out.write(f"[{status:>7}] {subject}: {detail}\n")


async def run_checkup(*, out: TextIO) -> int:
    report = Report(out)
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

    for line in _destinations(settings):
        report.line(*line)

    try:
        db = await Database.open(settings.database_path)
    except DatabaseError as exc:
        report.line(PROBLEM, "DATABASE_PATH", f"{exc}; choose a writable path")
    else:
        try:
            version = await db.user_version()
            where = settings.database_path
            report.line(OK, "database", f"{where} ready (schema version {version})")
            for line in await probe_apis(settings, Store(db)):
                report.line(*line)
        finally:
            await db.close()

    summary = "all good" if report.problems == 0 else f"{report.problems} problem(s) found"
    out.write(summary + "\n")
    return 0 if report.problems == 0 else 2


def _destinations(settings: Settings) -> list[tuple[str, str, str]]:
    lines: list[tuple[str, str, str]] = []
    if settings.bungie_enabled:
        lines.append((OK, "Bungie", "API key set"))
    else:
        lines.append((OFF, "Bungie", "disabled: set BUNGIE_API_KEY to forward reports to Bungie"))
    if settings.sanctions_enabled:
        lines.append((OK, "sanctions API", "credentials set"))
    else:
        lines.append((
            OFF,
            "sanctions API",
            "disabled: set SANCTIONS_API_BASE_URL, SANCTIONS_CLIENT_ID and "
            "SANCTIONS_CLIENT_SECRET to forward reports to the game backend",
        ))
    if settings.linking_enabled:
        lines.append((OK, "account linking", f"callbacks at {settings.public_base_url}/oauth/..."))
    else:
        lines.append((
            OFF,
            "account linking",
            "disabled: set PUBLIC_BASE_URL (and a destination's OAuth credentials)",
        ))
    return lines
